// Bundles the extension (Node, CommonJS, `vscode` left to the host) and the
// LLB graph page (browser, one script and one stylesheet) into out/.
// `node esbuild.mjs --production` minifies and drops source maps.

import * as esbuild from 'esbuild';

const production = process.argv.includes('--production');

const common = {
    bundle: true,
    minify: production,
    sourcemap: production ? false : 'linked',
    logLevel: 'info',
};

await Promise.all([
    esbuild.build({
        ...common,
        entryPoints: ['src/extension.ts'],
        outfile: 'out/extension.js',
        platform: 'node',
        format: 'cjs',
        target: 'node18',
        external: ['vscode'],
    }),
    esbuild.build({
        ...common,
        entryPoints: { graph: 'webview/main.ts' },
        outdir: 'out/webview',
        platform: 'browser',
        format: 'iife',
        target: 'chrome114',
    }),
    esbuild.build({
        ...common,
        entryPoints: { graph: 'webview/style.css' },
        outdir: 'out/webview',
    }),
]);
