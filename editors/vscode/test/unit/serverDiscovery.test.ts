import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { findServer, serverNotFoundMessage, type DiscoveryOptions } from '../../src/serverDiscovery';

// Real files in a temporary directory: discovery checks the file system the
// way it does in VS Code.
let root: string;

function makeExecutable(relativePath: string, mode = 0o755): string {
    const file = path.join(root, relativePath);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, '#!/bin/sh\nexit 0\n');
    fs.chmodSync(file, mode);
    return file;
}

function options(overrides: Partial<DiscoveryOptions> = {}): DiscoveryOptions {
    return {
        workspaceFolders: [path.join(root, 'project')],
        homeDir: path.join(root, 'home'),
        pathEnv: [path.join(root, 'usr', 'bin'), path.join(root, 'opt', 'bin')].join(':'),
        platform: 'linux',
        ...overrides,
    };
}

beforeEach(() => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'archon-discovery-'));
});

afterEach(() => {
    fs.rmSync(root, { recursive: true, force: true });
});

describe('findServer', () => {
    it('prefers the workspace virtual environment', () => {
        const venv = makeExecutable('project/.venv/bin/dagger-lsp');
        makeExecutable('home/.local/bin/dagger-lsp');
        makeExecutable('usr/bin/dagger-lsp');

        const result = findServer(options());

        expect(result.command).toBe(venv);
        expect(result.source).toBe('workspace virtual environment');
    });

    it('falls back to pipx before PATH', () => {
        const pipx = makeExecutable('home/.local/bin/dagger-lsp');
        makeExecutable('usr/bin/dagger-lsp');

        const result = findServer(options());

        expect(result.command).toBe(pipx);
        expect(result.source).toBe('pipx');
    });

    it('searches PATH entries in order', () => {
        const second = makeExecutable('opt/bin/dagger-lsp');

        const result = findServer(options());

        expect(result.command).toBe(second);
        expect(result.source).toBe('PATH');
    });

    it('checks every workspace folder', () => {
        const other = makeExecutable('other/.venv/bin/dagger-lsp');

        const result = findServer(options({ workspaceFolders: [path.join(root, 'project'), path.join(root, 'other')] }));

        expect(result.command).toBe(other);
    });

    it('skips files that are not executable', () => {
        makeExecutable('project/.venv/bin/dagger-lsp', 0o644);
        const onPath = makeExecutable('usr/bin/dagger-lsp');

        expect(findServer(options()).command).toBe(onPath);
    });

    it('skips a directory named like the server', () => {
        fs.mkdirSync(path.join(root, 'project/.venv/bin/dagger-lsp'), { recursive: true });

        expect(findServer(options()).command).toBeUndefined();
    });

    it('uses the configured path over every other place', () => {
        makeExecutable('project/.venv/bin/dagger-lsp');
        const configured = makeExecutable('tools/my-lsp');

        const result = findServer(options({ configuredPath: configured }));

        expect(result.command).toBe(configured);
        expect(result.source).toBe('setting');
    });

    it('does not fall back when the configured path is wrong', () => {
        makeExecutable('project/.venv/bin/dagger-lsp');

        const result = findServer(options({ configuredPath: path.join(root, 'missing/dagger-lsp') }));

        expect(result.command).toBeUndefined();
        expect(result.searched).toEqual([path.join(root, 'missing/dagger-lsp')]);
    });

    it('looks a configured bare name up in PATH', () => {
        const onPath = makeExecutable('opt/bin/archon-lsp');

        expect(findServer(options({ configuredPath: 'archon-lsp' })).command).toBe(onPath);
    });

    it('lists every searched place when nothing is found', () => {
        const result = findServer(options());

        expect(result.command).toBeUndefined();
        expect(result.searched).toEqual([
            path.join(root, 'project/.venv/bin/dagger-lsp'),
            path.join(root, 'home/.local/bin/dagger-lsp'),
            path.join(root, 'usr/bin/dagger-lsp'),
            path.join(root, 'opt/bin/dagger-lsp'),
        ]);
    });

    it('uses Scripts and .exe on Windows', () => {
        const result = findServer(options({ platform: 'win32', pathEnv: '' }));

        expect(result.searched[0]).toBe(path.join(root, 'project', '.venv', 'Scripts', 'dagger-lsp.exe'));
    });
});

describe('serverNotFoundMessage', () => {
    it('names the fix for a missing install', () => {
        const message = serverNotFoundMessage(findServer(options()), undefined);

        expect(message).toContain('archon.server.path');
        expect(message).toContain('pipx install');
    });

    it('names the wrong configured path', () => {
        const message = serverNotFoundMessage(findServer(options({ configuredPath: '/nowhere/lsp' })), '/nowhere/lsp');

        expect(message).toContain('"/nowhere/lsp"');
    });
});
