// A fake of the `vscode` module rich enough for the bundled extension and
// vscode-languageclient to activate, start dagger-lsp and exchange real
// LSP messages with it. The fake records what the extension shows (status
// bar, messages, output, webview posts, diagnostics) for the test to check.
// Prompts return values from queues that the test fills. Any API the fake
// does not implement returns an inert stand-in, so an unexpected call is
// harmless rather than a crash.

import * as stub from './vscode';

type Listener = (value: unknown) => void;

/** Returns a callable, iterable stand-in for any API member the fake lacks. */
function inert(): any {
    const target = function () {} as unknown as Record<PropertyKey, unknown>;
    return new Proxy(target, {
        get: (_target, property) => {
            if (property === 'then') {
                return undefined;
            }
            if (property === Symbol.iterator) {
                return function* empty() {};
            }
            if (property === Symbol.toPrimitive) {
                return () => 0;
            }
            if (property === 'dispose') {
                return () => undefined;
            }
            return inert();
        },
        apply: () => inert(),
        construct: () => inert(),
    });
}

/** Wraps an object so that members it does not define are inert stand-ins. */
function withFallback<T extends object>(value: T): T {
    return new Proxy(value, {
        get: (target, property, receiver) =>
            property in target ? Reflect.get(target, property, receiver) : property === 'then' ? undefined : inert(),
    });
}

export class Event {
    private listeners: Listener[] = [];

    readonly subscribe = (listener: Listener): stub.Disposable => {
        this.listeners.push(listener);
        return new stub.Disposable(() => {
            this.listeners = this.listeners.filter((candidate) => candidate !== listener);
        });
    };

    fire(value: unknown): void {
        for (const listener of [...this.listeners]) {
            listener(value);
        }
    }
}

export class FakeChannel {
    readonly lines: string[] = [];

    constructor(readonly name: string) {}

    append(text: string): void {
        this.lines.push(text);
    }

    appendLine(text: string): void {
        this.lines.push(text);
    }

    show(): void {}
    hide(): void {}
    clear(): void {}
    replace(): void {}
    dispose(): void {}
    trace(text: string): void {
        this.lines.push(`[trace] ${text}`);
    }
    debug(text: string): void {
        this.lines.push(`[debug] ${text}`);
    }
    info(text: string): void {
        this.lines.push(`[info] ${text}`);
    }
    warn(text: string): void {
        this.lines.push(`[warning] ${text}`);
    }
    error(text: unknown): void {
        this.lines.push(`[error] ${String(text)}`);
    }
    logLevel = 2;
    onDidChangeLogLevel = new Event().subscribe;
}

export class FakeStatusItem {
    text = '';
    tooltip: unknown;
    command: unknown;
    name: string | undefined;
    visible = false;

    constructor(readonly id: string) {}

    show(): void {
        this.visible = true;
    }
    hide(): void {
        this.visible = false;
    }
    dispose(): void {}
}

export class FakeDiagnostics {
    readonly entries = new Map<string, stub.Diagnostic[]>();
    readonly changed = new Event();

    constructor(readonly name: string) {}

    set(uri: stub.Uri, diagnostics: stub.Diagnostic[] | undefined): void {
        this.entries.set(uri.toString(), diagnostics ?? []);
        this.changed.fire(uri.toString());
    }
    get(uri: stub.Uri): stub.Diagnostic[] | undefined {
        return this.entries.get(uri.toString());
    }
    delete(uri: stub.Uri): void {
        this.entries.delete(uri.toString());
    }
    clear(): void {
        this.entries.clear();
    }
    forEach(callback: (uri: stub.Uri, diagnostics: stub.Diagnostic[]) => void): void {
        for (const [uri, diagnostics] of this.entries) {
            callback(stub.Uri.parse(uri), diagnostics);
        }
    }
    has(uri: stub.Uri): boolean {
        return this.entries.has(uri.toString());
    }
    dispose(): void {}
}

export class FakeWebviewPanel {
    readonly posted: unknown[] = [];
    readonly received = new Event();
    readonly disposed = new Event();
    title: string;

    readonly webview = withFallback({
        html: '',
        cspSource: 'vscode-webview://fake',
        options: {},
        asWebviewUri: (uri: stub.Uri) => uri,
        postMessage: async (message: unknown) => {
            this.posted.push(message);
            return true;
        },
        onDidReceiveMessage: this.received.subscribe,
    });

    constructor(
        readonly viewType: string,
        title: string,
    ) {
        this.title = title;
    }

    reveal(): void {}
    onDidDispose = this.disposed.subscribe;
    onDidChangeViewState = new Event().subscribe;
    dispose(): void {
        this.disposed.fire(undefined);
    }
}

export class CancellationTokenSource {
    private readonly cancelled = new Event();
    readonly token = {
        isCancellationRequested: false,
        onCancellationRequested: this.cancelled.subscribe,
    };

    cancel(): void {
        this.token.isCancellationRequested = true;
        this.cancelled.fire(undefined);
    }

    dispose(): void {}
}

export class CancellationError extends Error {}

export interface FakeDocument {
    uri: stub.Uri;
    fileName: string;
    languageId: string;
    version: number;
    isClosed: boolean;
    getText(): string;
    lineAt(line: number): { text: string };
}

export function fakeDocument(path: string, languageId: string, text: string): FakeDocument {
    return {
        uri: stub.Uri.file(path),
        fileName: path,
        languageId,
        version: 1,
        isClosed: false,
        getText: () => text,
        lineAt: (line: number) => ({ text: text.split('\n')[line] ?? '' }),
    };
}

interface DocumentFilter {
    language?: string;
    scheme?: string;
}

/** The recording host: the module object plus what the extension did with it. */
export class FakeVscodeHost {
    readonly commands = new Map<string, (...args: unknown[]) => unknown>();
    readonly channels: FakeChannel[] = [];
    readonly statusItems: FakeStatusItem[] = [];
    readonly diagnostics: FakeDiagnostics[] = [];
    readonly panels: FakeWebviewPanel[] = [];
    readonly messages: Array<{ severity: 'error' | 'warning' | 'information'; text: string }> = [];
    readonly configuration = new Map<string, unknown>();
    readonly textDocuments: FakeDocument[] = [];
    /** Values that showInputBox returns, in order; undefined dismisses the box. */
    readonly inputAnswers: Array<string | undefined> = [];
    /** Labels of the items that showQuickPick returns, in order. */
    readonly quickPickAnswers: string[] = [];
    readonly didOpen = new Event();
    readonly workspaceFolders: Array<{ uri: stub.Uri; name: string; index: number }>;

    constructor(workspaceFolder: string) {
        this.workspaceFolders = [{ uri: stub.Uri.file(workspaceFolder), name: 'workspace', index: 0 }];
    }

    /** Opens a document as VS Code does: listed in textDocuments and announced to listeners. */
    openDocument(document: FakeDocument): void {
        this.textDocuments.push(document);
        this.didOpen.fire(document);
    }

    module(): Record<string, unknown> {
        const host = this;
        const message = (severity: 'error' | 'warning' | 'information') => async (text: string) => {
            host.messages.push({ severity, text });
            return undefined;
        };

        const window = withFallback({
            createOutputChannel: (name: string) => {
                const channel = new FakeChannel(name);
                host.channels.push(channel);
                return channel;
            },
            createStatusBarItem: (id: string) => {
                const item = new FakeStatusItem(id);
                host.statusItems.push(item);
                return item;
            },
            createWebviewPanel: (viewType: string, title: string) => {
                const panel = new FakeWebviewPanel(viewType, title);
                host.panels.push(panel);
                return panel;
            },
            showErrorMessage: message('error'),
            showWarningMessage: message('warning'),
            showInformationMessage: message('information'),
            showInputBox: async () => host.inputAnswers.shift(),
            showQuickPick: async (items: Array<{ label: string }> | Promise<Array<{ label: string }>>) => {
                const label = host.quickPickAnswers.shift();
                return (await items).find((item) => item.label === label);
            },
            withProgress: async (_options: unknown, task: (progress: unknown, token: unknown) => unknown) =>
                task({ report: () => undefined }, new CancellationTokenSource().token),
            activeTextEditor: undefined,
            visibleTextEditors: [],
            tabGroups: withFallback({ all: [], onDidChangeTabs: new Event().subscribe, onDidChangeTabGroups: new Event().subscribe }),
            onDidChangeActiveTextEditor: new Event().subscribe,
            onDidChangeVisibleTextEditors: new Event().subscribe,
        });

        const workspace = withFallback({
            get workspaceFolders() {
                return host.workspaceFolders;
            },
            get textDocuments() {
                return host.textDocuments;
            },
            notebookDocuments: [],
            isTrusted: true,
            getConfiguration: (section?: string) => ({
                get: (key: string, fallback?: unknown) => {
                    const value = host.configuration.get(section ? `${section}.${key}` : key);
                    return value === undefined ? fallback : value;
                },
                has: (key: string) => host.configuration.has(section ? `${section}.${key}` : key),
                inspect: () => undefined,
                update: async () => undefined,
            }),
            getWorkspaceFolder: () => host.workspaceFolders[0],
            onDidOpenTextDocument: host.didOpen.subscribe,
            createFileSystemWatcher: () => withFallback({ dispose: () => undefined }),
        });

        const languages = withFallback({
            createDiagnosticCollection: (name: string) => {
                const collection = new FakeDiagnostics(name);
                host.diagnostics.push(collection);
                return collection;
            },
            match: (selector: DocumentFilter | DocumentFilter[] | string, document: FakeDocument) => {
                const filters = Array.isArray(selector) ? selector : [selector];
                const matches = filters.some((filter) =>
                    typeof filter === 'string'
                        ? filter === document.languageId
                        : (filter.language === undefined || filter.language === document.languageId) &&
                          (filter.scheme === undefined || filter.scheme === document.uri.scheme),
                );
                return matches ? 10 : 0;
            },
        });

        const commands = withFallback({
            registerCommand: (name: string, callback: (...args: unknown[]) => unknown) => {
                if (host.commands.has(name)) {
                    throw new Error(`command '${name}' already exists`);
                }
                host.commands.set(name, callback);
                return new stub.Disposable(() => host.commands.delete(name));
            },
            executeCommand: async (name: string, ...args: unknown[]) => host.commands.get(name)?.(...args),
        });

        return withFallback({
            ...stub,
            version: '1.90.0',
            env: withFallback({ appName: 'Fake VS Code', language: 'en', clipboard: { writeText: async () => undefined } }),
            window,
            workspace,
            languages,
            commands,
            CancellationTokenSource,
            CancellationError,
            Disposable: Object.assign(stub.Disposable, {
                from: (...items: Array<{ dispose(): unknown }>) =>
                    new stub.Disposable(() => items.forEach((item) => item.dispose())),
            }),
        });
    }
}
