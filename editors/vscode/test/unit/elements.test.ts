import * as fs from 'fs';
import { describe, expect, it } from 'vitest';
import type { LLBGraph } from '../../src/protocol';
import { COMPONENT_ID_PREFIX, countByStatus, shortDigest, toElements, truncate } from '../../webview/elements';

// A hand-written graph in the shape of the archon.previewLLB contract,
// modelled on examples/hello.
const FIXTURE: LLBGraph = JSON.parse(
    fs.readFileSync(new URL('../fixtures/hello-graph.fixture.json', import.meta.url), 'utf8'),
);

function nodes(graph: LLBGraph) {
    return toElements(graph).filter((element) => element.group === 'nodes');
}

function edges(graph: LLBGraph) {
    return toElements(graph).filter((element) => element.group === 'edges');
}

describe('toElements', () => {
    it('makes one node per vertex and component', () => {
        expect(nodes(FIXTURE)).toHaveLength(FIXTURE.vertices.length + FIXTURE.components.length);
    });

    it('draws an edge listed in edges only once', () => {
        expect(FIXTURE.edges.length).toBeGreaterThan(0);
        expect(edges(FIXTURE).map((element) => element.data.id)).toEqual([...new Set(edges(FIXTURE).map((element) => element.data.id))]);
    });

    it('draws edges from inputs when edges is empty', () => {
        expect(edges({ ...FIXTURE, edges: [] })).toHaveLength(edges(FIXTURE).length);
    });

    it('makes one edge per input', () => {
        const inputCount = FIXTURE.vertices.reduce((sum, vertex) => sum + vertex.inputs.length, 0);

        expect(edges(FIXTURE)).toHaveLength(inputCount);
    });

    it('points edges from the input to its consumer', () => {
        const exec = FIXTURE.vertices.find((vertex) => vertex.summary === 'exec make hello');
        const edge = edges(FIXTURE).find((element) => element.data.target === exec?.digest);

        expect(edge?.data.source).toBe(exec?.inputs[0]);
    });

    it('puts a vertex inside its component', () => {
        const exec = nodes(FIXTURE).find((element) => element.data.summary === 'exec make hello');

        expect(exec?.data.parent).toBe(`${COMPONENT_ID_PREFIX}build`);
    });

    it('leaves a vertex without component at the top level', () => {
        const root = nodes(FIXTURE).find((element) => element.data.id === FIXTURE.root);

        expect(root?.data.parent).toBeUndefined();
        expect(root?.data.isRoot).toBe(true);
    });

    it('lists what each component uses', () => {
        const build = nodes(FIXTURE).find((element) => element.data.id === `${COMPONENT_ID_PREFIX}build`);

        expect(build?.data.dependencies).toEqual(['toolchain', 'source', 'library']);
    });

    it('draws a component without vertices as an alias of its digest', () => {
        const exec = FIXTURE.vertices.find((vertex) => vertex.summary === 'exec make hello');
        const graph: LLBGraph = {
            ...FIXTURE,
            components: [...FIXTURE.components, { path: 'version', digest: exec?.digest ?? '', uri: null, range: null }],
        };

        const alias = nodes(graph).find((element) => element.data.id === `${COMPONENT_ID_PREFIX}version`);
        const edge = edges(graph).find((element) => element.data.source === `${COMPONENT_ID_PREFIX}version`);
        expect(alias?.classes).toBe('component alias');
        expect(edge?.data.target).toBe(exec?.digest);
    });

    it('drops inputs that name no vertex', () => {
        const graph: LLBGraph = {
            root: 'sha256:b',
            components: [],
            edges: [],
            vertices: [
                { digest: 'sha256:b', kind: 'exec', summary: 'exec true', status: 'ran', inputs: ['sha256:gone'] },
            ],
        };

        expect(edges(graph)).toHaveLength(0);
    });

    it('treats an unknown status as unknown', () => {
        const graph = {
            root: 'sha256:a',
            components: [],
            edges: [],
            vertices: [{ digest: 'sha256:a', kind: 'source', summary: 'local://src', status: 'queued', inputs: [] }],
        } as unknown as LLBGraph;

        expect(nodes(graph)[0].data.status).toBe('unknown');
    });

    it('keeps a vertex whose parent component is not listed', () => {
        const graph: LLBGraph = {
            root: 'sha256:a',
            components: [],
            edges: [],
            vertices: [{ digest: 'sha256:a', kind: 'source', summary: 's', component: 'ghost', status: 'ran', inputs: [] }],
        };

        expect(nodes(graph)[0].data.parent).toBeUndefined();
    });
});

describe('label helpers', () => {
    it('shortens digests to 12 hex digits', () => {
        expect(shortDigest(`sha256:${'0123456789abcdef'.repeat(4)}`)).toBe('0123456789ab');
    });

    it('truncates long summaries with an ellipsis', () => {
        expect(truncate('exec make hello', 8)).toBe('exec ma…');
    });

    it('counts vertices by status', () => {
        expect(countByStatus(FIXTURE)).toEqual({ cached: 3, ran: 3, failed: 1, 'will-rebuild': 1, unknown: 1 });
    });
});
