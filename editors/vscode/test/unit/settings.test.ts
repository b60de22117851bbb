import * as os from 'os';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { DEFAULT_MAX_RESTARTS, affectsAnySetting, getExtensionSettings, resolvePathSetting } from '../../src/settings';
import type { WorkspaceFolder } from 'vscode';
import { asVscode } from '../stubs/fakes';
import { Uri } from '../stubs/vscode';

const config = vi.hoisted(() => ({ values: {} as Record<string, unknown>, sections: [] as string[] }));

vi.mock('../../src/vscodeapi', () => ({
    getConfiguration: (section: string) => {
        config.sections.push(section);
        return { get: (key: string) => config.values[key] };
    },
}));

const folder = asVscode<WorkspaceFolder>({ uri: Uri.file('/work/project'), name: 'project', index: 0 });

beforeEach(() => {
    config.values = {};
    config.sections = [];
});

describe('getExtensionSettings', () => {
    it('reads the archon section', () => {
        getExtensionSettings();

        expect(config.sections).toEqual(['archon']);
    });

    it('uses defaults when nothing is set', () => {
        const settings = getExtensionSettings();

        expect(settings.server).toEqual({ path: undefined, args: [], maxRestarts: DEFAULT_MAX_RESTARTS });
        expect(settings.revealRunLog).toBe('onFailure');
        expect(settings.refreshGraphOnSave).toBe(true);
    });

    it('reads set values', () => {
        config.values = {
            'server.path': '/opt/archon/bin/dagger-lsp',
            'server.args': ['--log-level', 'debug'],
            'server.maxRestarts': 2,
            'run.revealLog': 'always',
            'graph.refreshOnSave': false,
        };

        const settings = getExtensionSettings(folder);

        expect(settings.server.path).toBe('/opt/archon/bin/dagger-lsp');
        expect(settings.server.args).toEqual(['--log-level', 'debug']);
        expect(settings.server.maxRestarts).toBe(2);
        expect(settings.revealRunLog).toBe('always');
        expect(settings.refreshGraphOnSave).toBe(false);
    });

    it('treats a blank path as unset', () => {
        config.values = { 'server.path': '   ' };

        expect(getExtensionSettings(folder).server.path).toBeUndefined();
    });

    it('resolves the path against the workspace folder', () => {
        config.values = { 'server.path': '${workspaceFolder}/tools/dagger-lsp' };

        expect(getExtensionSettings(folder).server.path).toBe('/work/project/tools/dagger-lsp');
    });

    it('falls back on values of the wrong type', () => {
        config.values = { 'server.args': '--verbose', 'server.maxRestarts': -1, 'run.revealLog': 'sometimes' };

        const settings = getExtensionSettings();

        expect(settings.server.args).toEqual([]);
        expect(settings.server.maxRestarts).toBe(DEFAULT_MAX_RESTARTS);
        expect(settings.revealRunLog).toBe('onFailure');
    });
});

describe('resolvePathSetting', () => {
    it('expands a leading tilde', () => {
        expect(resolvePathSetting('~/.local/bin/dagger-lsp', undefined, '/home/dev')).toBe('/home/dev/.local/bin/dagger-lsp');
    });

    it('expands userHome', () => {
        expect(resolvePathSetting('${userHome}/bin/dagger-lsp', undefined, '/home/dev')).toBe('/home/dev/bin/dagger-lsp');
    });

    it('resolves a relative path against the folder', () => {
        expect(resolvePathSetting('.venv/bin/dagger-lsp', '/work/project')).toBe('/work/project/.venv/bin/dagger-lsp');
    });

    it('keeps a bare name for the PATH search', () => {
        expect(resolvePathSetting('dagger-lsp', '/work/project')).toBe('dagger-lsp');
    });

    it('uses the real home directory by default', () => {
        expect(resolvePathSetting('~', undefined)).toBe(os.homedir());
    });
});

describe('affectsAnySetting', () => {
    it('matches a changed server setting', () => {
        const event = { affectsConfiguration: (key: string) => key === 'archon.server.args' };

        expect(affectsAnySetting(event, ['archon.server.path', 'archon.server.args'])).toBe(true);
    });

    it('ignores other settings', () => {
        const event = { affectsConfiguration: (key: string) => key === 'editor.fontSize' };

        expect(affectsAnySetting(event, ['archon.server.path'])).toBe(false);
    });
});
