// Turns the failures of a run into problems at their components' source
// ranges. Failures without a place in a file are returned apart, so the
// caller can still report them in the log.

import * as vscode from 'vscode';
import type { LspRange, RunFailure, RunResult } from './protocol';

export const RUN_DIAGNOSTIC_SOURCE = 'archon run';

export interface RunProblems {
    /** Diagnostics grouped by document URI, in the order the server listed the failures. */
    byUri: Map<string, vscode.Diagnostic[]>;
    unplaced: RunFailure[];
}

export function toVscodeRange(range: LspRange): vscode.Range {
    return new vscode.Range(range.start.line, range.start.character, range.end.line, range.end.character);
}

export function runProblems(result: RunResult): RunProblems {
    const byUri = new Map<string, vscode.Diagnostic[]>();
    const unplaced: RunFailure[] = [];

    for (const failure of result.failures) {
        if (!failure.uri || !failure.range) {
            unplaced.push(failure);
            continue;
        }

        const diagnostic = new vscode.Diagnostic(
            toVscodeRange(failure.range),
            `${failure.component}: ${failure.message}`,
            vscode.DiagnosticSeverity.Error,
        );
        diagnostic.source = RUN_DIAGNOSTIC_SOURCE;
        diagnostic.code = result.runId;

        const list = byUri.get(failure.uri) ?? [];
        list.push(diagnostic);
        byUri.set(failure.uri, list);
    }
    return { byUri, unplaced };
}

/** Replaces the collection's content with the problems of one run. */
export function publishRunProblems(collection: vscode.DiagnosticCollection, result: RunResult): RunProblems {
    const problems = runProblems(result);
    collection.clear();
    for (const [uri, diagnostics] of problems.byUri) {
        collection.set(vscode.Uri.parse(uri), diagnostics);
    }
    return problems;
}
