// Finds the dagger-lsp executable. The order is: the archon.server.path
// setting, the project's virtual environment in each workspace folder, a
// pipx install in ~/.local/bin, then every directory of PATH.

import * as fs from 'fs';
import * as path from 'path';

export const SERVER_EXECUTABLE = 'dagger-lsp';

export type ServerSource = 'setting' | 'workspace virtual environment' | 'pipx' | 'PATH';

export interface DiscoveryOptions {
    /** Value of archon.server.path after variable substitution; a bare name is looked up in PATH. */
    configuredPath?: string;
    workspaceFolders: readonly string[];
    homeDir: string;
    /** The PATH environment variable. */
    pathEnv: string | undefined;
    platform: NodeJS.Platform;
}

export interface DiscoveryResult {
    /** Absolute path of the executable, or undefined when none was found. */
    command: string | undefined;
    source: ServerSource | undefined;
    /** Every path that was checked, in order, for the not-found message. */
    searched: string[];
}

export function isExecutableFile(file: string, platform: NodeJS.Platform = process.platform): boolean {
    try {
        if (!fs.statSync(file).isFile()) {
            return false;
        }
        if (platform !== 'win32') {
            fs.accessSync(file, fs.constants.X_OK);
        }
        return true;
    } catch {
        return false;
    }
}

function executableNames(name: string, platform: NodeJS.Platform): string[] {
    if (platform === 'win32' && path.extname(name) === '') {
        return [`${name}.exe`, `${name}.cmd`];
    }
    return [name];
}

function venvCandidates(folder: string, platform: NodeJS.Platform): string[] {
    const binDir = platform === 'win32' ? path.join(folder, '.venv', 'Scripts') : path.join(folder, '.venv', 'bin');
    return executableNames(SERVER_EXECUTABLE, platform).map((name) => path.join(binDir, name));
}

function pathCandidates(name: string, pathEnv: string | undefined, platform: NodeJS.Platform): string[] {
    const separator = platform === 'win32' ? ';' : ':';
    const directories = (pathEnv ?? '').split(separator).filter((directory) => directory !== '');
    return directories.flatMap((directory) =>
        executableNames(name, platform).map((candidate) => path.join(directory, candidate)),
    );
}

/** Searches for dagger-lsp in the documented order and returns the first executable file. */
export function findServer(options: DiscoveryOptions): DiscoveryResult {
    const { platform } = options;
    const searched: string[] = [];

    const tryCandidates = (candidates: string[], source: ServerSource): DiscoveryResult | undefined => {
        for (const candidate of candidates) {
            searched.push(candidate);
            if (isExecutableFile(candidate, platform)) {
                return { command: candidate, source, searched };
            }
        }
        return undefined;
    };

    // A configured path is the user's explicit choice: when it is wrong the
    // search stops there, so the user sees their setting is broken instead of
    // silently running another install.
    if (options.configuredPath !== undefined) {
        const configured = options.configuredPath;
        const isBareName = !configured.includes('/') && !configured.includes('\\');
        const candidates = isBareName
            ? pathCandidates(configured, options.pathEnv, platform)
            : [configured];
        return tryCandidates(candidates, 'setting') ?? { command: undefined, source: undefined, searched };
    }

    const searchOrder: Array<[string[], ServerSource]> = [
        [options.workspaceFolders.flatMap((folder) => venvCandidates(folder, platform)), 'workspace virtual environment'],
        [executableNames(SERVER_EXECUTABLE, platform).map((name) => path.join(options.homeDir, '.local', 'bin', name)), 'pipx'],
        [pathCandidates(SERVER_EXECUTABLE, options.pathEnv, platform), 'PATH'],
    ];
    for (const [candidates, source] of searchOrder) {
        const result = tryCandidates(candidates, source);
        if (result !== undefined) {
            return result;
        }
    }
    return { command: undefined, source: undefined, searched };
}

/** Builds the message shown when dagger-lsp is not found, with the ways to fix it. */
export function serverNotFoundMessage(result: DiscoveryResult, configuredPath: string | undefined): string {
    if (configuredPath !== undefined) {
        return (
            `Archon: the language server was not found at archon.server.path "${configuredPath}". ` +
            'Set archon.server.path to the absolute path of an executable dagger-lsp, or clear it to search the ' +
            'workspace .venv, ~/.local/bin and PATH.'
        );
    }
    return (
        `Archon: the language server ${SERVER_EXECUTABLE} was not found ` +
        `(searched ${result.searched.length} places: the workspace .venv, ~/.local/bin and PATH). ` +
        'Install Archon into the workspace with ".venv/bin/pip install <Archon checkout>" or for your user with ' +
        '"pipx install <Archon checkout>", or set archon.server.path.'
    );
}
