// Runs a plan or one component through the server's archon.run command.
// The run shows as a cancellable progress notification, its vertices' log
// lines go to the "Archon Run" output channel, failed components become
// problems, and the status bar keeps a summary of the last run.

import { randomUUID } from 'crypto';
import * as vscode from 'vscode';
import type { WorkDoneProgressBegin, WorkDoneProgressEnd, WorkDoneProgressReport } from 'vscode-languageclient';
import { traceError, traceInfo } from './logging';
import {
    ServerCommand,
    type RunArguments,
    type RunLogParams,
    type RunResult,
    type RunStatus,
} from './protocol';
import { publishRunProblems } from './runDiagnostics';
import type { RevealLog } from './settings';
import { formatDuration, runStatusText } from './statusText';
import { showErrorMessage, showInformationMessage, showWarningMessage, withProgress } from './vscodeapi';

type ProgressValue = WorkDoneProgressBegin | WorkDoneProgressReport | WorkDoneProgressEnd;

/** The language server calls that the run controller makes. */
export interface RunConnection {
    executeServerCommand<T>(command: string, args: object, workDoneToken?: string): Promise<T>;
    onWorkDoneProgress(token: string, handler: (value: ProgressValue) => void): vscode.Disposable;
    cancelWorkDoneProgress(token: string): Promise<void>;
}

export interface RunViews {
    log: vscode.OutputChannel;
    problems: vscode.DiagnosticCollection;
    status: vscode.StatusBarItem;
}

interface ActiveRun {
    token: string;
    target: string;
    cancelRequested: boolean;
}

const CANCEL_RUN = 'Cancel Run';
const RUN_STATUSES: readonly RunStatus[] = ['succeeded', 'failed', 'cancelled'];

/** Describes what a run covers, for titles and messages. */
export function runTarget(args: RunArguments): string {
    const scope = args.component ? `component ${args.component}` : 'the plan';
    return args.environment ? `${scope} in ${args.environment}` : scope;
}

/** Shortens a vertex digest for log prefixes; names pass unchanged. */
export function shortVertex(vertex: string): string {
    const match = /^sha256:([0-9a-f]{12})[0-9a-f]*$/.exec(vertex);
    return match ? match[1] : vertex;
}

/** Checks an archon.run result against the contract and fills in absent lists. */
export function normalizeRunResult(value: unknown): RunResult {
    const result = value as Partial<RunResult> | null;
    if (result === null || typeof result !== 'object' || !RUN_STATUSES.includes(result.status as RunStatus)) {
        throw new Error(
            `Archon: archon.run returned ${JSON.stringify(value)}, which has no status of succeeded, failed or ` +
                'cancelled. The language server and the extension disagree on the protocol; update both.',
        );
    }
    return {
        runId: String(result.runId ?? ''),
        status: result.status as RunStatus,
        durationMs: Number(result.durationMs ?? 0),
        failures: Array.isArray(result.failures) ? result.failures : [],
        exports: result.exports && typeof result.exports === 'object' ? result.exports : {},
    };
}

/** Builds the notification of a failed run: the first failure's first line, and how many more follow. */
export function failureMessage(result: RunResult, target: string): string {
    const [first, ...rest] = result.failures;
    if (first === undefined) {
        return `Archon: the run of ${target} failed without naming a component; see the "Archon Run" output.`;
    }
    const firstLine = first.message.split('\n')[0];
    const more = rest.length > 0 ? ` (and ${rest.length} more failed)` : '';
    return `Archon: the run of ${target} failed: ${first.component}: ${firstLine}${more}`;
}

export class RunController implements vscode.Disposable {
    private active: ActiveRun | undefined;
    private lastResult: RunResult | undefined;

    constructor(
        private readonly connection: RunConnection,
        private readonly views: RunViews,
        private readonly revealLog: () => RevealLog,
        private readonly onRunFinished: (result: RunResult) => void = () => undefined,
    ) {}

    get isRunning(): boolean {
        return this.active !== undefined;
    }

    get lastRun(): RunResult | undefined {
        return this.lastResult;
    }

    /** Appends one `archon/runLog` line to the run log. */
    appendLogLine(params: RunLogParams): void {
        this.views.log.appendLine(`[${shortVertex(params.vertex)}] ${params.line}`);
    }

    /**
     * Runs the plan or a component and reports the outcome. Errors are shown
     * to the user, because every run starts from a command they invoked.
     */
    async run(args: RunArguments): Promise<RunResult | undefined> {
        if (this.active !== undefined) {
            const choice = await showWarningMessage(
                `Archon: ${this.active.target} is still running. Cancel it before starting another run.`,
                CANCEL_RUN,
            );
            if (choice === CANCEL_RUN) {
                await this.cancel();
            }
            return undefined;
        }

        const active: ActiveRun = { token: `archon-run-${randomUUID()}`, target: runTarget(args), cancelRequested: false };
        this.active = active;
        this.views.problems.clear();
        this.views.status.text = `$(sync~spin) Archon: running ${active.target}`;
        this.views.status.tooltip = 'Click to cancel the run.';
        this.views.status.command = 'archon.cancelRun';
        this.views.status.show();
        this.views.log.appendLine(`--- ${new Date().toISOString()} run of ${active.target} started`);
        if (this.revealLog() === 'always') {
            this.views.log.show(true);
        }

        try {
            const result = await withProgress(
                {
                    location: vscode.ProgressLocation.Notification,
                    title: `Archon: running ${active.target}`,
                    cancellable: true,
                },
                (progress, cancellation) => this.execute(args, active, progress, cancellation),
            );
            this.report(result, active.target);
            return result;
        } catch (error) {
            const message = error instanceof Error ? error.message : String(error);
            traceError(`Run of ${active.target} failed to complete:`, error);
            this.views.log.appendLine(`--- run of ${active.target} did not complete: ${message}`);
            this.views.status.text = '$(error) Archon: run error';
            this.views.status.tooltip = message;
            this.views.status.command = undefined;
            void showErrorMessage(`Archon: the run of ${active.target} did not complete: ${message}`);
            return undefined;
        } finally {
            this.active = undefined;
        }
    }

    /** Sends the cancel notification for the active run; returns false when no run is active. */
    async cancel(): Promise<boolean> {
        const active = this.active;
        if (active === undefined) {
            void showInformationMessage('Archon: no run is in progress.');
            return false;
        }
        if (!active.cancelRequested) {
            active.cancelRequested = true;
            traceInfo(`Cancelling the run of ${active.target} (progress token ${active.token})`);
            await this.connection.cancelWorkDoneProgress(active.token);
        }
        return true;
    }

    dispose(): void {
        if (this.active !== undefined) {
            void this.connection.cancelWorkDoneProgress(this.active.token).catch(() => undefined);
        }
    }

    private async execute(
        args: RunArguments,
        active: ActiveRun,
        progress: vscode.Progress<{ message?: string; increment?: number }>,
        cancellation: vscode.CancellationToken,
    ): Promise<RunResult> {
        // VS Code's progress takes increments while LSP reports a percentage
        // so far: keep the last percentage to turn one into the other.
        let reportedPercentage = 0;
        const progressSubscription = this.connection.onWorkDoneProgress(active.token, (value) => {
            if (value.kind === 'end') {
                return;
            }
            const percentage = typeof value.percentage === 'number' ? value.percentage : undefined;
            const increment = percentage !== undefined ? Math.max(0, percentage - reportedPercentage) : undefined;
            if (percentage !== undefined) {
                reportedPercentage = Math.max(reportedPercentage, percentage);
            }
            progress.report({ message: value.message, increment });
        });
        const cancelSubscription = cancellation.onCancellationRequested(() => {
            void this.cancel().catch((error) => traceError('Sending the cancel notification failed:', error));
        });

        try {
            const response = await this.connection.executeServerCommand<unknown>(ServerCommand.run, args, active.token);
            return normalizeRunResult(response);
        } finally {
            progressSubscription.dispose();
            cancelSubscription.dispose();
        }
    }

    private report(result: RunResult, target: string): void {
        this.lastResult = result;

        const problems = publishRunProblems(this.views.problems, result);
        const status = runStatusText(result, target);
        this.views.status.text = status.text;
        this.views.status.tooltip = status.tooltip;
        this.views.status.command = 'archon.showRunLog';

        const log = this.views.log;
        for (const failure of result.failures) {
            log.appendLine(`failed: ${failure.component}: ${failure.message}`);
        }
        for (const [name, value] of Object.entries(result.exports)) {
            log.appendLine(`export ${name} = ${JSON.stringify(value)}`);
        }
        log.appendLine(`--- run ${result.runId} of ${target} ${result.status} in ${formatDuration(result.durationMs)}`);

        const reveal = this.revealLog();
        if (result.status === 'failed' && reveal !== 'never') {
            log.show(true);
        }
        if (result.status === 'failed') {
            void showErrorMessage(failureMessage(result, target));
        }
        if (problems.unplaced.length > 0) {
            const names = problems.unplaced.map((failure) => failure.component).join(', ');
            traceInfo(`Run ${result.runId}: failures without a source range: ${names}`);
        }
        this.onRunFinished(result);
    }
}
