// Texts of the two status-bar items. `$(name)` is a codicon, which VS Code
// draws in place of the token.

import type { EnvironmentList, RunResult } from './protocol';

export interface StatusText {
    text: string;
    tooltip: string;
}

export function formatDuration(durationMs: number): string {
    if (durationMs < 1000) {
        return `${Math.round(durationMs)} ms`;
    }
    if (durationMs < 60_000) {
        return `${(durationMs / 1000).toFixed(1)} s`;
    }
    const minutes = Math.floor(durationMs / 60_000);
    const seconds = Math.round((durationMs % 60_000) / 1000);
    return `${minutes} min ${seconds} s`;
}

export function runStatusText(result: RunResult, target: string): StatusText {
    const duration = formatDuration(result.durationMs);
    const exports = Object.keys(result.exports);
    const exportsLine = exports.length > 0 ? `\nExports: ${exports.join(', ')}` : '';

    switch (result.status) {
        case 'succeeded':
            return {
                text: `$(pass) Archon: succeeded in ${duration}`,
                tooltip: `Run ${result.runId} of ${target} succeeded in ${duration}.${exportsLine}`,
            };
        case 'failed': {
            const count = result.failures.length;
            const noun = count === 1 ? 'component' : 'components';
            return {
                text: `$(error) Archon: ${count} ${noun} failed`,
                tooltip: `Run ${result.runId} of ${target} failed after ${duration}: ${result.failures
                    .map((failure) => failure.component)
                    .join(', ')}.`,
            };
        }
        case 'cancelled':
            return {
                text: `$(circle-slash) Archon: cancelled`,
                tooltip: `Run ${result.runId} of ${target} was cancelled after ${duration}.`,
            };
    }
}

/** Describes the environment item: the selected environment, else the default one. */
export function environmentStatusText(list: EnvironmentList | undefined): StatusText {
    const clickHint = 'Click to select the environment that Archon runs in.';
    if (list === undefined) {
        return { text: '$(server-environment) Archon', tooltip: `Environments are not loaded yet. ${clickHint}` };
    }

    const selected = list.environments.find((environment) => environment.name === list.selected);
    if (selected !== undefined) {
        return {
            text: `$(server-environment) ${selected.name}`,
            tooltip: `Archon environment ${selected.name} (plan ${selected.plan}). ${clickHint}`,
        };
    }

    const fallback = list.environments.find((environment) => environment.default);
    if (fallback !== undefined) {
        return {
            text: `$(server-environment) ${fallback.name} (default)`,
            tooltip: `No environment is selected, so runs use the default ${fallback.name} (plan ${fallback.plan}). ${clickHint}`,
        };
    }

    return {
        text: '$(server-environment) no environment',
        tooltip: `The language server reports no Archon environment for this workspace. ${clickHint}`,
    };
}
