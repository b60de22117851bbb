// Turns the graph that archon.previewLLB returns into Cytoscape elements:
// one node per vertex, one parent node per component that groups the
// vertices it produced, and one edge from each input vertex to the vertex
// that consumes it.

import type { ElementDefinition } from 'cytoscape';
import type { GraphVertex, LLBGraph, LspRange, VertexStatus } from '../src/protocol';
import { VERTEX_STATUSES } from '../src/protocol';

export const MAX_LABEL_CHARS = 40;

/** Prefix of a component's parent node id, which cannot clash with a digest. */
export const COMPONENT_ID_PREFIX = 'component:';

export interface VertexData {
    id: string;
    label: string;
    kind: string;
    status: VertexStatus;
    summary: string;
    component: string | undefined;
    uri: string | undefined;
    range: LspRange | undefined;
    isRoot: boolean;
    parent?: string;
    width: number;
}

export interface ComponentData {
    id: string;
    label: string;
    isComponent: true;
    /** Paths of the other components whose vertices feed this one's. */
    dependencies: string[];
    uri: string | undefined;
    range: LspRange | undefined;
    /** Node width in CSS pixels; only alias nodes, drawn outside a box, have one. */
    width?: number;
}

export function shortDigest(digest: string): string {
    return digest.replace(/^sha256:/, '').slice(0, 12);
}

export function truncate(text: string, limit = MAX_LABEL_CHARS): string {
    return text.length <= limit ? text : `${text.slice(0, limit - 1)}…`;
}

function vertexLabel(vertex: GraphVertex): string {
    const summary = vertex.summary.trim() || shortDigest(vertex.digest);
    return `${vertex.kind}\n${truncate(summary)}`;
}

/** Estimated node width in CSS pixels: wide enough for the longest label line. */
function labelWidth(label: string): number {
    const longest = Math.max(...label.split('\n').map((line) => line.length));
    return Math.min(320, Math.max(80, longest * 7 + 24));
}

function statusOf(vertex: GraphVertex): VertexStatus {
    return VERTEX_STATUSES.includes(vertex.status) ? vertex.status : 'unknown';
}

export function toElements(graph: LLBGraph): ElementDefinition[] {
    const digests = new Set(graph.vertices.map((vertex) => vertex.digest));
    const componentPaths = new Set<string>();
    const elements: ElementDefinition[] = [];

    // A component depends on another when one of its vertices consumes a
    // vertex of the other.
    const componentOf = new Map(graph.vertices.map((vertex) => [vertex.digest, vertex.component ?? undefined]));
    const dependencies = new Map<string, Set<string>>();
    for (const vertex of graph.vertices) {
        const consumer = vertex.component ?? undefined;
        for (const input of vertex.inputs) {
            const producer = componentOf.get(input);
            if (consumer !== undefined && producer !== undefined && producer !== consumer) {
                dependencies.set(consumer, (dependencies.get(consumer) ?? new Set()).add(producer));
            }
        }
    }

    // A component whose ops all compiled to vertices of other components
    // (an `export`, or ops identical to another component's) owns no
    // vertex. It is drawn as a small node with a dashed edge to the vertex
    // it ends on, instead of as an empty box.
    const owners = new Set(graph.vertices.map((vertex) => vertex.component ?? undefined));
    for (const component of graph.components) {
        const owned = owners.has(component.path);
        const data: ComponentData = {
            id: COMPONENT_ID_PREFIX + component.path,
            label: component.path,
            isComponent: true,
            dependencies: [...(dependencies.get(component.path) ?? [])],
            uri: component.uri ?? undefined,
            range: component.range ?? undefined,
        };
        if (owned) {
            componentPaths.add(component.path);
            elements.push({ group: 'nodes', data, classes: 'component' });
            continue;
        }
        data.width = labelWidth(component.path);
        elements.push({ group: 'nodes', data, classes: 'component alias' });
        if (digests.has(component.digest)) {
            elements.push({
                group: 'edges',
                data: { id: `${data.id}->${component.digest}`, source: data.id, target: component.digest },
                classes: 'alias',
            });
        }
    }

    for (const vertex of graph.vertices) {
        const label = vertexLabel(vertex);
        const component = vertex.component ?? undefined;
        const data: VertexData = {
            id: vertex.digest,
            label,
            kind: vertex.kind,
            status: statusOf(vertex),
            summary: vertex.summary,
            component,
            uri: vertex.uri ?? undefined,
            range: vertex.range ?? undefined,
            isRoot: vertex.digest === graph.root,
            width: labelWidth(label),
        };
        if (component !== undefined && componentPaths.has(component)) {
            data.parent = COMPONENT_ID_PREFIX + component;
        }
        elements.push({ group: 'nodes', data, classes: 'vertex' });
    }

    // `edges` and the vertices' `inputs` carry the same references; taking
    // both keeps the drawing whole if a server fills only one. An edge to a
    // digest that is not a vertex of the graph is dropped.
    const edgeIds = new Set<string>();
    const addEdge = (from: string, to: string): void => {
        const id = `${from}->${to}`;
        if (edgeIds.has(id) || !digests.has(from) || !digests.has(to)) {
            return;
        }
        edgeIds.add(id);
        elements.push({ group: 'edges', data: { id, source: from, target: to } });
    };
    for (const edge of graph.edges) {
        addEdge(edge.from, edge.to);
    }
    for (const vertex of graph.vertices) {
        for (const input of vertex.inputs) {
            addEdge(input, vertex.digest);
        }
    }
    return elements;
}

/** Counts vertices by status, for the toolbar. */
export function countByStatus(graph: LLBGraph): Record<VertexStatus, number> {
    const counts: Record<VertexStatus, number> = { cached: 0, ran: 0, failed: 0, 'will-rebuild': 0, unknown: 0 };
    for (const vertex of graph.vertices) {
        counts[statusOf(vertex)] += 1;
    }
    return counts;
}
