import * as fs from 'fs';
import Module from 'module';
import * as path from 'path';
import { createRequire } from 'module';
import { fileURLToPath } from 'url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LLBGraph } from '../../src/protocol';
import { HELLO_LIB_REMOTE, locateServer, prepareHelloFolder } from '../support/lsp';
import { FakeVscodeHost, fakeDocument, type FakeDiagnostics } from '../stubs/vscodeHost';

// Activates the bundled extension (out/extension.js) the way VS Code does,
// against a fake `vscode` module, so that vscode-languageclient starts the
// real dagger-lsp found in the workspace's .venv. The checks then go
// through the extension's own commands and views: the environment status
// bar, Set Input, diagnostics of an open file, and the LLB graph panel
// opened through the server's archon.previewLLB code-lens command.

const EXTENSION_ROOT = path.resolve(fileURLToPath(new URL('.', import.meta.url)), '..', '..');
const BUNDLE = path.join(EXTENSION_ROOT, 'out', 'extension.js');

interface ExtensionModule {
    activate(context: unknown): Promise<void>;
    deactivate(): Promise<void>;
}

const { command: serverCommand } = locateServer();
const hello = serverCommand ? prepareHelloFolder(serverCommand) : { ok: false as const, reason: 'dagger-lsp not found' };
if (!hello.ok) {
    console.warn(`SKIPPED extension activation tests: ${hello.reason}`);
}

async function waitFor<T>(what: string, probe: () => T | undefined, timeoutMs = 30_000): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
        const value = probe();
        if (value !== undefined) {
            return value;
        }
        if (Date.now() > deadline) {
            throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
        }
        await new Promise((resolve) => setTimeout(resolve, 50));
    }
}

describe.skipIf(!hello.ok)('extension activated against dagger-lsp', () => {
    const folder = hello.ok ? hello.folder : '';
    const host = new FakeVscodeHost(folder);
    const subscriptions: Array<{ dispose(): unknown }> = [];
    let extension: ExtensionModule;

    beforeAll(async () => {
        if (!fs.existsSync(BUNDLE)) {
            throw new Error(`${BUNDLE} is missing: run "npm run build" before the tests`);
        }

        // The project's virtual environment, as a user would have it: the
        // extension must find dagger-lsp there without any setting.
        fs.mkdirSync(path.join(folder, '.venv', 'bin'), { recursive: true });
        fs.symlinkSync(serverCommand!, path.join(folder, '.venv', 'bin', 'dagger-lsp'));

        const vscodeModule = host.module();
        const loader = Module as unknown as { _load: (request: string, ...rest: unknown[]) => unknown };
        const originalLoad = loader._load;
        loader._load = function load(request: string, ...rest: unknown[]) {
            return request === 'vscode' ? vscodeModule : originalLoad.call(this, request, ...rest);
        };
        try {
            extension = createRequire(import.meta.url)(BUNDLE) as ExtensionModule;
        } finally {
            loader._load = originalLoad;
        }

        await extension.activate({
            subscriptions,
            extensionUri: (vscodeModule.Uri as { file(path: string): unknown }).file(EXTENSION_ROOT),
            extensionPath: EXTENSION_ROOT,
        });
    }, 60_000);

    afterAll(async () => {
        await extension?.deactivate();
        for (const subscription of subscriptions) {
            subscription.dispose();
        }
        fs.rmSync(folder, { recursive: true, force: true });
    });

    const status = (id: string) => host.statusItems.find((item) => item.id === id);
    const serverLog = () => host.channels.find((channel) => channel.name === 'Archon Language Server')?.lines.join('\n') ?? '';

    it('finds dagger-lsp in the workspace virtual environment', () => {
        expect(serverLog()).toContain('found through workspace virtual environment');
    });

    it('registers every command of package.json', () => {
        const manifest = JSON.parse(fs.readFileSync(path.join(EXTENSION_ROOT, 'package.json'), 'utf8'));
        const declared: string[] = manifest.contributes.commands.map((command: { command: string }) => command.command);

        expect(declared.filter((command) => !host.commands.has(command))).toEqual([]);
    });

    it('shows the default environment in the status bar', async () => {
        const text = await waitFor('the environment status', () => {
            const current = status('archon.environment')?.text;
            return current && current !== '$(server-environment) Archon' ? current : undefined;
        });

        expect(text).toBe('$(server-environment) dev');
    });

    it('selects an environment from the quick pick', async () => {
        host.quickPickAnswers.push('prod');

        await host.commands.get('archon.chooseEnvironment')!();

        expect(status('archon.environment')?.text).toBe('$(server-environment) prod');
    });

    it('sets an input through the quick input flow', async () => {
        host.inputAnswers.push('libRemote', HELLO_LIB_REMOTE);
        host.quickPickAnswers.push('text');

        await host.commands.get('archon.promptInput')!();

        expect(host.messages.at(-1)).toEqual({ severity: 'information', text: 'Archon: input libRemote set.' });
    });

    it('shows diagnostics of an open file with an error', async () => {
        const brokenPath = path.join(folder, 'broken', 'broken.cue');
        host.openDocument(fakeDocument(brokenPath, 'cue', 'package broken\n\nbroken: {\n\tvalue: [1, 2\n}\n'));

        const collection = await waitFor('diagnostics of broken.cue', () =>
            host.diagnostics.find((candidate: FakeDiagnostics) => (candidate.entries.get(`file://${brokenPath}`)?.length ?? 0) > 0),
        );

        expect(collection.entries.get(`file://${brokenPath}`)?.[0].range.start.line).toBeGreaterThanOrEqual(2);
    });

    it('opens the LLB graph from the code-lens command', async () => {
        const mainPath = path.join(folder, 'main.cue');
        host.openDocument(fakeDocument(mainPath, 'cue', fs.readFileSync(mainPath, 'utf8')));
        const lensCommand = await waitFor('the archon.previewLLB command', () => host.commands.get('archon.previewLLB'));

        await lensCommand({ uri: `file://${mainPath}` });

        const panel = host.panels.at(-1);
        const message = panel?.posted.at(-1) as { type: string; graph?: LLBGraph; message?: string } | undefined;
        expect(message?.message).toBeUndefined();
        expect(message?.type).toBe('graph');
        expect(message?.graph?.components.map((component) => component.path)).toContain('build');
    });

    it('reports no error before the run', () => {
        expect(host.messages.filter((message) => message.severity === 'error')).toEqual([]);
    });

    // Without a BuildKit daemon the run fails at once, and with one it runs.
    // Either way it must end with a summary in the status bar and the
    // closing line of the run log.
    it('runs a component from the code-lens command', async () => {
        const mainUri = `file://${path.join(folder, 'main.cue')}`;

        await host.commands.get('archon.run')!({ uri: mainUri, component: 'build' });

        const runLog = host.channels.find((channel) => channel.name === 'Archon Run')?.lines ?? [];
        expect(status('archon.lastRun')?.text).toMatch(/^\$\((pass|error)\) Archon: /);
        expect(runLog.at(-1)).toMatch(/^--- run \S+ of component build in prod (succeeded|failed) in /);
    }, 180_000);
});
