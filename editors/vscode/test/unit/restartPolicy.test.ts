import { describe, expect, it } from 'vitest';
import { RestartPolicy } from '../../src/restartPolicy';

function clock(start = 0) {
    let now = start;
    return {
        now: () => now,
        advance: (ms: number) => {
            now += ms;
        },
    };
}

describe('RestartPolicy', () => {
    it('restarts up to the limit', () => {
        const time = clock();
        const policy = new RestartPolicy(3, 60_000, time.now);

        const decisions = [1, 2, 3, 4].map(() => policy.recordCrash().restart);

        expect(decisions).toEqual([true, true, true, false]);
    });

    it('never restarts with a limit of zero', () => {
        const policy = new RestartPolicy(0, 60_000, clock().now);

        expect(policy.recordCrash().restart).toBe(false);
    });

    it('forgets crashes older than the window', () => {
        const time = clock();
        const policy = new RestartPolicy(2, 60_000, time.now);
        policy.recordCrash();
        policy.recordCrash();

        time.advance(60_000);
        const decision = policy.recordCrash();

        expect(decision.restart).toBe(true);
        expect(decision.crashes).toBe(1);
    });

    it('counts crashes inside the window', () => {
        const time = clock();
        const policy = new RestartPolicy(2, 60_000, time.now);
        policy.recordCrash();
        time.advance(30_000);
        policy.recordCrash();
        time.advance(29_000);

        expect(policy.recordCrash()).toEqual({ restart: false, crashes: 3 });
    });

    it('starts over after reset', () => {
        const policy = new RestartPolicy(1, 60_000, clock().now);
        policy.recordCrash();
        policy.recordCrash();

        policy.reset();

        expect(policy.recordCrash().restart).toBe(true);
    });
});
