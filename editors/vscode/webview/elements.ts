// Turns the graph that archon.previewLLB returns into Cytoscape elements:
// one node per vertex, one parent node per component that groups the
// vertices it produced, and one edge from each input vertex to the vertex
// that consumes it. The graph's `edges` are references between components;
// they are listed in each component's details instead of drawn, because the
// vertex edges already show the same flow.

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
    /** Paths of the components this one refers to, as in `from: base`. */
    dependencies: string[];
    uri: string | undefined;
    range: LspRange | undefined;
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

    const dependencies = new Map<string, string[]>();
    for (const edge of graph.edges) {
        const list = dependencies.get(edge.from) ?? [];
        list.push(edge.to);
        dependencies.set(edge.from, list);
    }

    for (const component of graph.components) {
        componentPaths.add(component.path);
        const data: ComponentData = {
            id: COMPONENT_ID_PREFIX + component.path,
            label: component.path,
            isComponent: true,
            dependencies: dependencies.get(component.path) ?? [],
            uri: component.uri ?? undefined,
            range: component.range ?? undefined,
        };
        elements.push({ group: 'nodes', data, classes: 'component' });
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

    // Inputs that name no vertex of the graph are dropped: an edge needs
    // both ends, and the server lists every vertex it compiled.
    for (const vertex of graph.vertices) {
        for (const input of new Set(vertex.inputs)) {
            if (digests.has(input)) {
                const id = `${input}->${vertex.digest}`;
                elements.push({ group: 'edges', data: { id, source: input, target: vertex.digest } });
            }
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
