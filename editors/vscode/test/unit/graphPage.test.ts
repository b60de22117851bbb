import { describe, expect, it } from 'vitest';
import { isPageToHostMessage } from '../../src/graphMessages';
import { contentSecurityPolicy, graphPageHtml, makeNonce } from '../../src/webviewHtml';

const RANGE = { start: { line: 2, character: 0 }, end: { line: 5, character: 1 } };

describe('isPageToHostMessage', () => {
    it('accepts a reveal with a range', () => {
        expect(isPageToHostMessage({ type: 'reveal', uri: 'file:///w/main.cue', range: RANGE })).toBe(true);
    });

    it.each([
        ['no uri', { type: 'reveal', range: RANGE }],
        ['an empty uri', { type: 'reveal', uri: '', range: RANGE }],
        ['a negative line', { type: 'reveal', uri: 'file:///w/a.cue', range: { ...RANGE, start: { line: -1, character: 0 } } }],
        ['a fractional character', { type: 'reveal', uri: 'file:///w/a.cue', range: { ...RANGE, end: { line: 1, character: 0.5 } } }],
        ['an unknown type', { type: 'exec', command: 'rm' }],
        ['null', null],
        ['a string', 'ready'],
    ])('rejects %s', (_name, message) => {
        expect(isPageToHostMessage(message)).toBe(false);
    });

    it('accepts ready and refresh', () => {
        expect(isPageToHostMessage({ type: 'ready' })).toBe(true);
        expect(isPageToHostMessage({ type: 'refresh' })).toBe(true);
    });
});

describe('graphPageHtml', () => {
    const html = graphPageHtml({
        cspSource: 'https://webview.test',
        scriptUri: 'https://webview.test/graph.js',
        styleUri: 'https://webview.test/graph.css',
        nonce: 'abc123',
    });

    it('loads the script with the nonce', () => {
        expect(html).toContain('<script nonce="abc123" src="https://webview.test/graph.js"></script>');
    });

    it('has one script element', () => {
        expect(html.match(/<script/g)).toHaveLength(1);
    });

    it('sets a policy without inline code', () => {
        const policy = contentSecurityPolicy('https://webview.test', 'abc123');

        expect(policy).toContain("default-src 'none'");
        expect(policy).toContain("script-src 'nonce-abc123'");
        expect(policy).not.toContain('unsafe-inline');
        expect(policy).not.toContain('unsafe-eval');
    });

    it('has no inline style attribute', () => {
        expect(html).not.toMatch(/\sstyle=/);
    });
});

describe('makeNonce', () => {
    it('differs between calls', () => {
        expect(makeNonce()).not.toBe(makeNonce());
    });

    it('has 144 bits', () => {
        expect(Buffer.from(makeNonce(), 'base64')).toHaveLength(18);
    });
});
