// Messages between the extension and the LLB graph page. The page runs in a
// webview, so everything it posts is checked before the extension acts on it.

import type { LLBGraph, LspRange } from './protocol';

export type HostToPageMessage =
    | { type: 'loading'; documentUri: string }
    | { type: 'graph'; documentUri: string; graph: LLBGraph }
    | { type: 'error'; documentUri: string; message: string };

export type PageToHostMessage =
    | { type: 'ready' }
    | { type: 'refresh' }
    | { type: 'reveal'; uri: string; range: LspRange };

function isNonNegativeInteger(value: unknown): value is number {
    return typeof value === 'number' && Number.isInteger(value) && value >= 0;
}

export function isLspRange(value: unknown): value is LspRange {
    const range = value as LspRange | null;
    return (
        typeof range === 'object' &&
        range !== null &&
        isNonNegativeInteger(range.start?.line) &&
        isNonNegativeInteger(range.start?.character) &&
        isNonNegativeInteger(range.end?.line) &&
        isNonNegativeInteger(range.end?.character)
    );
}

export function isPageToHostMessage(value: unknown): value is PageToHostMessage {
    const message = value as { type?: unknown; uri?: unknown; range?: unknown } | null;
    if (typeof message !== 'object' || message === null) {
        return false;
    }
    switch (message.type) {
        case 'ready':
        case 'refresh':
            return true;
        case 'reveal':
            return typeof message.uri === 'string' && message.uri !== '' && isLspRange(message.range);
        default:
            return false;
    }
}
