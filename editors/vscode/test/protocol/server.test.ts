import * as fs from 'fs';
import * as path from 'path';
import { pathToFileURL } from 'url';
import { afterAll, describe, expect, it } from 'vitest';
import {
    DidOpenTextDocumentNotification,
    ExecuteCommandRequest,
    PublishDiagnosticsNotification,
    type PublishDiagnosticsParams,
} from 'vscode-languageserver-protocol/node';
import type { LLBGraph } from '../../src/protocol';
import { copyToTemporaryWorkspace, serverHasCommand, startServer } from '../support/lsp';

// Drives the real dagger-lsp over stdio the way the extension does. While
// the server is missing, every test here is skipped and the reason printed.

const workspace = copyToTemporaryWorkspace('examples/hello');
const mainFile = path.join(workspace, 'main.cue');
const mainUri = pathToFileURL(mainFile).href;
const start = await startServer(workspace);

if (!start.ok) {
    console.warn(`SKIPPED dagger-lsp protocol tests: ${start.reason}`);
}

afterAll(async () => {
    if (start.ok) {
        await start.server.stop();
    }
    fs.rmSync(workspace, { recursive: true, force: true });
});

/** Waits for the first publishDiagnostics of `uri` that satisfies `accept`. */
function nextDiagnostics(uri: string, accept: (params: PublishDiagnosticsParams) => boolean, timeoutMs = 30_000) {
    if (!start.ok) {
        throw new Error('the server is not running');
    }
    const connection = start.server.connection;
    return new Promise<PublishDiagnosticsParams>((resolve, reject) => {
        const timer = setTimeout(() => {
            subscription.dispose();
            reject(new Error(`no matching publishDiagnostics for ${uri} within ${timeoutMs} ms`));
        }, timeoutMs);
        const subscription = connection.onNotification(PublishDiagnosticsNotification.type, (params) => {
            if (params.uri === uri && accept(params)) {
                clearTimeout(timer);
                subscription.dispose();
                resolve(params);
            }
        });
    });
}

describe.skipIf(!start.ok)('dagger-lsp over stdio', () => {
    const server = start.ok ? start.server : undefined!;

    it('names itself in the initialize result', () => {
        expect(server.initializeResult.serverInfo?.name).toBe('dagger-lsp');
    });

    it('publishes a diagnostic at a syntax error', async () => {
        const brokenUri = pathToFileURL(path.join(workspace, 'broken.cue')).href;
        const text = 'package hello\n\nbroken: {\n\tname: "x"\n\tvalue: [1, 2\n}\n';
        const published = nextDiagnostics(brokenUri, (params) => params.diagnostics.length > 0);

        await server.connection.sendNotification(DidOpenTextDocumentNotification.type, {
            textDocument: { uri: brokenUri, languageId: 'cue', version: 1, text },
        });
        const params = await published;

        const lines = params.diagnostics.map((diagnostic) => diagnostic.range.start.line);
        expect(Math.min(...lines)).toBeGreaterThanOrEqual(2);
        expect(Math.max(...lines)).toBeLessThanOrEqual(5);
        expect(params.diagnostics[0].message).not.toBe('');
    });

    it('previews the LLB graph of the hello example', async (context) => {
        if (!serverHasCommand(server, 'archon.previewLLB')) {
            const listed = server.initializeResult.capabilities.executeCommandProvider?.commands ?? [];
            const reason = `dagger-lsp does not list archon.previewLLB yet (it lists: ${listed.join(', ') || 'no command'})`;
            console.warn(`SKIPPED ${reason}`);
            context.skip(reason);
        }
        await server.connection.sendNotification(DidOpenTextDocumentNotification.type, {
            textDocument: { uri: mainUri, languageId: 'cue', version: 1, text: fs.readFileSync(mainFile, 'utf8') },
        });

        const graph = (await server.connection.sendRequest(ExecuteCommandRequest.type, {
            command: 'archon.previewLLB',
            arguments: [{ uri: mainUri }],
        })) as LLBGraph;

        const digests = new Set(graph.vertices.map((vertex) => vertex.digest));
        expect(digests.has(graph.root)).toBe(true);
        expect(graph.components.map((component) => component.path)).toEqual(
            expect.arrayContaining(['toolchain', 'source', 'library', 'build', 'test']),
        );
        const build = graph.components.find((component) => component.path === 'build');
        expect(build?.uri).toBe(mainUri);
        expect(build?.range?.start.line).toBe(24);
        for (const vertex of graph.vertices) {
            expect(vertex.digest).toMatch(/^sha256:[0-9a-f]{64}$/);
            expect(['cached', 'ran', 'failed', 'will-rebuild', 'unknown']).toContain(vertex.status);
            expect(vertex.inputs.filter((input) => !digests.has(input))).toEqual([]);
        }
        for (const edge of graph.edges) {
            expect(graph.components.some((component) => component.path === edge.from)).toBe(true);
        }
    });
});
