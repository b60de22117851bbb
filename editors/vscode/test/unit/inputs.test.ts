import { beforeEach, describe, expect, it, vi } from 'vitest';
import { inputAtLine, setInput, validateJson } from '../../src/inputs';

const ui = vi.hoisted(() => ({
    inputBoxes: [] as Array<{ title?: string; value?: string; password?: boolean }>,
    inputAnswers: [] as Array<string | undefined>,
    quickPicks: [] as Array<Array<{ label: string }>>,
    pickLabels: [] as string[],
    line: 'token: op.#Secret @input()',
    errors: [] as string[],
}));

vi.mock('../../src/vscodeapi', () => ({
    getActiveTextEditor: () => ({
        document: { lineAt: () => ({ text: ui.line }) },
        selection: { active: { line: 0 } },
    }),
    showInputBox: async (options: { title?: string; value?: string; password?: boolean }) => {
        ui.inputBoxes.push(options);
        return ui.inputAnswers.shift();
    },
    showQuickPick: async (items: Array<{ label: string }>) => {
        ui.quickPicks.push(items);
        const label = ui.pickLabels.shift();
        return items.find((item) => item.label === label);
    },
    showOpenDialog: async () => undefined,
    showErrorMessage: async (message: string) => {
        ui.errors.push(message);
        return undefined;
    },
    showInformationMessage: async () => undefined,
}));

class FakeServer {
    readonly calls: Array<{ command: string; args: object }> = [];

    async executeServerCommand<T>(command: string, args: object): Promise<T> {
        this.calls.push({ command, args });
        return null as T;
    }
}

beforeEach(() => {
    ui.inputBoxes = [];
    ui.inputAnswers = [];
    ui.quickPicks = [];
    ui.pickLabels = [];
    ui.errors = [];
    ui.line = 'token: op.#Secret @input()';
});

describe('inputAtLine', () => {
    it.each([
        ['source: op.#Dir @input()', 'source', 'dir'],
        ['\ttoken: op.#Secret @input()', 'token', 'secret'],
        ['greeting: string @input()', 'greeting', 'text'],
        ['level: *"info" | string @input()', 'level', 'text'],
        ['dryRun: bool | *false @input()', 'dryRun', 'bool'],
        ['"app-version": string @input()', 'app-version', 'text'],
        ['config: {...} @input()', 'config', undefined],
    ])('reads %j', (line, name, kind) => {
        expect(inputAtLine(line)).toEqual({ name, kind });
    });

    it('ignores fields without @input', () => {
        expect(inputAtLine('dist: {#up: []} @output(dir="dist")')).toBeUndefined();
    });
});

describe('validateJson', () => {
    it('accepts JSON', () => {
        expect(validateJson('{"replicas": 3}')).toBeUndefined();
    });

    it('explains invalid JSON', () => {
        expect(validateJson('{replicas: 3}')).toMatch(/^Invalid JSON: /);
    });
});

describe('setInput', () => {
    it('asks for a secret in a password box', async () => {
        const server = new FakeServer();
        ui.inputAnswers = ['token', 's3cr3t'];
        ui.pickLabels = ['secret'];

        await setInput(server);

        expect(ui.inputBoxes[1].password).toBe(true);
        expect(server.calls).toEqual([
            { command: 'archon.setInput', args: { name: 'token', kind: 'secret', value: 's3cr3t' } },
        ]);
    });

    it('proposes the name and kind of the line under the cursor', async () => {
        ui.line = 'source: op.#Dir @input()';

        await setInput(new FakeServer());

        expect(ui.inputBoxes[0].value).toBe('source');
    });

    it('offers the guessed kind first', async () => {
        ui.line = 'source: op.#Dir @input()';
        ui.inputAnswers = ['source'];

        await setInput(new FakeServer());

        expect(ui.quickPicks[0][0].label).toBe('dir');
    });

    it('sends a bool from the quick pick', async () => {
        const server = new FakeServer();
        ui.inputAnswers = ['dryRun'];
        ui.pickLabels = ['bool', 'false'];

        await setInput(server);

        expect(server.calls[0].args).toEqual({ name: 'dryRun', kind: 'bool', value: 'false' });
    });

    it('sends nothing when the user stops', async () => {
        const server = new FakeServer();
        ui.inputAnswers = ['token'];
        ui.pickLabels = ['secret'];

        const result = await setInput(server);

        expect(result).toBeUndefined();
        expect(server.calls).toEqual([]);
    });

    it('shows the error of a rejected input', async () => {
        const server = new FakeServer();
        server.executeServerCommand = async () => {
            throw new Error('no input named "tokn"; did you mean "token"?');
        };
        ui.inputAnswers = ['tokn', 'x'];
        ui.pickLabels = ['text'];

        await setInput(server);

        expect(ui.errors).toEqual(['Archon: setting input tokn failed: no input named "tokn"; did you mean "token"?']);
    });
});
