import { describe, expect, it } from 'vitest';
import type { RunResult } from '../../src/protocol';
import { RUN_DIAGNOSTIC_SOURCE, publishRunProblems, runProblems } from '../../src/runDiagnostics';
import { FakeDiagnosticCollection, asVscode } from '../stubs/fakes';
import { DiagnosticSeverity } from '../stubs/vscode';

const MAIN = 'file:///work/ci/main.cue';
const LIB = 'file:///work/ci/lib.cue';

function failedRun(): RunResult {
    return {
        runId: 'run-7',
        status: 'failed',
        durationMs: 4200,
        exports: {},
        failures: [
            {
                component: 'test',
                message: 'exec "go test ./..." exited with status 1',
                uri: MAIN,
                range: { start: { line: 11, character: 0 }, end: { line: 14, character: 1 } },
            },
            {
                component: 'lint',
                message: 'exec "golangci-lint run" exited with status 2',
                uri: LIB,
                range: { start: { line: 3, character: 2 }, end: { line: 3, character: 40 } },
            },
            {
                component: 'image',
                message: 'push to the registry was rejected',
                uri: MAIN,
                range: { start: { line: 20, character: 0 }, end: { line: 22, character: 1 } },
            },
            { component: 'bundle', message: 'exporting outputs failed' },
        ],
    };
}

describe('runProblems', () => {
    it('groups failures by document', () => {
        const problems = runProblems(failedRun());

        expect([...problems.byUri.keys()]).toEqual([MAIN, LIB]);
        expect(problems.byUri.get(MAIN)?.length).toBe(2);
    });

    it('places a failure at its component range', () => {
        const [diagnostic] = runProblems(failedRun()).byUri.get(MAIN) ?? [];

        expect(diagnostic.range.start).toEqual({ line: 11, character: 0 });
        expect(diagnostic.range.end).toEqual({ line: 14, character: 1 });
    });

    it('names the component in an error diagnostic', () => {
        const [diagnostic] = runProblems(failedRun()).byUri.get(LIB) ?? [];

        expect(diagnostic.message).toBe('lint: exec "golangci-lint run" exited with status 2');
        expect(diagnostic.severity).toBe(DiagnosticSeverity.Error);
        expect(diagnostic.source).toBe(RUN_DIAGNOSTIC_SOURCE);
        expect(diagnostic.code).toBe('run-7');
    });

    it('keeps failures without a range apart', () => {
        const problems = runProblems(failedRun());

        expect(problems.unplaced.map((failure) => failure.component)).toEqual(['bundle']);
    });

    it('has no problems for a successful run', () => {
        const problems = runProblems({ runId: 'run-8', status: 'succeeded', durationMs: 10, failures: [], exports: {} });

        expect(problems.byUri.size).toBe(0);
    });
});

describe('publishRunProblems', () => {
    it('replaces the problems of the previous run', () => {
        const collection = new FakeDiagnosticCollection();
        collection.entries.set('file:///work/ci/old.cue', []);

        publishRunProblems(asVscode(collection), failedRun());

        expect([...collection.entries.keys()]).toEqual([MAIN, LIB]);
    });
});
