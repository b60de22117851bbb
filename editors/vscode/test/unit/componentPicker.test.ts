import { describe, expect, it, vi } from 'vitest';
import { orderComponents, pickComponent } from '../../src/componentPicker';
import type { GraphComponent } from '../../src/protocol';

const ui = vi.hoisted(() => ({ labels: [] as string[] }));

vi.mock('../../src/vscodeapi', () => ({
    showQuickPick: async (items: Array<{ label: string; path: string }>) => {
        ui.labels = items.map((item) => item.label);
        return items[0];
    },
}));

const URI = 'file:///w/main.cue';

function component(path: string, startLine: number, endLine: number, uri = URI): GraphComponent {
    return {
        path,
        digest: `sha256:${path}`,
        uri,
        range: { start: { line: startLine, character: 0 }, end: { line: endLine, character: 1 } },
    };
}

const COMPONENTS = [
    component('stages', 0, 30),
    component('base', 32, 34),
    component('stages.build', 5, 12),
    component('lib', 1, 3, 'file:///w/lib.cue'),
];

describe('orderComponents', () => {
    it('puts the innermost enclosing component first', () => {
        const order = orderComponents(COMPONENTS, URI, { line: 7, character: 3 });

        expect(order.map((item) => item.path)).toEqual(['stages.build', 'stages', 'base', 'lib']);
    });

    it('sorts by path without a position', () => {
        const order = orderComponents(COMPONENTS, URI, undefined);

        expect(order.map((item) => item.path)).toEqual(['base', 'lib', 'stages', 'stages.build']);
    });

    it('ignores ranges of other documents', () => {
        const order = orderComponents(COMPONENTS, URI, { line: 2, character: 0 });

        expect(order[0].path).toBe('stages');
    });
});

describe('pickComponent', () => {
    it('offers the components of archon.previewLLB', async () => {
        const calls: Array<{ command: string; args: object }> = [];
        const server = {
            executeServerCommand: async <T>(command: string, args: object): Promise<T> => {
                calls.push({ command, args });
                return { vertices: [], edges: [], components: COMPONENTS, root: '' } as T;
            },
        };

        const chosen = await pickComponent(server, URI, { line: 33, character: 0 });

        expect(calls).toEqual([{ command: 'archon.previewLLB', args: { uri: URI } }]);
        expect(chosen).toBe('base');
        expect(ui.labels).toHaveLength(4);
    });

    it('explains a document without components', async () => {
        const server = {
            executeServerCommand: async <T>(): Promise<T> => ({ vertices: [], edges: [], components: [], root: '' }) as T,
        };

        await expect(pickComponent(server, URI, undefined)).rejects.toThrow('has no component');
    });
});
