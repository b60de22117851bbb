import * as fs from 'fs';
import { beforeAll, describe, expect, it } from 'vitest';
import * as oniguruma from 'vscode-oniguruma';
import * as textmate from 'vscode-textmate';

// The grammar is loaded by the same TextMate engine and regular-expression
// library that VS Code uses, and each case checks the scope of one token.

interface Token {
    text: string;
    scopes: string[];
}

let grammar: textmate.IGrammar;

beforeAll(async () => {
    const wasm = fs.readFileSync(new URL('../../node_modules/vscode-oniguruma/release/onig.wasm', import.meta.url));
    await oniguruma.loadWASM(wasm.buffer.slice(wasm.byteOffset, wasm.byteOffset + wasm.byteLength));
    const registry = new textmate.Registry({
        onigLib: Promise.resolve({
            createOnigScanner: (patterns) => new oniguruma.OnigScanner(patterns),
            createOnigString: (text) => new oniguruma.OnigString(text),
        }),
        loadGrammar: async (scopeName) => {
            if (scopeName !== 'source.cue') {
                return null;
            }
            const file = new URL('../../syntaxes/cue.tmLanguage.json', import.meta.url);
            return textmate.parseRawGrammar(fs.readFileSync(file, 'utf8'), file.pathname);
        },
    });
    const loaded = await registry.loadGrammar('source.cue');
    if (loaded === null) {
        throw new Error('syntaxes/cue.tmLanguage.json did not load as source.cue');
    }
    grammar = loaded;
});

function tokenize(text: string): Token[] {
    const tokens: Token[] = [];
    let state = textmate.INITIAL;
    for (const line of text.split('\n')) {
        const result = grammar.tokenizeLine(line, state);
        for (const token of result.tokens) {
            tokens.push({ text: line.slice(token.startIndex, token.endIndex), scopes: token.scopes });
        }
        state = result.ruleStack;
    }
    return tokens;
}

/** Returns the scopes of the first token whose text is exactly `text`. */
function scopesOf(source: string, text: string, occurrence = 0): string[] {
    const matches = tokenize(source).filter((token) => token.text === text);
    if (matches.length <= occurrence) {
        throw new Error(`no token "${text}" in ${JSON.stringify(tokenize(source).map((token) => token.text))}`);
    }
    return matches[occurrence].scopes;
}

describe('CUE grammar', () => {
    it('scopes the package clause', () => {
        const source = 'package hello';

        expect(scopesOf(source, 'package')).toContain('keyword.other.package.cue');
        expect(scopesOf(source, 'hello')).toContain('entity.name.namespace.cue');
    });

    it('scopes import as a keyword', () => {
        expect(scopesOf('import "archon.dev/op"', 'import')).toContain('keyword.other.import.cue');
    });

    it.each(['for', 'in', 'if', 'let'])('scopes %s as a control keyword', (keyword) => {
        const source = 'out: [ for x in xs if x > 0 let y = x {y} ]';

        expect(scopesOf(source, keyword)).toContain('keyword.control.cue');
    });

    it('scopes a definition label and reference', () => {
        const source = '#Base: {image: string}\napp: #Base & {image: "x"}';

        expect(scopesOf(source, '#Base')).toContain('entity.name.type.definition.cue');
        expect(scopesOf(source, '#Base', 1)).toContain('entity.name.type.definition.cue');
    });

    it('scopes a package-qualified definition', () => {
        expect(scopesOf('x: op.#Exec & {}', '#Exec')).toContain('entity.name.type.definition.cue');
    });

    it('scopes hidden fields', () => {
        const source = '_cache: "/root/.cache"\ndir: _cache';

        expect(scopesOf(source, '_cache')).toContain('variable.other.property.hidden.cue');
        expect(scopesOf(source, '_cache', 1)).toContain('variable.other.hidden.cue');
    });

    it('scopes a hidden definition as a definition', () => {
        expect(scopesOf('_#Step: {}', '_#Step')).toContain('entity.name.type.definition.cue');
    });

    it('scopes a field label', () => {
        expect(scopesOf('greeting: string', 'greeting')).toContain('support.type.property-name.cue');
    });

    it('scopes an optional field marker', () => {
        expect(scopesOf('port?: int', '?')).toContain('keyword.operator.optional.cue');
    });

    it('scopes an attribute with its arguments', () => {
        const source = 'dist: {} @output(dir="dist")';

        expect(scopesOf(source, 'output')).toContain('entity.name.function.decorator.cue');
        expect(scopesOf(source, 'dir')).toContain('variable.parameter.attribute.cue');
        expect(scopesOf(source, 'dist', 1)).toContain('string.quoted.double.cue');
    });

    it('scopes an empty input attribute', () => {
        expect(scopesOf('token: op.#Secret @input()', 'input')).toContain('meta.attribute.cue');
    });

    it('scopes an interpolation inside a string', () => {
        const source = 'msg: "hello \\(name)!"';

        expect(scopesOf(source, '\\(')).toContain('punctuation.section.interpolation.begin.cue');
        expect(scopesOf(source, 'name')).toContain('meta.interpolation.cue');
        expect(scopesOf(source, '!')).toContain('string.quoted.double.cue');
    });

    it('ends an interpolation after nested parentheses', () => {
        const source = 'msg: "n=\\(len(xs)) done"';

        expect(scopesOf(source, ' done')).toContain('string.quoted.double.cue');
        expect(scopesOf(source, ' done')).not.toContain('meta.interpolation.cue');
    });

    it('scopes a multi-line string across lines', () => {
        const source = 'script: """\n\techo \\(greeting)\n\t"""\nnext: 1';

        expect(scopesOf(source, '\techo ')).toContain('string.quoted.triple.cue');
        expect(scopesOf(source, 'greeting')).toContain('meta.interpolation.cue');
        expect(scopesOf(source, 'next')).toContain('support.type.property-name.cue');
    });

    it('keeps quotes and backslashes raw in a raw string', () => {
        const source = 're: #"a\\d+"b"#\nafter: 1';

        expect(scopesOf(source, 'a\\d+"b')).toContain('string.quoted.double.raw.cue');
        expect(scopesOf(source, 'after')).toContain('support.type.property-name.cue');
    });

    it('scopes an interpolation in a raw string', () => {
        expect(scopesOf('x: #"v=\\#(v)"#', 'v', 0)).toContain('meta.interpolation.cue');
    });

    it('scopes bytes literals', () => {
        expect(scopesOf("b: '\\x00ff'", "'")).toContain('string.quoted.single.bytes.cue');
        expect(scopesOf("b: '\\x00ff'", '\\x00')).toContain('constant.character.escape.cue');
    });

    it('scopes line comments', () => {
        expect(scopesOf('x: 1 // the answer', ' the answer')).toContain('comment.line.double-slash.cue');
    });

    it.each(['42', '1_000', '0x1F', '0o755', '0b1010', '3.14', '1e9', '.5', '1.5Gi', '2K'])('scopes %s as a number', (number) => {
        expect(scopesOf(`n: ${number}`, number)).toContain('constant.numeric.cue');
    });

    it.each([
        ['&', 'keyword.operator.unification.cue'],
        ['|', 'keyword.operator.disjunction.cue'],
        ['=~', 'keyword.operator.regexp.cue'],
        ['...', 'keyword.operator.ellipsis.cue'],
        ['>=', 'keyword.operator.comparison.cue'],
    ])('scopes the operator %s', (operator, scope) => {
        const source = `x: a ${operator} b`;

        expect(scopesOf(source, operator)).toContain(scope);
    });

    it('scopes bottom, top and null', () => {
        const source = 'a: _|_\nb: _\nc: null';

        expect(scopesOf(source, '_|_')).toContain('constant.language.bottom.cue');
        expect(scopesOf(source, '_')).toContain('constant.language.top.cue');
        expect(scopesOf(source, 'null')).toContain('constant.language.cue');
    });

    it('scopes built-in types', () => {
        expect(scopesOf('port: uint16', 'uint16')).toContain('support.type.cue');
    });
});
