// The HTML of the LLB graph page. Scripts run only with the per-load nonce
// and styles come only from the extension's own files, so the page loads
// nothing from the network and runs no injected script.

import { randomBytes } from 'crypto';

export interface GraphPageResources {
    /** The webview's `cspSource`: the origin its local resources are served from. */
    cspSource: string;
    scriptUri: string;
    styleUri: string;
    nonce: string;
}

export function makeNonce(): string {
    return randomBytes(18).toString('base64');
}

export function contentSecurityPolicy(cspSource: string, nonce: string): string {
    return [
        "default-src 'none'",
        `img-src ${cspSource} data:`,
        `style-src ${cspSource}`,
        `font-src ${cspSource}`,
        `script-src 'nonce-${nonce}'`,
    ].join('; ');
}

function escapeAttribute(value: string): string {
    return value.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;');
}

export function graphPageHtml(resources: GraphPageResources): string {
    const csp = escapeAttribute(contentSecurityPolicy(resources.cspSource, resources.nonce));
    const nonce = escapeAttribute(resources.nonce);

    // Cytoscape adds a <style> element with the id below unless an element
    // with that id exists. The CSP would block that element, so the page's
    // own stylesheet carries the id and the rule Cytoscape would add.
    return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="${csp}">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<link id="__________cytoscape_stylesheet" rel="stylesheet" href="${escapeAttribute(resources.styleUri)}">
<title>LLB graph</title>
</head>
<body>
<header class="toolbar">
  <span id="title" class="title">LLB graph</span>
  <span id="counts" class="counts"></span>
  <span class="spacer"></span>
  <input id="find" type="search" placeholder="Find vertex" aria-label="Find a vertex by summary, component or digest">
  <button id="zoom-in" type="button" title="Zoom in">+</button>
  <button id="zoom-out" type="button" title="Zoom out">&minus;</button>
  <button id="fit" type="button" title="Fit the whole graph">Fit</button>
  <button id="refresh" type="button" title="Preview the LLB graph again">Refresh</button>
</header>
<div id="legend" class="legend" aria-label="Legend"></div>
<main id="graph" class="graph"></main>
<div id="notice" class="notice" role="status"></div>
<div id="tooltip" class="tooltip" role="tooltip" hidden></div>
<script nonce="${nonce}" src="${escapeAttribute(resources.scriptUri)}"></script>
</body>
</html>
`;
}
