import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { fileURLToPath } from 'url';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PageToHostMessage } from '../../src/graphMessages';
import type { GraphVertex, LLBGraph } from '../../src/protocol';
import { graphPageHtml, makeNonce } from '../../src/webviewHtml';
import { openHelloWorkspace, previewHello } from '../support/lsp';

// Renders the LLB graph page in headless Chromium, as VS Code's webview
// would: the page's real HTML and Content-Security-Policy, the bundled
// script and stylesheet from out/webview, and a stand-in for
// acquireVsCodeApi that records what the page posts.

const EXTENSION_ROOT = path.resolve(fileURLToPath(new URL('.', import.meta.url)), '..', '..');
const WEBVIEW_DIR = path.join(EXTENSION_ROOT, 'out', 'webview');
const OUTPUT_DIR = path.join(EXTENSION_ROOT, 'test-output');
const SCREENSHOT = path.join(OUTPUT_DIR, 'graph.png');
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

// The webview origin the page is served from. Requests to it are served
// from out/webview, and every other request is aborted and recorded.
const ORIGIN = 'https://webview.test';

const CHROMIUM_FLAGS = [
    '--headless',
    '--no-sandbox',
    '--disable-gpu',
    '--disable-quic',
    '--no-first-run',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
];

interface GraphSource {
    graph: LLBGraph;
    documentUri: string;
    origin: string;
}

/**
 * Returns the graph dagger-lsp previews for examples/hello, or the fixture
 * in the same shape while the server cannot produce one.
 */
async function loadGraph(): Promise<GraphSource> {
    const hello = await openHelloWorkspace();
    if (!hello.ok) {
        console.warn(`Graph page test uses test/fixtures/hello-graph.fixture.json: ${hello.reason}`);
        const file = path.join(EXTENSION_ROOT, 'test', 'fixtures', 'hello-graph.fixture.json');
        const graph = JSON.parse(fs.readFileSync(file, 'utf8')) as LLBGraph;
        return { graph, documentUri: graph.components[0]?.uri ?? 'file:///hello/main.cue', origin: 'fixture' };
    }
    try {
        const graph = await previewHello(hello);
        return { graph, documentUri: hello.mainUri, origin: `dagger-lsp (${hello.server.command})` };
    } finally {
        await hello.server.stop();
        fs.rmSync(hello.folder, { recursive: true, force: true });
    }
}

const chromiumMissing = !fs.existsSync(CHROMIUM);
if (chromiumMissing) {
    console.warn(`SKIPPED graph page tests: ${CHROMIUM} not found; install it with "apt-get install -y chromium" or set CHROMIUM_PATH`);
}

describe.skipIf(chromiumMissing)('LLB graph page in Chromium', () => {
    let source: GraphSource;
    let profileDir: string;
    let context: BrowserContext;
    let page: Page;
    const blockedRequests: string[] = [];
    const pageErrors: string[] = [];

    beforeAll(async () => {
        if (!fs.existsSync(path.join(WEBVIEW_DIR, 'graph.js'))) {
            throw new Error(`${WEBVIEW_DIR}/graph.js is missing: run "npm run build" before the tests`);
        }
        source = await loadGraph();
        console.info(`Graph page test renders ${source.graph.vertices.length} vertices from ${source.origin}`);
        fs.mkdirSync(OUTPUT_DIR, { recursive: true });

        profileDir = fs.mkdtempSync(path.join(os.tmpdir(), 'archon-chromium-'));
        context = await chromium.launchPersistentContext(profileDir, {
            executablePath: CHROMIUM,
            headless: true,
            args: CHROMIUM_FLAGS,
            viewport: { width: 1200, height: 860 },
        });

        const html = graphPageHtml({
            cspSource: ORIGIN,
            scriptUri: `${ORIGIN}/graph.js`,
            styleUri: `${ORIGIN}/graph.css`,
            nonce: makeNonce(),
        });
        await context.route('**/*', async (route) => {
            const url = new URL(route.request().url());
            if (url.origin !== ORIGIN) {
                blockedRequests.push(url.href);
                return route.abort();
            }
            if (url.pathname === '/index.html') {
                return route.fulfill({ contentType: 'text/html', body: html });
            }
            const file = path.join(WEBVIEW_DIR, path.basename(url.pathname));
            return route.fulfill({ path: file });
        });

        // Stands in for VS Code: the API the page acquires, the theme's CSS
        // variables (VS Code sets them on <html>), and a record of policy
        // violations.
        await context.addInitScript(() => {
            const record = window as unknown as { posted: unknown[]; violations: string[] };
            record.posted = [];
            record.violations = [];
            let state: unknown;
            (window as unknown as { acquireVsCodeApi: () => unknown }).acquireVsCodeApi = () => ({
                postMessage: (message: unknown) => record.posted.push(message),
                getState: () => state,
                setState: (value: unknown) => {
                    state = value;
                },
            });
            document.addEventListener('securitypolicyviolation', (event) => {
                record.violations.push(`${event.violatedDirective}: ${event.blockedURI}`);
            });
            const theme: Record<string, string> = {
                '--vscode-editor-background': '#1f1f1f',
                '--vscode-editor-foreground': '#cccccc',
                '--vscode-foreground': '#cccccc',
                '--vscode-font-family': 'sans-serif',
                '--vscode-charts-blue': '#3794ff',
                '--vscode-charts-purple': '#b180d7',
                '--vscode-testing-iconPassed': '#73c991',
                '--vscode-testing-iconFailed': '#f14c4c',
            };
            // The first blank page of the profile has no document element.
            const root = document.documentElement as HTMLElement | null;
            for (const [name, value] of Object.entries(theme)) {
                root?.style.setProperty(name, value);
            }
        });

        page = context.pages()[0] ?? (await context.newPage());
        page.on('pageerror', (error) => pageErrors.push(error.stack ?? error.message));
        await page.goto(`${ORIGIN}/index.html`);
        await page.waitForFunction(() =>
            (window as unknown as { posted: Array<{ type: string }> }).posted.some((message) => message.type === 'ready'),
        );
        await page.evaluate(
            ({ graph, documentUri }) => window.postMessage({ type: 'graph', documentUri, graph }, '*'),
            { graph: source.graph, documentUri: source.documentUri },
        );
        await page.waitForFunction(() => document.getElementById('counts')?.textContent?.includes('vertices'));
    }, 90_000);

    afterAll(async () => {
        await context?.close();
        if (profileDir) {
            fs.rmSync(profileDir, { recursive: true, force: true });
        }
    });

    async function posted(): Promise<PageToHostMessage[]> {
        return page.evaluate(() => (window as unknown as { posted: PageToHostMessage[] }).posted);
    }

    async function centerOf(digest: string): Promise<{ x: number; y: number }> {
        const center = await page.evaluate((id) => window.archonGraph?.nodeCenter(id), digest);
        if (center === undefined) {
            throw new Error(`vertex ${digest} is not drawn`);
        }
        return center;
    }

    /** Picks a vertex with a source range, preferring an exec of the build component. */
    function targetVertex(): GraphVertex {
        const placed = source.graph.vertices.filter((vertex) => vertex.uri && vertex.range);
        const vertex = placed.find((item) => item.kind === 'exec' && item.component === 'build') ?? placed[0];
        if (vertex === undefined) {
            throw new Error(`the graph from ${source.origin} has no vertex with a source range`);
        }
        return vertex;
    }

    it('counts every vertex in the toolbar', async () => {
        const counts = await page.textContent('#counts');

        expect(counts).toContain(`${source.graph.vertices.length} vertices`);
    });

    it('shows details of a hovered vertex', async () => {
        const vertex = targetVertex();
        const center = await centerOf(vertex.digest);

        await page.mouse.move(center.x, center.y);
        await page.waitForSelector('#tooltip:not([hidden])');

        expect(await page.textContent('#tooltip')).toContain(vertex.summary);
    });

    it('posts the source range of a clicked vertex', async () => {
        const vertex = targetVertex();
        const center = await centerOf(vertex.digest);

        await page.mouse.move(center.x, center.y);
        await page.screenshot({ path: SCREENSHOT });
        await page.mouse.click(center.x, center.y);
        await page.waitForFunction(() =>
            (window as unknown as { posted: Array<{ type: string }> }).posted.some((message) => message.type === 'reveal'),
        );

        const reveal = (await posted()).find((message) => message.type === 'reveal');
        expect(reveal).toEqual({ type: 'reveal', uri: vertex.uri, range: vertex.range });
    });

    it('finds vertices by summary', async () => {
        const expected = source.graph.vertices.filter((vertex) => vertex.summary.toLowerCase().includes('copy')).length;

        await page.fill('#find', 'copy');

        expect(await page.textContent('#notice')).toBe(`${expected} vertices match "copy"`);
        await page.fill('#find', '');
    });

    it('asks the host to refresh', async () => {
        await page.click('#refresh');

        expect((await posted()).at(-1)).toEqual({ type: 'refresh' });
    });

    it('zooms in from the toolbar', async () => {
        const vertices = source.graph.vertices;
        const [first, second] = [vertices[0].digest, vertices[vertices.length - 1].digest];
        const distance = async () => {
            const a = await centerOf(first);
            const b = await centerOf(second);
            return Math.hypot(a.x - b.x, a.y - b.y);
        };
        const before = await distance();

        await page.click('#zoom-in');

        expect(await distance()).toBeGreaterThan(before);
        await page.click('#fit');
    });

    it('loads nothing from outside the webview origin', () => {
        expect(blockedRequests).toEqual([]);
    });

    it('runs without a policy violation', async () => {
        expect(await page.evaluate(() => (window as unknown as { violations: string[] }).violations)).toEqual([]);
    });

    it('runs without a page error', () => {
        expect(pageErrors).toEqual([]);
    });
});
