// Draws an LLB graph with Cytoscape and the dagre layered layout: vertices
// filled by op kind and outlined by last-run status, components as boxes
// around their vertices. Hovering shows a vertex's details, and a click
// posts a reveal message with its source range to the host.

import cytoscape, { type Core, type EventObject, type NodeSingular, type StylesheetJson } from 'cytoscape';
import dagre from 'cytoscape-dagre';
import type { LLBGraph, VertexStatus } from '../src/protocol';
import { VERTEX_STATUSES } from '../src/protocol';
import { type ComponentData, type VertexData, countByStatus, shortDigest, toElements } from './elements';
import type { Host } from './host';
import { type Palette, STATUS_BORDER_STYLES, STATUS_LABELS, readPalette } from './theme';

cytoscape.use(dagre);

/** Above this many vertices, panning draws a cached bitmap and hides edges. */
const LARGE_GRAPH_VERTICES = 300;

export interface GraphViewElements {
    container: HTMLElement;
    tooltip: HTMLElement;
    notice: HTMLElement;
    counts: HTMLElement;
    legend: HTMLElement;
}

function stylesheet(palette: Palette): StylesheetJson {
    const style: StylesheetJson = [
        {
            selector: 'node.vertex',
            style: {
                shape: 'round-rectangle',
                width: 'data(width)',
                height: 44,
                label: 'data(label)',
                'text-wrap': 'wrap',
                'text-valign': 'center',
                'text-halign': 'center',
                'font-family': palette.fontFamily,
                'font-size': 11,
                'min-zoomed-font-size': 7,
                color: palette.foreground,
                'background-color': palette.otherKind,
                'background-opacity': 0.28,
                'border-width': 3,
                'border-color': palette.statuses.unknown,
            },
        },
        {
            selector: 'node.component',
            style: {
                shape: 'round-rectangle',
                label: 'data(label)',
                'text-valign': 'top',
                'text-halign': 'center',
                'text-margin-y': -4,
                'font-family': palette.fontFamily,
                'font-size': 12,
                'font-weight': 'bold',
                color: palette.foreground,
                'background-color': palette.componentBackground,
                'background-opacity': 0.6,
                'border-width': 1,
                'border-color': palette.componentBorder,
                padding: '12px',
            },
        },
        {
            selector: 'node.component.alias',
            style: {
                shape: 'tag',
                width: 'data(width)',
                height: 24,
                padding: '8px',
                'text-valign': 'center',
                'text-margin-y': 0,
                'border-style': 'dashed',
            },
        },
        {
            selector: 'edge.alias',
            style: { 'line-style': 'dashed', 'target-arrow-shape': 'vee' },
        },
        {
            selector: 'node.vertex[?isRoot]',
            style: { shape: 'round-octagon', height: 52 },
        },
        {
            selector: 'edge',
            style: {
                width: 1.5,
                'curve-style': 'bezier',
                'line-color': palette.edge,
                'target-arrow-color': palette.edge,
                'target-arrow-shape': 'triangle',
                'arrow-scale': 0.9,
            },
        },
        {
            selector: 'node:selected',
            style: { 'overlay-color': palette.selection, 'overlay-opacity': 0.25, 'overlay-padding': 4 },
        },
        {
            selector: '.found',
            style: { 'underlay-color': palette.selection, 'underlay-opacity': 0.45, 'underlay-padding': 6 },
        },
    ];

    for (const [kind, color] of Object.entries(palette.kinds)) {
        style.push({ selector: `node.vertex[kind = "${kind}"]`, style: { 'background-color': color } });
    }
    for (const status of VERTEX_STATUSES) {
        style.push({
            selector: `node.vertex[status = "${status}"]`,
            style: {
                'border-color': palette.statuses[status],
                'border-style': STATUS_BORDER_STYLES[status],
                'border-width': borderWidth(status),
            },
        });
    }
    return style;
}

/** Border width in pixels: failed vertices stand out, unknown ones recede. */
function borderWidth(status: VertexStatus): number {
    if (status === 'failed') {
        return 6;
    }
    if (status === 'unknown') {
        return 2;
    }
    return 3;
}

function rangeText(data: VertexData | ComponentData): string {
    if (!data.uri || !data.range) {
        return 'no source range';
    }
    const file = decodeURIComponent(data.uri.slice(data.uri.lastIndexOf('/') + 1));
    return `${file}:${data.range.start.line + 1}:${data.range.start.character + 1}`;
}

export class GraphView {
    private cy: Core;
    private palette: Palette;

    constructor(
        private readonly elements: GraphViewElements,
        private readonly host: Host,
    ) {
        this.palette = readPalette();
        this.cy = this.createCore(false);
        this.renderLegend();
    }

    /** Replaces the drawn graph and fits it into the view. */
    show(graph: LLBGraph): void {
        this.hideTooltip();

        // Cytoscape reads the viewport options only when it is created, so a
        // new instance is made for each graph.
        this.cy.destroy();
        this.cy = this.createCore(graph.vertices.length > LARGE_GRAPH_VERTICES);
        this.cy.add(toElements(graph));
        this.cy
            .layout({ name: 'dagre', rankDir: 'TB', nodeSep: 24, rankSep: 48, edgeSep: 8, animate: false } as cytoscape.LayoutOptions)
            .run();
        this.fit();

        const counts = countByStatus(graph);
        const parts = VERTEX_STATUSES.filter((status) => counts[status] > 0).map(
            (status) => `${counts[status]} ${STATUS_LABELS[status]}`,
        );
        this.elements.counts.textContent = `${graph.vertices.length} vertices · ${parts.join(' · ')}`;
        this.setNotice(graph.vertices.length === 0 ? 'The configuration has no component, so the graph is empty.' : '');
    }

    setNotice(text: string, isError = false): void {
        this.elements.notice.textContent = text;
        this.elements.notice.classList.toggle('error', isError);
        this.elements.notice.hidden = text === '';
    }

    fit(): void {
        this.cy.fit(undefined, 24);
    }

    zoomBy(factor: number): void {
        const { width, height } = this.elements.container.getBoundingClientRect();
        this.cy.zoom({ level: this.cy.zoom() * factor, renderedPosition: { x: width / 2, y: height / 2 } });
    }

    /** Marks the vertices whose summary, component or digest contains the text, and fits them. */
    find(text: string): number {
        const needle = text.trim().toLowerCase();
        this.cy.elements().removeClass('found');
        if (needle === '') {
            this.setNotice('');
            return 0;
        }
        const matches = this.cy.nodes('.vertex').filter((node) => {
            const data = node.data() as VertexData;
            return [data.summary, data.component ?? '', data.id, data.kind].some((field) =>
                field.toLowerCase().includes(needle),
            );
        });
        matches.addClass('found');
        if (matches.length > 0) {
            this.cy.fit(matches, 48);
        }
        const noun = matches.length === 1 ? 'vertex matches' : 'vertices match';
        this.setNotice(`${matches.length} ${noun} "${text.trim()}"`);
        return matches.length;
    }

    /** Reads the theme's colors again and restyles the graph. */
    applyTheme(): void {
        this.palette = readPalette();
        this.cy.style(stylesheet(this.palette));
        this.renderLegend();
    }

    /** Center of a node in page coordinates, for tests that click it like a user. */
    nodeCenter(id: string): { x: number; y: number } | undefined {
        const node = this.cy.getElementById(id);
        if (node.empty()) {
            return undefined;
        }
        const position = node.renderedPosition();
        const box = this.elements.container.getBoundingClientRect();
        return { x: box.left + position.x, y: box.top + position.y };
    }

    private createCore(large: boolean): Core {
        const cy = cytoscape({
            container: this.elements.container,
            style: stylesheet(this.palette),
            minZoom: 0.05,
            maxZoom: 4,
            boxSelectionEnabled: false,
            autoungrabify: true,
            // On large graphs, pan and zoom move a bitmap of the graph and
            // hide edges until the gesture ends.
            textureOnViewport: large,
            hideEdgesOnViewport: large,
        });
        cy.on('mouseover', 'node', (event) => this.showTooltip(event));
        cy.on('mouseout', 'node', () => this.hideTooltip());
        cy.on('pan zoom', () => this.hideTooltip());
        cy.on('tap', 'node', (event) => this.reveal(event.target as NodeSingular));
        return cy;
    }

    private reveal(node: NodeSingular): void {
        const data = node.data() as VertexData | ComponentData;
        if (!data.uri || !data.range) {
            this.setNotice(`${data.label.replace('\n', ' ')} has no source range to open.`);
            return;
        }
        this.host.postMessage({ type: 'reveal', uri: data.uri, range: data.range });
    }

    private showTooltip(event: EventObject): void {
        const node = event.target as NodeSingular;
        const data = node.data() as VertexData | ComponentData;
        const rows: Array<[string, string]> =
            'isComponent' in data
                ? [
                      ['component', data.label],
                      ['uses', data.dependencies.join(', ') || '(nothing)'],
                      ['source', rangeText(data)],
                  ]
                : [
                      ['kind', data.kind],
                      ['status', STATUS_LABELS[data.status]],
                      ['summary', data.summary],
                      ['component', data.component ?? '(none)'],
                      ['digest', shortDigest(data.id)],
                      ['source', rangeText(data)],
                  ];

        // Built with textContent: summaries come from the configuration and
        // must not be read as HTML.
        const tooltip = this.elements.tooltip;
        tooltip.replaceChildren(
            ...rows.map(([name, value]) => {
                const row = document.createElement('div');
                const label = document.createElement('span');
                label.className = 'tooltip-name';
                label.textContent = name;
                const text = document.createElement('span');
                text.textContent = value;
                row.append(label, text);
                return row;
            }),
        );

        const box = this.elements.container.getBoundingClientRect();
        const position = event.renderedPosition ?? node.renderedPosition();
        tooltip.style.left = `${Math.min(box.left + position.x + 14, window.innerWidth - 340)}px`;
        tooltip.style.top = `${box.top + position.y + 14}px`;
        tooltip.hidden = false;
    }

    private hideTooltip(): void {
        this.elements.tooltip.hidden = true;
    }

    private renderLegend(): void {
        const legend = this.elements.legend;
        const entries: HTMLElement[] = [];

        // Kinds that share a color share one entry, as "merge / diff".
        const kindsByColor = new Map<string, string[]>();
        for (const [kind, color] of Object.entries(this.palette.kinds)) {
            kindsByColor.set(color, [...(kindsByColor.get(color) ?? []), kind]);
        }
        for (const [color, kinds] of kindsByColor) {
            entries.push(this.legendEntry(kinds.join(' / '), (swatch) => {
                swatch.style.backgroundColor = color;
            }));
        }
        for (const status of VERTEX_STATUSES as readonly VertexStatus[]) {
            entries.push(this.legendEntry(STATUS_LABELS[status], (swatch) => {
                swatch.classList.add('status');
                swatch.style.borderColor = this.palette.statuses[status];
                swatch.style.borderStyle = STATUS_BORDER_STYLES[status];
            }));
        }
        legend.replaceChildren(...entries);
    }

    private legendEntry(text: string, paint: (swatch: HTMLElement) => void): HTMLElement {
        const entry = document.createElement('span');
        entry.className = 'legend-entry';
        const swatch = document.createElement('span');
        swatch.className = 'swatch';
        paint(swatch);
        const label = document.createElement('span');
        label.textContent = text;
        entry.append(swatch, label);
        return entry;
    }
}
