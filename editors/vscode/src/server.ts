// Starts dagger-lsp over stdio and keeps one LanguageClient for it. A crash
// restarts the server until RestartPolicy gives up; "Archon: Restart Server"
// or a change of the server settings starts a fresh client.

import * as os from 'os';
import * as vscode from 'vscode';
import {
    CloseAction,
    ErrorAction,
    ExecuteCommandRequest,
    LanguageClient,
    WorkDoneProgress,
    WorkDoneProgressCancelNotification,
    type WorkDoneProgressBegin,
    type WorkDoneProgressEnd,
    type WorkDoneProgressReport,
    type LanguageClientOptions,
    type Middleware,
    type ServerOptions,
} from 'vscode-languageclient/node';
import { traceError, traceInfo, traceWarn } from './logging';
import { RestartPolicy } from './restartPolicy';
import { findServer, serverNotFoundMessage } from './serverDiscovery';
import { getExtensionSettings } from './settings';
import { executeCommand, getWorkspaceFolders, showErrorMessage } from './vscodeapi';

export const CLIENT_ID = 'archon';
export const CLIENT_NAME = 'Archon Language Server';
export const CUE_LANGUAGE_ID = 'cue';

const OPEN_SETTINGS = 'Open Settings';
const SHOW_LOG = 'Show Log';

export class ServerNotRunningError extends Error {
    constructor() {
        super(
            'Archon: the language server is not running. Check the "Archon Language Server" output, ' +
                'then run "Archon: Restart Server".',
        );
        this.name = 'ServerNotRunningError';
    }
}

export class ArchonServer implements vscode.Disposable {
    private client: LanguageClient | undefined;
    private policy: RestartPolicy | undefined;
    private readonly startedEmitter = new vscode.EventEmitter<LanguageClient>();

    /** Fires each time a new client has finished its initialize handshake. */
    readonly onDidStart = this.startedEmitter.event;

    constructor(
        private readonly outputChannel: vscode.LogOutputChannel,
        private readonly middleware: Middleware,
    ) {}

    get languageClient(): LanguageClient | undefined {
        return this.client;
    }

    /** Finds dagger-lsp and starts it; returns false and notifies the user when that fails. */
    async start(): Promise<boolean> {
        const folders = getWorkspaceFolders();
        const settings = getExtensionSettings(folders[0]);

        const discovery = findServer({
            configuredPath: settings.server.path,
            workspaceFolders: folders.map((folder) => folder.uri.fsPath),
            homeDir: os.homedir(),
            pathEnv: process.env.PATH,
            platform: process.platform,
        });
        if (discovery.command === undefined) {
            traceError(`dagger-lsp not found; searched: ${discovery.searched.join(', ')}`);
            void this.notifyError(serverNotFoundMessage(discovery, settings.server.path), OPEN_SETTINGS);
            return false;
        }
        traceInfo(`Starting ${discovery.command} ${settings.server.args.join(' ')} (found through ${discovery.source})`);

        const serverOptions: ServerOptions = {
            // No transport: the client then talks over the process's stdin and
            // stdout and adds no --stdio flag that dagger-lsp would not know.
            command: discovery.command,
            args: settings.server.args,
            options: { cwd: folders[0]?.uri.fsPath, env: process.env },
        };

        const policy = new RestartPolicy(settings.server.maxRestarts);
        this.policy = policy;

        const clientOptions: LanguageClientOptions = {
            documentSelector: [
                { scheme: 'file', language: CUE_LANGUAGE_ID },
                { scheme: 'untitled', language: CUE_LANGUAGE_ID },
            ],
            outputChannel: this.outputChannel,
            middleware: this.middleware,
            errorHandler: {
                error: (error, _message, count) => {
                    traceError('Language server connection error:', error);
                    return { action: (count ?? 0) <= 3 ? ErrorAction.Continue : ErrorAction.Shutdown };
                },
                closed: () => {
                    const decision = policy.recordCrash();
                    if (decision.restart) {
                        traceWarn(`dagger-lsp exited (crash ${decision.crashes} of at most ${settings.server.maxRestarts}); restarting it.`);
                        return { action: CloseAction.Restart, handled: true };
                    }
                    return {
                        action: CloseAction.DoNotRestart,
                        message:
                            `Archon: the language server exited ${decision.crashes} times within 3 minutes and ` +
                            'is not restarted again. Check the "Archon Language Server" output, fix the cause, ' +
                            'then run "Archon: Restart Server".',
                    };
                },
            },
        };

        const client = new LanguageClient(CLIENT_ID, CLIENT_NAME, serverOptions, clientOptions);
        this.client = client;
        try {
            await client.start();
        } catch (error) {
            traceError(`Starting ${discovery.command} failed:`, error);
            void this.notifyError(
                `Archon: the language server ${discovery.command} failed to start: ${errorMessage(error)}`,
            );
            return false;
        }

        traceInfo(`Language server started: ${client.initializeResult?.serverInfo?.name ?? 'dagger-lsp'}`);
        this.startedEmitter.fire(client);
        return true;
    }

    /** Stops the running client, clears the crash count and starts again. */
    async restart(): Promise<boolean> {
        this.policy?.reset();
        await this.stop();
        return this.start();
    }

    async stop(): Promise<void> {
        const client = this.client;
        this.client = undefined;
        if (client === undefined) {
            return;
        }
        try {
            await client.stop();
        } catch (error) {
            traceWarn('Stopping the language server failed:', error);
        }
    }

    /** Returns the running client or throws ServerNotRunningError. */
    requireClient(): LanguageClient {
        if (this.client === undefined || !this.client.isRunning()) {
            throw new ServerNotRunningError();
        }
        return this.client;
    }

    /** Sends one of the server's commands with its single argument object. */
    async executeServerCommand<T>(
        command: string,
        args: object,
        workDoneToken?: string,
        token?: vscode.CancellationToken,
    ): Promise<T> {
        const client = this.requireClient();
        return client.sendRequest(
            ExecuteCommandRequest.type,
            { command, arguments: [args], workDoneToken },
            token,
        ) as Promise<T>;
    }

    /** Calls the handler with each $/progress value the server sends for the token. */
    onWorkDoneProgress(
        token: string,
        handler: (value: WorkDoneProgressBegin | WorkDoneProgressReport | WorkDoneProgressEnd) => void,
    ): vscode.Disposable {
        return this.requireClient().onProgress(WorkDoneProgress.type, token, handler);
    }

    /** Sends window/workDoneProgress/cancel for the work that reports progress under the token. */
    async cancelWorkDoneProgress(token: string): Promise<void> {
        await this.requireClient().sendNotification(WorkDoneProgressCancelNotification.type, { token });
    }

    dispose(): void {
        void this.stop();
        this.startedEmitter.dispose();
    }

    private async notifyError(message: string, ...actions: string[]): Promise<void> {
        const choice = await showErrorMessage(message, ...actions, SHOW_LOG);
        if (choice === OPEN_SETTINGS) {
            await executeCommand('workbench.action.openSettings', 'archon.server');
        } else if (choice === SHOW_LOG) {
            this.outputChannel.show();
        }
    }
}

export function errorMessage(error: unknown): string {
    return error instanceof Error ? error.message : String(error);
}
