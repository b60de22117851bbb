// Entry point: wires the language client, the commands, the run views and
// the LLB graph panel together.

import * as vscode from 'vscode';
import type { Middleware } from 'vscode-languageclient';
import { pickComponent } from './componentPicker';
import { EnvironmentController } from './environments';
import { GraphPanel } from './graphPanel';
import { showHistory } from './history';
import { setInput } from './inputs';
import { registerLogger, traceError, traceInfo } from './logging';
import { RUN_LOG_NOTIFICATION, ServerCommand, type RunArguments, type RunLogParams } from './protocol';
import { RunController } from './runs';
import { ArchonServer, CLIENT_NAME, CUE_LANGUAGE_ID, errorMessage } from './server';
import { SERVER_SETTING_KEYS, affectsAnySetting, getExtensionSettings } from './settings';
import {
    createDiagnosticCollection,
    createLogOutputChannel,
    createOutputChannel,
    createStatusBarItem,
    getActiveTextEditor,
    getWorkspaceFolders,
    onDidChangeConfiguration,
    onDidSaveTextDocument,
    registerCommand,
    showErrorMessage,
} from './vscodeapi';

let server: ArchonServer | undefined;

/** Returns the active editor's document when it is CUE. */
function activeCueDocument(): vscode.TextDocument | undefined {
    const document = getActiveTextEditor()?.document;
    return document?.languageId === CUE_LANGUAGE_ID ? document : undefined;
}

function requireCueDocument(commandTitle: string): vscode.TextDocument {
    const document = activeCueDocument();
    if (document === undefined) {
        throw new Error(`${commandTitle} needs an open CUE file: open a .cue file of the configuration and run it again.`);
    }
    return document;
}

/** Reads the single argument object that code lenses pass to server commands. */
function commandArgument(args: unknown[]): Record<string, unknown> {
    const first = args[0];
    return typeof first === 'object' && first !== null ? (first as Record<string, unknown>) : {};
}

/** Registers a command whose errors are shown to the user, who invoked it. */
function userCommand(name: string, handler: (...args: any[]) => unknown): vscode.Disposable {
    return registerCommand(name, async (...args: unknown[]) => {
        try {
            return await handler(...args);
        } catch (error) {
            traceError(`Command ${name} failed:`, error);
            void showErrorMessage(`Archon: ${errorMessage(error)}`);
            return undefined;
        }
    });
}

export async function activate(context: vscode.ExtensionContext): Promise<void> {
    const serverLog = createLogOutputChannel(CLIENT_NAME);
    const runLog = createOutputChannel('Archon Run');
    const runProblems = createDiagnosticCollection('archon-run');
    const environmentItem = createStatusBarItem('archon.environment', vscode.StatusBarAlignment.Left, 50);
    const runItem = createStatusBarItem('archon.lastRun', vscode.StatusBarAlignment.Left, 49);
    environmentItem.name = 'Archon Environment';
    runItem.name = 'Archon Run';
    context.subscriptions.push(registerLogger(serverLog), serverLog, runLog, runProblems, environmentItem, runItem);

    // Forward references: the middleware needs the controllers, which need
    // the server, which needs the middleware.
    let runs: RunController | undefined;
    let graph: GraphPanel | undefined;
    let environments: EnvironmentController | undefined;

    const runWithEnvironment = (args: RunArguments) =>
        runs?.run({ ...args, environment: args.environment ?? environments?.current });

    // Code lenses name the server's commands. Route them through the same
    // views as the palette commands so that a lens run shows progress, logs
    // and problems too.
    const middleware: Middleware = {
        executeCommand: async (command, args, next) => {
            const argument = commandArgument(args);
            if (command === ServerCommand.run) {
                return runWithEnvironment(argument as RunArguments);
            }
            if (command === ServerCommand.previewLLB && typeof argument.uri === 'string') {
                return graph?.show(argument.uri);
            }
            return next(command, args);
        },
    };

    server = new ArchonServer(serverLog, middleware);
    const activeServer = server;
    context.subscriptions.push(server);

    runs = new RunController(
        server,
        { log: runLog, problems: runProblems, status: runItem },
        () => getExtensionSettings(getWorkspaceFolders()[0]).revealRunLog,
        () => {
            if (graph?.isOpen) {
                void graph.refresh();
            }
        },
    );
    graph = new GraphPanel(context.extensionUri, server);
    environments = new EnvironmentController(server, environmentItem);
    const activeRuns = runs;
    const activeGraph = graph;
    const activeEnvironments = environments;
    context.subscriptions.push(runs, graph);

    context.subscriptions.push(
        server.onDidStart((client) => {
            client.onNotification(RUN_LOG_NOTIFICATION, (params: RunLogParams) => activeRuns.appendLogLine(params));
            void activeEnvironments.refresh();
        }),
    );

    context.subscriptions.push(
        userCommand('archon.runPlan', () => runWithEnvironment({ uri: activeCueDocument()?.uri.toString() })),
        userCommand('archon.runComponent', async (argument?: RunArguments) => {
            if (argument?.component) {
                return runWithEnvironment(argument);
            }
            const editor = getActiveTextEditor();
            const document = requireCueDocument('Run Component');
            const position = editor?.selection.active;
            const component = await pickComponent(activeServer, document.uri.toString(), position);
            if (component !== undefined) {
                await runWithEnvironment({ uri: document.uri.toString(), component });
            }
        }),
        userCommand('archon.cancelRun', () => activeRuns.cancel()),
        userCommand('archon.showLLBGraph', (argument?: { uri?: string }) => {
            const uri = argument?.uri ?? requireCueDocument('Preview LLB Graph').uri.toString();
            return activeGraph.show(uri);
        }),
        userCommand('archon.chooseEnvironment', () => activeEnvironments.choose()),
        userCommand('archon.promptInput', () => setInput(activeServer)),
        userCommand('archon.showHistory', () => showHistory(activeServer)),
        userCommand('archon.showRunLog', () => runLog.show(true)),
        userCommand('archon.restartServer', async () => {
            traceInfo('Restart requested by the user');
            await activeServer.restart();
        }),
    );

    context.subscriptions.push(
        onDidChangeConfiguration((event) => {
            if (affectsAnySetting(event, SERVER_SETTING_KEYS)) {
                traceInfo('Server settings changed; restarting the language server');
                void activeServer.restart();
            }
        }),
        onDidSaveTextDocument((document) => {
            if (getExtensionSettings(getWorkspaceFolders()[0]).refreshGraphOnSave) {
                activeGraph.onDidSaveDocument(document);
            }
        }),
    );

    await server.start();
}

export async function deactivate(): Promise<void> {
    await server?.stop();
    server = undefined;
}
