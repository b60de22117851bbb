// Entry point of the LLB graph page: connects the toolbar, the host's
// messages and the graph view.

import type { HostToPageMessage } from '../src/graphMessages';
import type { LLBGraph } from '../src/protocol';
import { GraphView } from './graphView';
import { connectHost } from './host';

interface PageState {
    documentUri: string;
    graph: LLBGraph;
}

declare global {
    interface Window {
        /** The page's graph view; browser tests read node positions through it. */
        archonGraph?: GraphView;
    }
}

function element<T extends HTMLElement>(id: string): T {
    const found = document.getElementById(id);
    if (found === null) {
        throw new Error(`The LLB graph page has no element with id "${id}".`);
    }
    return found as T;
}

function fileName(uri: string): string {
    return decodeURIComponent(uri.slice(uri.lastIndexOf('/') + 1));
}

function main(): void {
    const host = connectHost();
    const title = element('title');
    const view = new GraphView(
        {
            container: element('graph'),
            tooltip: element('tooltip'),
            notice: element('notice'),
            counts: element('counts'),
            legend: element('legend'),
        },
        host,
    );
    window.archonGraph = view;

    element('fit').addEventListener('click', () => view.fit());
    element('zoom-in').addEventListener('click', () => view.zoomBy(1.25));
    element('zoom-out').addEventListener('click', () => view.zoomBy(0.8));
    element('refresh').addEventListener('click', () => host.postMessage({ type: 'refresh' }));
    const find = element<HTMLInputElement>('find');
    find.addEventListener('input', () => view.find(find.value));

    // VS Code marks the theme kind with a class on <body> and replaces the
    // CSS variables at the same time.
    new MutationObserver(() => view.applyTheme()).observe(document.body, { attributes: true, attributeFilter: ['class'] });

    const render = (state: PageState): void => {
        title.textContent = `LLB graph of ${fileName(state.documentUri)}`;
        view.show(state.graph);
    };

    window.addEventListener('message', (event: MessageEvent<HostToPageMessage>) => {
        const message = event.data;
        switch (message?.type) {
            case 'loading':
                view.setNotice(`Previewing ${fileName(message.documentUri)}…`);
                break;
            case 'graph':
                host.setState<PageState>({ documentUri: message.documentUri, graph: message.graph });
                render(message);
                break;
            case 'error':
                view.setNotice(`Preview of ${fileName(message.documentUri)} failed: ${message.message}`, true);
                break;
        }
    });

    // A page that VS Code reloads after it was hidden starts from its saved
    // state and then posts `ready`, so that the host sends the latest one.
    const saved = host.getState<PageState>();
    if (saved?.graph) {
        render(saved);
    }
    host.postMessage({ type: 'ready' });
}

main();
