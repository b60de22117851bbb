// Reads the `archon.*` settings declared in package.json. Values that have
// the wrong type (a hand-edited settings.json) fall back to the default and
// are logged, so a typo never stops the extension.

import * as os from 'os';
import * as path from 'path';
import type { ConfigurationChangeEvent, WorkspaceFolder } from 'vscode';
import { traceWarn } from './logging';
import { getConfiguration } from './vscodeapi';

export const SETTINGS_SECTION = 'archon';

export type RevealLog = 'always' | 'onFailure' | 'never';

export interface ServerSettings {
    /** Absolute path of dagger-lsp, or undefined to search for it. */
    path: string | undefined;
    args: string[];
    /** Crashes tolerated within RESTART_WINDOW_MS before the client gives up. */
    maxRestarts: number;
}

export interface ExtensionSettings {
    server: ServerSettings;
    revealRunLog: RevealLog;
    refreshGraphOnSave: boolean;
}

export const DEFAULT_MAX_RESTARTS = 5;

/** Settings whose change needs a new server process. */
export const SERVER_SETTING_KEYS = ['archon.server.path', 'archon.server.args', 'archon.trace.server'];

/**
 * Replaces `${workspaceFolder}`, `${userHome}` and a leading `~` in a path
 * setting, and resolves a relative result against the workspace folder.
 */
export function resolvePathSetting(value: string, workspaceFolder: string | undefined, home = os.homedir()): string {
    let resolved = value.trim();
    if (resolved === '~' || resolved.startsWith('~/')) {
        resolved = path.join(home, resolved.slice(1));
    }
    resolved = resolved.replace(/\$\{userHome\}/g, home);

    if (workspaceFolder !== undefined) {
        resolved = resolved.replace(/\$\{workspaceFolder\}/g, workspaceFolder);
        if (!path.isAbsolute(resolved) && resolved.includes('/')) {
            resolved = path.resolve(workspaceFolder, resolved);
        }
    }
    return resolved;
}

function readString(value: unknown, key: string, fallback: string): string {
    if (typeof value === 'string') {
        return value;
    }
    if (value !== undefined && value !== null) {
        traceWarn(`Setting ${key} must be a string, got ${JSON.stringify(value)}; using "${fallback}".`);
    }
    return fallback;
}

function readStringArray(value: unknown, key: string): string[] {
    if (Array.isArray(value) && value.every((item) => typeof item === 'string')) {
        return value;
    }
    if (value !== undefined && value !== null) {
        traceWarn(`Setting ${key} must be an array of strings, got ${JSON.stringify(value)}; using [].`);
    }
    return [];
}

function readCount(value: unknown, key: string, fallback: number): number {
    if (typeof value === 'number' && Number.isInteger(value) && value >= 0) {
        return value;
    }
    if (value !== undefined && value !== null) {
        traceWarn(`Setting ${key} must be a whole number of at least 0, got ${JSON.stringify(value)}; using ${fallback}.`);
    }
    return fallback;
}

function readRevealLog(value: unknown): RevealLog {
    if (value === 'always' || value === 'onFailure' || value === 'never') {
        return value;
    }
    if (value !== undefined && value !== null) {
        traceWarn(`Setting archon.run.revealLog must be "always", "onFailure" or "never", got ${JSON.stringify(value)}.`);
    }
    return 'onFailure';
}

/** Reads every setting for the given workspace folder (or the window when undefined). */
export function getExtensionSettings(folder?: WorkspaceFolder): ExtensionSettings {
    const config = getConfiguration(SETTINGS_SECTION, folder?.uri);

    const rawPath = readString(config.get('server.path'), 'archon.server.path', '');
    const serverPath = rawPath.trim() === '' ? undefined : resolvePathSetting(rawPath, folder?.uri.fsPath);

    return {
        server: {
            path: serverPath,
            args: readStringArray(config.get('server.args'), 'archon.server.args'),
            maxRestarts: readCount(config.get('server.maxRestarts'), 'archon.server.maxRestarts', DEFAULT_MAX_RESTARTS),
        },
        revealRunLog: readRevealLog(config.get('run.revealLog')),
        refreshGraphOnSave: config.get('graph.refreshOnSave') !== false,
    };
}

/** Tells whether a configuration change touches one of the given settings. */
export function affectsAnySetting(event: ConfigurationChangeEvent, keys: readonly string[]): boolean {
    return keys.some((key) => event.affectsConfiguration(key));
}
