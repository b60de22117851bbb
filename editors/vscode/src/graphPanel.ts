// The "LLB Graph" webview panel. It previews the graph of one CUE document
// through archon.previewLLB, previews it again when a CUE file of the
// workspace is saved or a run ends, and opens the source range of a vertex
// the user clicks.

import * as vscode from 'vscode';
import { isPageToHostMessage, type HostToPageMessage, type PageToHostMessage } from './graphMessages';
import { traceError, traceVerbose, traceWarn } from './logging';
import { ServerCommand, type LLBGraph } from './protocol';
import { toVscodeRange } from './runDiagnostics';
import { createWebviewPanel, showErrorMessage, showTextDocument } from './vscodeapi';
import { graphPageHtml, makeNonce } from './webviewHtml';

export const GRAPH_VIEW_TYPE = 'archon.llbGraph';

export interface GraphConnection {
    executeServerCommand<T>(command: string, args: object): Promise<T>;
}

export class GraphPanel implements vscode.Disposable {
    private panel: vscode.WebviewPanel | undefined;
    private documentUri: string | undefined;
    private lastMessage: HostToPageMessage | undefined;
    private refreshing: Promise<void> | undefined;
    private refreshAgain = false;

    constructor(
        private readonly extensionUri: vscode.Uri,
        private readonly connection: GraphConnection,
    ) {}

    get isOpen(): boolean {
        return this.panel !== undefined;
    }

    /** Opens the panel (or brings it forward) on the graph of the given document. */
    async show(documentUri: string): Promise<void> {
        this.documentUri = documentUri;
        const panel = this.panel ?? this.createPanel();
        panel.title = `LLB: ${basename(documentUri)}`;
        panel.reveal(undefined, true);
        await this.refresh();
    }

    /**
     * Previews the graph again and sends it to the page. A refresh asked for
     * while one is under way runs once more after it, so the page ends on the
     * graph of the latest saved text.
     */
    async refresh(): Promise<void> {
        if (this.refreshing !== undefined) {
            this.refreshAgain = true;
            return this.refreshing;
        }
        this.refreshing = this.refreshUntilCurrent().finally(() => {
            this.refreshing = undefined;
        });
        return this.refreshing;
    }

    /** Refreshes after a save when the saved file is CUE and the panel is open. */
    onDidSaveDocument(document: vscode.TextDocument): void {
        if (this.panel !== undefined && document.languageId === 'cue') {
            void this.refresh();
        }
    }

    dispose(): void {
        this.panel?.dispose();
    }

    private async refreshUntilCurrent(): Promise<void> {
        do {
            this.refreshAgain = false;
            await this.loadGraph();
        } while (this.refreshAgain && this.panel !== undefined);
    }

    private async loadGraph(): Promise<void> {
        const documentUri = this.documentUri;
        if (documentUri === undefined || this.panel === undefined) {
            return;
        }

        this.post({ type: 'loading', documentUri });
        try {
            const graph = await this.connection.executeServerCommand<LLBGraph>(ServerCommand.previewLLB, { uri: documentUri });
            traceVerbose(`LLB graph of ${documentUri}: ${graph?.vertices?.length ?? 0} vertices`);
            this.post({ type: 'graph', documentUri, graph });
        } catch (error) {
            const message = error instanceof Error ? error.message : String(error);
            traceWarn(`Previewing the LLB graph of ${documentUri} failed: ${message}`);
            this.post({ type: 'error', documentUri, message });
        }
    }

    private createPanel(): vscode.WebviewPanel {
        const webviewRoot = vscode.Uri.joinPath(this.extensionUri, 'out', 'webview');
        const panel = createWebviewPanel(
            GRAPH_VIEW_TYPE,
            'LLB graph',
            { viewColumn: vscode.ViewColumn.Beside, preserveFocus: true },
            { enableScripts: true, localResourceRoots: [webviewRoot] },
        );

        const webview = panel.webview;
        webview.html = graphPageHtml({
            cspSource: webview.cspSource,
            scriptUri: webview.asWebviewUri(vscode.Uri.joinPath(webviewRoot, 'graph.js')).toString(),
            styleUri: webview.asWebviewUri(vscode.Uri.joinPath(webviewRoot, 'graph.css')).toString(),
            nonce: makeNonce(),
        });
        webview.onDidReceiveMessage((message: unknown) => void this.handleMessage(message));
        panel.onDidDispose(() => {
            this.panel = undefined;
            this.lastMessage = undefined;
        });

        this.panel = panel;
        return panel;
    }

    private post(message: HostToPageMessage): void {
        this.lastMessage = message;
        void this.panel?.webview.postMessage(message);
    }

    private async handleMessage(message: unknown): Promise<void> {
        if (!isPageToHostMessage(message)) {
            traceWarn('Ignored a malformed message from the LLB graph page:', message);
            return;
        }
        await this.dispatch(message);
    }

    private async dispatch(message: PageToHostMessage): Promise<void> {
        switch (message.type) {
            case 'ready':
                // The page was (re)loaded, for example after being hidden:
                // send it the last state again.
                if (this.lastMessage !== undefined) {
                    void this.panel?.webview.postMessage(this.lastMessage);
                }
                return;
            case 'refresh':
                await this.refresh();
                return;
            case 'reveal':
                try {
                    const range = toVscodeRange(message.range);
                    await showTextDocument(vscode.Uri.parse(message.uri), {
                        viewColumn: vscode.ViewColumn.One,
                        selection: range,
                        preserveFocus: false,
                    });
                } catch (error) {
                    traceError(`Opening ${message.uri} failed:`, error);
                    void showErrorMessage(`Archon: opening ${message.uri} failed: ${error instanceof Error ? error.message : String(error)}`);
                }
                return;
        }
    }
}

function basename(uri: string): string {
    const path = uri.split('?')[0];
    return decodeURIComponent(path.slice(path.lastIndexOf('/') + 1)) || uri;
}
