// Starts the real dagger-lsp over stdio and talks to it with the same
// protocol library that vscode-languageclient is built on. The protocol
// test and the browser test use it; both skip, printing the reason, when no
// server can be started.

import { execFileSync, spawn, type ChildProcessWithoutNullStreams } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { fileURLToPath, pathToFileURL } from 'url';
import {
    createProtocolConnection,
    DidOpenTextDocumentNotification,
    ExecuteCommandRequest,
    ExitNotification,
    InitializedNotification,
    InitializeRequest,
    ShutdownRequest,
    StreamMessageReader,
    StreamMessageWriter,
    type InitializeResult,
    type ProtocolConnection,
} from 'vscode-languageserver-protocol/node';
import type { LLBGraph } from '../../src/protocol';
import { findServer } from '../../src/serverDiscovery';

/** Root of the Archon repository, two levels above editors/vscode. */
export const REPOSITORY_ROOT = path.resolve(fileURLToPath(new URL('.', import.meta.url)), '..', '..', '..', '..');

export const INITIALIZE_TIMEOUT_MS = 30_000;

export interface RunningServer {
    command: string;
    connection: ProtocolConnection;
    initializeResult: InitializeResult;
    /** Everything the server wrote to stderr so far. */
    stderr(): string;
    stop(): Promise<void>;
}

export type ServerStart = { ok: true; server: RunningServer } | { ok: false; reason: string };

/**
 * Finds dagger-lsp the way the extension does, with the repository as the
 * workspace folder; DAGGER_LSP overrides the search.
 */
export function locateServer(): { command: string | undefined; searched: string[] } {
    const configured = process.env.DAGGER_LSP;
    const result = findServer({
        configuredPath: configured && configured !== '' ? configured : undefined,
        workspaceFolders: [REPOSITORY_ROOT],
        homeDir: os.homedir(),
        pathEnv: process.env.PATH,
        platform: process.platform,
    });
    return { command: result.command, searched: result.searched };
}

function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
    return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`${what} timed out after ${ms} ms`)), ms);
        promise.then(
            (value) => {
                clearTimeout(timer);
                resolve(value);
            },
            (error) => {
                clearTimeout(timer);
                reject(error);
            },
        );
    });
}

/** Copies a folder of the repository (such as examples/hello) to a fresh temporary workspace. */
export function copyToTemporaryWorkspace(relativeFolder: string): string {
    const target = fs.mkdtempSync(path.join(os.tmpdir(), 'archon-vscode-'));
    fs.cpSync(path.join(REPOSITORY_ROOT, relativeFolder), target, { recursive: true });
    return target;
}

/**
 * Starts dagger-lsp and completes the initialize handshake for the given
 * workspace folder. When the server is missing or its Python package is not
 * installed yet, returns the reason instead. Any other failure throws,
 * because then the server is broken rather than absent.
 */
export async function startServer(workspaceFolder: string): Promise<ServerStart> {
    const { command, searched } = locateServer();
    if (command === undefined) {
        return { ok: false, reason: `dagger-lsp not found (searched ${searched.join(', ')}); set DAGGER_LSP to its path` };
    }

    const child: ChildProcessWithoutNullStreams = spawn(command, [], {
        cwd: workspaceFolder,
        env: process.env,
        stdio: 'pipe',
    });
    let stderr = '';
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (chunk: string) => {
        stderr += chunk;
    });
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));

    const connection = createProtocolConnection(new StreamMessageReader(child.stdout), new StreamMessageWriter(child.stdin));
    connection.listen();

    const folderUri = pathToFileURL(workspaceFolder).href;
    const initialize = connection.sendRequest(InitializeRequest.type, {
        processId: process.pid,
        clientInfo: { name: 'archon-vscode protocol test' },
        rootUri: folderUri,
        workspaceFolders: [{ uri: folderUri, name: path.basename(workspaceFolder) }],
        capabilities: {
            window: { workDoneProgress: true },
            workspace: { workspaceFolders: true, configuration: true },
            textDocument: {
                synchronization: { didSave: true },
                publishDiagnostics: { relatedInformation: true },
                codeLens: {},
                hover: { contentFormat: ['markdown', 'plaintext'] },
            },
        },
    });

    const outcome = await withTimeout(
        Promise.race([
            initialize.then((result) => ({ result })),
            exited.then((code) => ({ exitCode: code })),
        ]),
        INITIALIZE_TIMEOUT_MS,
        `initialize of ${command}`,
    );

    if ('exitCode' in outcome) {
        connection.dispose();
        if (/No module named '?archon\.lsp/.test(stderr) || /cannot import name .* from 'archon\.lsp/.test(stderr)) {
            return { ok: false, reason: `${command} is installed but the archon.lsp package is not complete yet: ${lastLine(stderr)}` };
        }
        throw new Error(`${command} exited with code ${outcome.exitCode} before it replied to initialize:\n${stderr}`);
    }

    await connection.sendNotification(InitializedNotification.type, {});

    const stop = async (): Promise<void> => {
        try {
            await withTimeout(connection.sendRequest(ShutdownRequest.type), 5_000, 'shutdown');
            await connection.sendNotification(ExitNotification.type);
            await withTimeout(exited, 5_000, 'exit after shutdown');
        } catch {
            child.kill('SIGKILL');
        } finally {
            connection.dispose();
        }
    };

    return {
        ok: true,
        server: { command, connection, initializeResult: outcome.result, stderr: () => stderr, stop },
    };
}

function lastLine(text: string): string {
    const lines = text.trim().split('\n');
    return lines[lines.length - 1] ?? '';
}

/** Tells whether the server lists a command in its executeCommandProvider. */
export function serverHasCommand(server: RunningServer, command: string): boolean {
    return server.initializeResult.capabilities.executeCommandProvider?.commands.includes(command) ?? false;
}

/** Value of the hello example's libRemote input; nothing is fetched from it by a preview. */
export const HELLO_LIB_REMOTE = 'git://127.0.0.1:9418/greet.git';

export type HelloWorkspace =
    | { ok: true; folder: string; mainUri: string; server: RunningServer }
    | { ok: false; reason: string };

/**
 * Copies examples/hello to a temporary folder and makes it a workspace with
 * two environments for its plan, `dev` (the default) and `prod`, as a user
 * would with `dagger init` and `dagger new`. The `dagger` command is the one
 * installed next to dagger-lsp.
 */
export function prepareHelloFolder(serverCommand: string): { ok: true; folder: string } | { ok: false; reason: string } {
    const dagger = path.join(path.dirname(serverCommand), 'dagger');
    if (!fs.existsSync(dagger)) {
        return { ok: false, reason: `${dagger} not found next to dagger-lsp` };
    }

    const folder = copyToTemporaryWorkspace('examples/hello');
    for (const args of [['init'], ['new', 'dev', '--plan', '.'], ['new', 'prod', '--plan', '.']]) {
        try {
            execFileSync(dagger, args, { cwd: folder, stdio: 'pipe', timeout: 60_000 });
        } catch (error) {
            const stderr = (error as { stderr?: Buffer }).stderr?.toString() ?? String(error);
            fs.rmSync(folder, { recursive: true, force: true });
            return { ok: false, reason: `"dagger ${args.join(' ')}" failed: ${lastLine(stderr)}` };
        }
    }
    return { ok: true, folder };
}

/**
 * Sets up examples/hello with prepareHelloFolder and starts dagger-lsp on
 * it. Tests then set the libRemote input through archon.setInput.
 */
export async function openHelloWorkspace(): Promise<HelloWorkspace> {
    const { command } = locateServer();
    if (command === undefined) {
        return { ok: false, reason: 'dagger-lsp not found' };
    }
    const prepared = prepareHelloFolder(command);
    if (!prepared.ok) {
        return prepared;
    }

    const start = await startServer(prepared.folder);
    if (!start.ok) {
        fs.rmSync(prepared.folder, { recursive: true, force: true });
        return start;
    }
    const mainUri = pathToFileURL(path.join(prepared.folder, 'main.cue')).href;
    return { ok: true, folder: prepared.folder, mainUri, server: start.server };
}

/** Sends one server command with its single argument object. */
export function executeCommand<T>(server: RunningServer, command: string, argument: object): Promise<T> {
    return server.connection.sendRequest(ExecuteCommandRequest.type, { command, arguments: [argument] }) as Promise<T>;
}

/** Opens main.cue of the hello workspace, sets its input and previews its LLB graph. */
export async function previewHello(hello: { folder: string; mainUri: string; server: RunningServer }): Promise<LLBGraph> {
    await hello.server.connection.sendNotification(DidOpenTextDocumentNotification.type, {
        textDocument: {
            uri: hello.mainUri,
            languageId: 'cue',
            version: 1,
            text: fs.readFileSync(path.join(hello.folder, 'main.cue'), 'utf8'),
        },
    });
    await executeCommand(hello.server, 'archon.setInput', { name: 'libRemote', kind: 'text', value: HELLO_LIB_REMOTE });
    return executeCommand<LLBGraph>(hello.server, 'archon.previewLLB', { uri: hello.mainUri });
}
