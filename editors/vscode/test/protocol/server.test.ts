import * as fs from 'fs';
import * as path from 'path';
import { pathToFileURL } from 'url';
import { afterAll, describe, expect, it } from 'vitest';
import {
    DidCloseTextDocumentNotification,
    DidOpenTextDocumentNotification,
    PublishDiagnosticsNotification,
    type PublishDiagnosticsParams,
} from 'vscode-languageserver-protocol/node';
import type { EnvironmentList, HistoryResult } from '../../src/protocol';
import { ServerCommand, VERTEX_STATUSES } from '../../src/protocol';
import { executeCommand, HELLO_LIB_REMOTE, openHelloWorkspace, previewHello, type HelloWorkspace } from '../support/lsp';

// Drives the real dagger-lsp over stdio the way the extension does, on a
// copy of examples/hello set up with `dagger init` and an environment. While
// the server cannot start, every test here is skipped and the reason printed.

const hello = await openHelloWorkspace();

if (!hello.ok) {
    console.warn(`SKIPPED dagger-lsp protocol tests: ${hello.reason}`);
}

afterAll(async () => {
    if (hello.ok) {
        await hello.server.stop();
        fs.rmSync(hello.folder, { recursive: true, force: true });
    }
});

describe.skipIf(!hello.ok)('dagger-lsp over stdio', () => {
    // Vitest runs this body even when the suite is skipped: the fields are
    // then undefined and no test reads them.
    const ready = hello as Extract<HelloWorkspace, { ok: true }>;
    const { server, folder, mainUri } = ready;

    /** Waits for the first publishDiagnostics of `uri` that has a diagnostic. */
    function nextDiagnostics(uri: string, timeoutMs = 30_000): Promise<PublishDiagnosticsParams> {
        return new Promise((resolve, reject) => {
            const timer = setTimeout(() => {
                subscription.dispose();
                reject(new Error(`no publishDiagnostics with a diagnostic for ${uri} within ${timeoutMs} ms`));
            }, timeoutMs);
            const subscription = server.connection.onNotification(PublishDiagnosticsNotification.type, (params) => {
                if (params.uri === uri && params.diagnostics.length > 0) {
                    clearTimeout(timer);
                    subscription.dispose();
                    resolve(params);
                }
            });
        });
    }

    it('names itself in the initialize result', () => {
        expect(server.initializeResult.serverInfo?.name).toBe('dagger-lsp');
    });

    it('lists every command of the contract', () => {
        const listed = server.initializeResult.capabilities.executeCommandProvider?.commands ?? [];

        expect(Object.values(ServerCommand).filter((command) => !listed.includes(command))).toEqual([]);
    });

    it('publishes a diagnostic at a syntax error', async () => {
        // A package of its own, so that its error does not break the hello
        // configuration the later tests preview.
        const brokenUri = pathToFileURL(path.join(folder, 'broken', 'broken.cue')).href;
        const text = 'package broken\n\nbroken: {\n\tname: "x"\n\tvalue: [1, 2\n}\n';
        const published = nextDiagnostics(brokenUri);

        await server.connection.sendNotification(DidOpenTextDocumentNotification.type, {
            textDocument: { uri: brokenUri, languageId: 'cue', version: 1, text },
        });
        const params = await published;
        await server.connection.sendNotification(DidCloseTextDocumentNotification.type, { textDocument: { uri: brokenUri } });

        const lines = params.diagnostics.map((diagnostic) => diagnostic.range.start.line);
        expect(Math.min(...lines)).toBeGreaterThanOrEqual(2);
        expect(Math.max(...lines)).toBeLessThanOrEqual(5);
        expect(params.diagnostics[0].message).not.toBe('');
    });

    it('lists the environments made by dagger new', async () => {
        const list = await executeCommand<EnvironmentList>(server, ServerCommand.listEnvironments, {});

        expect(list.environments.map((environment) => [environment.name, environment.default])).toEqual([
            ['dev', true],
            ['prod', false],
        ]);
    });

    it('selects an environment', async () => {
        await executeCommand(server, ServerCommand.selectEnvironment, { name: 'prod' });
        const list = await executeCommand<EnvironmentList>(server, ServerCommand.listEnvironments, {});

        expect(list.selected).toBe('prod');
    });

    it('rejects an unknown environment', async () => {
        await expect(executeCommand(server, ServerCommand.selectEnvironment, { name: 'nope' })).rejects.toThrow(/nope/);
    });

    it('sets a text input', async () => {
        await expect(
            executeCommand(server, ServerCommand.setInput, { name: 'libRemote', kind: 'text', value: HELLO_LIB_REMOTE }),
        ).resolves.toBeDefined();
    });

    it('previews the LLB graph of the hello example', async () => {
        const graph = await previewHello(ready);

        const digests = new Set(graph.vertices.map((vertex) => vertex.digest));
        expect(digests.has(graph.root)).toBe(true);
        expect(graph.components.map((component) => component.path)).toEqual(
            expect.arrayContaining(['toolchain', 'source', 'library', 'build', 'test', 'dist']),
        );
        const build = graph.components.find((component) => component.path === 'build');
        expect(build?.uri).toBe(mainUri);
        expect(build?.range?.start.line).toBe(24);
        for (const vertex of graph.vertices) {
            expect(vertex.digest).toMatch(/^sha256:[0-9a-f]{64}$/);
            expect(VERTEX_STATUSES).toContain(vertex.status);
            expect(vertex.inputs.filter((input) => !digests.has(input))).toEqual([]);
        }
        for (const edge of graph.edges) {
            expect(graph.vertices.find((vertex) => vertex.digest === edge.to)?.inputs).toContain(edge.from);
        }
    });

    it('places the exec of build at its op', async () => {
        const graph = await previewHello(ready);

        const exec = graph.vertices.find((vertex) => vertex.kind === 'exec' && vertex.component === 'build');
        expect(exec?.range?.start.line).toBe(28);
    });

    it('returns a history list', async () => {
        const history = await executeCommand<HistoryResult>(server, ServerCommand.history, { limit: 5 });

        expect(Array.isArray(history.runs)).toBe(true);
    });
});
