// The page's only contact with VS Code. A browser test defines its own
// `acquireVsCodeApi` before the page loads and reads what the page posts.

import type { PageToHostMessage } from '../src/graphMessages';

export interface Host {
    postMessage(message: PageToHostMessage): void;
    getState<T>(): T | undefined;
    setState<T>(state: T): void;
}

interface VsCodeApi {
    postMessage(message: unknown): void;
    getState(): unknown;
    setState(state: unknown): void;
}

declare function acquireVsCodeApi(): VsCodeApi;

export function connectHost(): Host {
    const api = acquireVsCodeApi();
    return {
        postMessage: (message) => api.postMessage(message),
        getState: <T>() => api.getState() as T | undefined,
        setState: (state) => api.setState(state),
    };
}
