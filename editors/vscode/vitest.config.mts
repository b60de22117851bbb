import { fileURLToPath } from 'url';
import { defineConfig } from 'vitest/config';

export default defineConfig({
    resolve: {
        // Unit tests run in Node, outside VS Code: `vscode` resolves to a
        // small stand-in that implements the classes the extension uses.
        alias: { vscode: fileURLToPath(new URL('test/stubs/vscode.ts', import.meta.url)) },
    },
    test: {
        include: ['test/**/*.test.ts'],
        // The browser and protocol tests start processes; run files one at a
        // time so they do not compete for the machine's cores.
        fileParallelism: false,
        testTimeout: 10_000,
    },
});
