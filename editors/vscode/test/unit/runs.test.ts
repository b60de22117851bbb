import { beforeEach, describe, expect, it, vi } from 'vitest';
import type { RunConnection } from '../../src/runs';
import { RunController, failureMessage, normalizeRunResult, runTarget, shortVertex } from '../../src/runs';
import { FakeCancellationToken, FakeDiagnosticCollection, FakeOutputChannel, FakeStatusBarItem, asVscode } from '../stubs/fakes';

const ui = vi.hoisted(() => ({
    progressReports: [] as Array<{ message?: string; increment?: number }>,
    cancellation: undefined as unknown,
    errors: [] as string[],
    warnings: [] as string[],
}));

vi.mock('../../src/vscodeapi', () => ({
    withProgress: async (_options: unknown, task: (progress: unknown, token: unknown) => Promise<unknown>) =>
        task({ report: (value: { message?: string; increment?: number }) => ui.progressReports.push(value) }, ui.cancellation),
    showErrorMessage: async (message: string) => {
        ui.errors.push(message);
        return undefined;
    },
    showWarningMessage: async (message: string) => {
        ui.warnings.push(message);
        return undefined;
    },
    showInformationMessage: async () => undefined,
}));

type ProgressHandler = Parameters<RunConnection['onWorkDoneProgress']>[1];

/** A server connection whose archon.run result the test controls. */
class FakeConnection implements RunConnection {
    readonly requests: Array<{ command: string; args: object; token?: string }> = [];
    readonly cancelled: string[] = [];
    readonly progress = new Map<string, ProgressHandler>();
    private finish: ((value: unknown) => void) | undefined;

    executeServerCommand<T>(command: string, args: object, workDoneToken?: string): Promise<T> {
        this.requests.push({ command, args, token: workDoneToken });
        return new Promise((resolve) => {
            this.finish = resolve as (value: unknown) => void;
        });
    }

    onWorkDoneProgress(token: string, handler: ProgressHandler) {
        this.progress.set(token, handler);
        return { dispose: () => this.progress.delete(token) };
    }

    async cancelWorkDoneProgress(token: string): Promise<void> {
        this.cancelled.push(token);
    }

    respond(value: unknown): void {
        this.finish?.(value);
    }
}

let connection: FakeConnection;
let log: FakeOutputChannel;
let problems: FakeDiagnosticCollection;
let status: FakeStatusBarItem;
let token: FakeCancellationToken;
let finished: unknown[];

function controller(): RunController {
    return new RunController(
        connection,
        asVscode({ log, problems, status }),
        () => 'onFailure',
        (result) => finished.push(result),
    );
}

/** Lets the controller reach its await on archon.run. */
async function settle(): Promise<void> {
    await new Promise((resolve) => setTimeout(resolve, 0));
}

beforeEach(() => {
    connection = new FakeConnection();
    log = new FakeOutputChannel();
    problems = new FakeDiagnosticCollection();
    status = new FakeStatusBarItem();
    token = new FakeCancellationToken();
    finished = [];
    ui.progressReports.length = 0;
    ui.errors.length = 0;
    ui.warnings.length = 0;
    ui.cancellation = token;
});

describe('RunController', () => {
    it('sends archon.run with a work-done token', async () => {
        const runs = controller();
        const pending = runs.run({ component: 'test', environment: 'staging' });
        await settle();

        connection.respond({ runId: 'r1', status: 'succeeded', durationMs: 1500, failures: [], exports: {} });
        await pending;

        expect(connection.requests[0].command).toBe('archon.run');
        expect(connection.requests[0].args).toEqual({ component: 'test', environment: 'staging' });
        expect(connection.requests[0].token).toMatch(/^archon-run-/);
    });

    it('turns progress percentages into increments', async () => {
        const runs = controller();
        const pending = runs.run({});
        await settle();
        const handler = [...connection.progress.values()][0];

        handler({ kind: 'begin', title: 'run', percentage: 0 });
        handler({ kind: 'report', message: '3/10 vertices', percentage: 30 });
        handler({ kind: 'report', message: '8/10 vertices', percentage: 80 });
        handler({ kind: 'end' });
        connection.respond({ runId: 'r1', status: 'succeeded', durationMs: 10, failures: [], exports: {} });
        await pending;

        expect(ui.progressReports.map((report) => report.increment)).toEqual([0, 30, 50]);
        expect(ui.progressReports[2].message).toBe('8/10 vertices');
    });

    it('cancels through window/workDoneProgress/cancel', async () => {
        const runs = controller();
        const pending = runs.run({});
        await settle();

        token.cancel();
        await settle();
        connection.respond({ runId: 'r1', status: 'cancelled', durationMs: 900, failures: [], exports: {} });
        const result = await pending;

        expect(connection.cancelled).toEqual([connection.requests[0].token]);
        expect(result?.status).toBe('cancelled');
        expect(status.text).toBe('$(circle-slash) Archon: cancelled');
    });

    it('publishes failures as problems and summarizes them', async () => {
        const runs = controller();
        const pending = runs.run({});
        await settle();

        connection.respond({
            runId: 'r2',
            status: 'failed',
            durationMs: 2000,
            exports: {},
            failures: [
                {
                    component: 'test',
                    message: 'exit status 1',
                    uri: 'file:///w/main.cue',
                    range: { start: { line: 4, character: 0 }, end: { line: 6, character: 1 } },
                },
            ],
        });
        await pending;

        expect(problems.entries.get('file:///w/main.cue')?.[0].message).toBe('test: exit status 1');
        expect(status.text).toBe('$(error) Archon: 1 component failed');
        expect(log.shown).toBe(1);
        expect(ui.errors).toEqual(['Archon: the run of the plan failed: test: exit status 1']);
        expect(finished).toHaveLength(1);
    });

    it('writes exports and the outcome to the log', async () => {
        const runs = controller();
        const pending = runs.run({ component: 'version' });
        await settle();

        connection.respond({ runId: 'r3', status: 'succeeded', durationMs: 61_000, failures: [], exports: { version: '1.2.3' } });
        await pending;

        expect(log.lines).toContain('export version = "1.2.3"');
        expect(log.lines.at(-1)).toBe('--- run r3 of component version succeeded in 1 min 1 s');
    });

    it('rejects a second run while one is active', async () => {
        const runs = controller();
        const first = runs.run({});
        await settle();

        const second = await runs.run({ component: 'other' });
        connection.respond({ runId: 'r4', status: 'succeeded', durationMs: 1, failures: [], exports: {} });
        await first;

        expect(second).toBeUndefined();
        expect(connection.requests).toHaveLength(1);
        expect(ui.warnings[0]).toContain('still running');
    });

    it('shows an error for a result outside the contract', async () => {
        const runs = controller();
        const pending = runs.run({});
        await settle();

        connection.respond({ runId: 'r5', status: 'done' });
        const result = await pending;

        expect(result).toBeUndefined();
        expect(ui.errors[0]).toContain('no status of succeeded, failed or cancelled');
        expect(runs.isRunning).toBe(false);
    });

    it('prefixes run log lines with a short vertex digest', () => {
        controller().appendLogLine({ runId: 'r1', vertex: `sha256:${'ab12'.repeat(16)}`, line: 'ok  example.com/pkg 0.3s' });

        expect(log.lines).toEqual(['[ab12ab12ab12] ok  example.com/pkg 0.3s']);
    });
});

describe('failureMessage', () => {
    const failed = (failures: Array<{ component: string; message: string }>) =>
        ({ runId: 'r', status: 'failed', durationMs: 1, failures, exports: {} }) as const;

    it('shows the first line of the first failure', () => {
        const message = failureMessage(failed([{ component: 'buildkit', message: 'no BuildKit daemon answered\nhint: start one' }]), 'the plan');

        expect(message).toBe('Archon: the run of the plan failed: buildkit: no BuildKit daemon answered');
    });

    it('counts further failures', () => {
        const message = failureMessage(
            failed([
                { component: 'test', message: 'exit status 1' },
                { component: 'lint', message: 'exit status 2' },
            ]),
            'the plan',
        );

        expect(message).toBe('Archon: the run of the plan failed: test: exit status 1 (and 1 more failed)');
    });

    it('points to the log without failures', () => {
        expect(failureMessage(failed([]), 'the plan')).toContain('see the "Archon Run" output');
    });
});

describe('run helpers', () => {
    it('describes the run target', () => {
        expect(runTarget({})).toBe('the plan');
        expect(runTarget({ component: 'build', environment: 'prod' })).toBe('component build in prod');
    });

    it('keeps vertex names that are not digests', () => {
        expect(shortVertex('build')).toBe('build');
    });

    it('fills absent lists of a result', () => {
        const result = normalizeRunResult({ runId: 'r', status: 'succeeded', durationMs: 5 });

        expect(result.failures).toEqual([]);
        expect(result.exports).toEqual({});
    });
});
