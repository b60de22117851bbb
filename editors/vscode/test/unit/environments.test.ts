import { beforeEach, describe, expect, it, vi } from 'vitest';
import { EnvironmentController } from '../../src/environments';
import type { EnvironmentList } from '../../src/protocol';
import { environmentStatusText, formatDuration, runStatusText } from '../../src/statusText';
import { FakeStatusBarItem, asVscode } from '../stubs/fakes';

const ui = vi.hoisted(() => ({
    pick: undefined as ((items: Array<{ label: string; name: string }>) => unknown) | undefined,
    pickedItems: [] as Array<{ label: string; picked?: boolean }>,
    errors: [] as string[],
}));

vi.mock('../../src/vscodeapi', () => ({
    showQuickPick: async (items: Array<{ label: string; name: string; picked?: boolean }>) => {
        ui.pickedItems = items;
        return ui.pick?.(items);
    },
    showErrorMessage: async (message: string) => {
        ui.errors.push(message);
        return undefined;
    },
    showInformationMessage: async () => undefined,
}));

const LIST: EnvironmentList = {
    environments: [
        { name: 'dev', plan: './plans/dev', default: true },
        { name: 'staging', plan: './plans/deploy', default: false },
        { name: 'prod', plan: './plans/deploy', default: false },
    ],
    selected: null,
};

class FakeServer {
    list: EnvironmentList = structuredClone(LIST);
    readonly calls: Array<{ command: string; args: object }> = [];
    failSelect = false;

    async executeServerCommand<T>(command: string, args: object): Promise<T> {
        this.calls.push({ command, args });
        if (command === 'archon.selectEnvironment') {
            if (this.failSelect) {
                throw new Error('environment "prod" has no plan file');
            }
            this.list.selected = (args as { name: string }).name;
            return null as T;
        }
        return structuredClone(this.list) as T;
    }
}

let server: FakeServer;
let status: FakeStatusBarItem;

beforeEach(() => {
    server = new FakeServer();
    status = new FakeStatusBarItem();
    ui.pick = undefined;
    ui.pickedItems = [];
    ui.errors = [];
});

describe('environmentStatusText', () => {
    it('shows the selected environment', () => {
        expect(environmentStatusText({ ...LIST, selected: 'staging' }).text).toBe('$(server-environment) staging');
    });

    it('marks the default when none is selected', () => {
        expect(environmentStatusText(LIST).text).toBe('$(server-environment) dev (default)');
    });

    it('ignores a selected name that is not listed', () => {
        expect(environmentStatusText({ ...LIST, selected: 'gone' }).text).toBe('$(server-environment) dev (default)');
    });

    it('says when there is no environment', () => {
        expect(environmentStatusText({ environments: [], selected: null }).text).toBe(
            '$(server-environment) no environment',
        );
    });

    it('shows a placeholder before loading', () => {
        expect(environmentStatusText(undefined).text).toBe('$(server-environment) Archon');
    });
});

describe('EnvironmentController', () => {
    it('shows the item with its command', () => {
        new EnvironmentController(server, asVscode(status));

        expect(status.visible).toBe(true);
        expect(status.command).toBe('archon.chooseEnvironment');
    });

    it('shows the default after refresh', async () => {
        const environments = new EnvironmentController(server, asVscode(status));

        await environments.refresh();

        expect(status.text).toBe('$(server-environment) dev (default)');
        expect(environments.current).toBe('dev');
    });

    it('selects the picked environment', async () => {
        const environments = new EnvironmentController(server, asVscode(status));
        ui.pick = (items) => items.find((item) => item.label === 'staging');

        const chosen = await environments.choose();

        expect(chosen).toBe('staging');
        expect(server.calls.at(-1)).toEqual({ command: 'archon.selectEnvironment', args: { name: 'staging' } });
        expect(status.text).toBe('$(server-environment) staging');
        expect(environments.current).toBe('staging');
    });

    it('marks the current environment in the quick pick', async () => {
        const environments = new EnvironmentController(server, asVscode(status));

        await environments.choose();

        expect(ui.pickedItems.filter((item) => item.picked).map((item) => item.label)).toEqual(['dev']);
    });

    it('keeps the status when the pick is dismissed', async () => {
        const environments = new EnvironmentController(server, asVscode(status));

        await environments.choose();

        expect(server.calls.map((call) => call.command)).toEqual(['archon.listEnvironments']);
        expect(status.text).toBe('$(server-environment) dev (default)');
    });

    it('shows the error of a failed selection', async () => {
        const environments = new EnvironmentController(server, asVscode(status));
        server.failSelect = true;
        ui.pick = (items) => items.find((item) => item.label === 'prod');

        await environments.choose();

        expect(ui.errors).toEqual(['Archon: selecting an environment failed: environment "prod" has no plan file']);
        expect(status.text).toBe('$(server-environment) dev (default)');
    });
});

describe('run status text', () => {
    it('formats durations', () => {
        expect(formatDuration(850)).toBe('850 ms');
        expect(formatDuration(12_340)).toBe('12.3 s');
        expect(formatDuration(125_000)).toBe('2 min 5 s');
    });

    it('summarizes a successful run with its exports', () => {
        const text = runStatusText(
            { runId: 'r9', status: 'succeeded', durationMs: 3200, failures: [], exports: { version: '1.0' } },
            'the plan',
        );

        expect(text.text).toBe('$(pass) Archon: succeeded in 3.2 s');
        expect(text.tooltip).toContain('Exports: version');
    });

    it('counts failed components', () => {
        const failures = [
            { component: 'a', message: 'x' },
            { component: 'b', message: 'y' },
        ];
        const text = runStatusText({ runId: 'r9', status: 'failed', durationMs: 10, failures, exports: {} }, 'the plan');

        expect(text.text).toBe('$(error) Archon: 2 components failed');
        expect(text.tooltip).toContain('a, b');
    });
});
