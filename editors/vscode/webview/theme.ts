// Colors of the graph, read from the CSS variables VS Code sets for the
// current theme. Cytoscape draws on a canvas and needs concrete colors, so
// the variables are read here and read again when the theme changes. The
// fallbacks are VS Code's Dark Modern values, used in a plain browser.

import type { VertexStatus } from '../src/protocol';

export interface Palette {
    foreground: string;
    background: string;
    edge: string;
    selection: string;
    componentBackground: string;
    componentBorder: string;
    fontFamily: string;
    kinds: Record<string, string>;
    otherKind: string;
    statuses: Record<VertexStatus, string>;
}

type ColorSource = [cssVariable: string, fallback: string];

/** LLB op kinds with their own fill color; any other kind gets `otherKind`. */
export const KIND_COLORS: Record<string, ColorSource> = {
    source: ['--vscode-charts-blue', '#3794ff'],
    exec: ['--vscode-charts-purple', '#b180d7'],
    file: ['--vscode-terminal-ansiCyan', '#11a8cd'],
    build: ['--vscode-charts-orange', '#d18616'],
    merge: ['--vscode-terminal-ansiMagenta', '#bc3fbc'],
    diff: ['--vscode-terminal-ansiMagenta', '#bc3fbc'],
};

export const STATUS_COLORS: Record<VertexStatus, ColorSource> = {
    cached: ['--vscode-descriptionForeground', '#9d9d9d'],
    ran: ['--vscode-testing-iconPassed', '#73c991'],
    failed: ['--vscode-testing-iconFailed', '#f14c4c'],
    'will-rebuild': ['--vscode-editorWarning-foreground', '#cca700'],
    unknown: ['--vscode-disabledForeground', '#6e7681'],
};

/** Border line style per status, so status reads without color too. */
export const STATUS_BORDER_STYLES: Record<VertexStatus, 'solid' | 'dashed' | 'dotted' | 'double'> = {
    cached: 'dashed',
    ran: 'solid',
    failed: 'double',
    'will-rebuild': 'dotted',
    unknown: 'solid',
};

export const STATUS_LABELS: Record<VertexStatus, string> = {
    cached: 'cached',
    ran: 'ran',
    failed: 'failed',
    'will-rebuild': 'will rebuild',
    unknown: 'unknown',
};

export function readPalette(element: Element = document.documentElement): Palette {
    const style = getComputedStyle(element);
    const read = ([variable, fallback]: ColorSource): string => style.getPropertyValue(variable).trim() || fallback;

    const kinds: Record<string, string> = {};
    for (const [kind, source] of Object.entries(KIND_COLORS)) {
        kinds[kind] = read(source);
    }
    const statuses = {} as Record<VertexStatus, string>;
    for (const [status, source] of Object.entries(STATUS_COLORS) as Array<[VertexStatus, ColorSource]>) {
        statuses[status] = read(source);
    }

    return {
        foreground: read(['--vscode-editor-foreground', '#cccccc']),
        background: read(['--vscode-editor-background', '#1f1f1f']),
        edge: read(['--vscode-editorLineNumber-foreground', '#6e7681']),
        selection: read(['--vscode-focusBorder', '#0078d4']),
        componentBackground: read(['--vscode-editorWidget-background', '#202020']),
        componentBorder: read(['--vscode-widget-border', '#454545']),
        fontFamily: read(['--vscode-font-family', 'system-ui, sans-serif']),
        kinds,
        otherKind: read(['--vscode-charts-foreground', '#cccccc']),
        statuses,
    };
}
