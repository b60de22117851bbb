import { beforeEach, describe, expect, it, vi } from 'vitest';
import type { HostToPageMessage } from '../../src/graphMessages';
import { GraphPanel } from '../../src/graphPanel';
import type { LLBGraph } from '../../src/protocol';
import { Uri } from '../stubs/vscode';

/** A webview panel that records what the extension sends it and lets the test post as the page. */
class FakePanel {
    readonly posted: HostToPageMessage[] = [];
    title = '';
    revealed = 0;
    private receive: ((message: unknown) => void) | undefined;
    private disposeListener: (() => void) | undefined;

    readonly webview = {
        html: '',
        cspSource: 'vscode-webview://test',
        asWebviewUri: (uri: Uri) => uri,
        postMessage: async (message: HostToPageMessage) => {
            this.posted.push(message);
            return true;
        },
        onDidReceiveMessage: (listener: (message: unknown) => void) => {
            this.receive = listener;
            return { dispose: () => undefined };
        },
    };

    reveal(): void {
        this.revealed += 1;
    }

    onDidDispose(listener: () => void) {
        this.disposeListener = listener;
        return { dispose: () => undefined };
    }

    dispose(): void {
        this.disposeListener?.();
    }

    postFromPage(message: unknown): void {
        this.receive?.(message);
    }
}

const ui = vi.hoisted(() => ({
    panels: [] as unknown[],
    shown: [] as Array<{ uri: string; options: { selection: { start: unknown; end: unknown } } }>,
    errors: [] as string[],
}));

vi.mock('../../src/vscodeapi', () => ({
    createWebviewPanel: () => {
        const panel = new FakePanel();
        ui.panels.push(panel);
        return panel;
    },
    showTextDocument: async (uri: Uri, options: { selection: { start: unknown; end: unknown } }) => {
        ui.shown.push({ uri: uri.toString(), options });
    },
    showErrorMessage: async (message: string) => {
        ui.errors.push(message);
        return undefined;
    },
}));

const DOCUMENT = 'file:///w/hello/main.cue';
const GRAPH: LLBGraph = { vertices: [], edges: [], components: [], root: 'sha256:0' };
const RANGE = { start: { line: 28, character: 1 }, end: { line: 32, character: 2 } };

class FakeServer {
    readonly calls: Array<{ command: string; args: object }> = [];
    failure: Error | undefined;

    async executeServerCommand<T>(command: string, args: object): Promise<T> {
        this.calls.push({ command, args });
        if (this.failure) {
            throw this.failure;
        }
        return GRAPH as T;
    }
}

let server: FakeServer;
let graph: GraphPanel;

function panel(): FakePanel {
    return ui.panels.at(-1) as FakePanel;
}

async function settle(): Promise<void> {
    await new Promise((resolve) => setTimeout(resolve, 0));
}

beforeEach(() => {
    ui.panels = [];
    ui.shown = [];
    ui.errors = [];
    server = new FakeServer();
    graph = new GraphPanel(Uri.file('/ext') as never, server);
});

describe('GraphPanel', () => {
    it('previews the document and posts its graph', async () => {
        await graph.show(DOCUMENT);

        expect(server.calls).toEqual([{ command: 'archon.previewLLB', args: { uri: DOCUMENT } }]);
        expect(panel().posted).toEqual([
            { type: 'loading', documentUri: DOCUMENT },
            { type: 'graph', documentUri: DOCUMENT, graph: GRAPH },
        ]);
        expect(panel().title).toBe('LLB: main.cue');
    });

    it('serves the page from out/webview with a nonce', async () => {
        await graph.show(DOCUMENT);

        expect(panel().webview.html).toContain('src="file:///ext/out/webview/graph.js"');
        expect(panel().webview.html).toMatch(/<script nonce="[A-Za-z0-9+/=]+"/);
    });

    it('posts the server error to the page', async () => {
        server.failure = new Error('the configuration is incomplete: libRemote is unset');

        await graph.show(DOCUMENT);

        expect(panel().posted.at(-1)).toEqual({
            type: 'error',
            documentUri: DOCUMENT,
            message: 'the configuration is incomplete: libRemote is unset',
        });
    });

    it('opens the source range the page asks for', async () => {
        await graph.show(DOCUMENT);

        panel().postFromPage({ type: 'reveal', uri: DOCUMENT, range: RANGE });
        await settle();

        expect(ui.shown).toHaveLength(1);
        expect(ui.shown[0].uri).toBe(DOCUMENT);
        expect(ui.shown[0].options.selection).toEqual({ start: RANGE.start, end: RANGE.end });
    });

    it('ignores a malformed message', async () => {
        await graph.show(DOCUMENT);

        panel().postFromPage({ type: 'reveal', uri: DOCUMENT, range: { start: { line: -1 } } });
        await settle();

        expect(ui.shown).toEqual([]);
    });

    it('previews again on the refresh message', async () => {
        await graph.show(DOCUMENT);

        panel().postFromPage({ type: 'refresh' });
        await settle();

        expect(server.calls).toHaveLength(2);
    });

    it('previews again when a CUE file is saved', async () => {
        await graph.show(DOCUMENT);

        graph.onDidSaveDocument({ languageId: 'cue' } as never);
        graph.onDidSaveDocument({ languageId: 'markdown' } as never);
        await settle();

        expect(server.calls).toHaveLength(2);
    });

    it('runs one more preview for refreshes asked during one', async () => {
        await graph.show(DOCUMENT);
        server.calls.length = 0;

        const first = graph.refresh();
        void graph.refresh();
        void graph.refresh();
        await first;

        expect(server.calls).toHaveLength(2);
    });

    it('resends the last state when the page reloads', async () => {
        await graph.show(DOCUMENT);

        panel().postFromPage({ type: 'ready' });
        await settle();

        expect(panel().posted.at(-1)).toEqual({ type: 'graph', documentUri: DOCUMENT, graph: GRAPH });
    });

    it('makes a new panel after the old one is closed', async () => {
        await graph.show(DOCUMENT);
        panel().dispose();

        await graph.show(DOCUMENT);

        expect(ui.panels).toHaveLength(2);
    });
});
