import { beforeEach, describe, expect, it, vi } from 'vitest';
import { historyItem, showHistory } from '../../src/history';

const ui = vi.hoisted(() => ({ clipboard: [] as string[], info: [] as string[], errors: [] as string[], pickIndex: 0 }));

vi.mock('../../src/vscodeapi', () => ({
    showQuickPick: async (items: unknown[]) => items[ui.pickIndex],
    writeClipboard: async (text: string) => {
        ui.clipboard.push(text);
    },
    showInformationMessage: async (message: string) => {
        ui.info.push(message);
        return undefined;
    },
    showErrorMessage: async (message: string) => {
        ui.errors.push(message);
        return undefined;
    },
}));

const RUN = { id: '12', environment: 'dev', status: 'succeeded', start: '2026-01-04T15:30:12+00:00', end: '2026-01-04T15:30:16.5+00:00' };

beforeEach(() => {
    ui.clipboard = [];
    ui.info = [];
    ui.errors = [];
    ui.pickIndex = 0;
});

describe('historyItem', () => {
    it('shows status, environment and duration', () => {
        const item = historyItem(RUN);

        expect(item.label).toBe('$(pass) 12');
        expect(item.description).toBe('dev · succeeded in 4.5 s');
    });

    it('leaves the duration out while a run is going', () => {
        expect(historyItem({ ...RUN, status: 'running', end: null }).description).toBe('dev · running');
    });

    it('copes with a start that was not recorded', () => {
        expect(historyItem({ ...RUN, start: null }).detail).toBe('start not recorded');
    });
});

describe('showHistory', () => {
    it('asks for the latest runs and copies the chosen id', async () => {
        const calls: Array<{ command: string; args: object }> = [];
        const server = {
            executeServerCommand: async <T>(command: string, args: object): Promise<T> => {
                calls.push({ command, args });
                return { runs: [RUN, { ...RUN, id: '11' }] } as T;
            },
        };
        ui.pickIndex = 1;

        await showHistory(server);

        expect(calls).toEqual([{ command: 'archon.history', args: { limit: 50 } }]);
        expect(ui.clipboard).toEqual(['11']);
    });

    it('says when there is no run', async () => {
        await showHistory({ executeServerCommand: async <T>() => ({ runs: [] }) as T });

        expect(ui.info).toEqual(['Archon: no run is recorded for this workspace yet.']);
    });

    it('shows a server error', async () => {
        await showHistory({
            executeServerCommand: async () => {
                throw new Error('no workspace found for the open folders');
            },
        });

        expect(ui.errors).toEqual(['Archon: loading the run history failed: no workspace found for the open folders']);
    });
});
