// Decides whether a crashed language server is started again. Crashes older
// than the window are forgotten, so a server that crashes once a day keeps
// being restarted while one that crashes on start gives up quickly.

export const RESTART_WINDOW_MS = 3 * 60 * 1000;

export interface RestartDecision {
    restart: boolean;
    /** Crashes counted inside the window, this one included. */
    crashes: number;
}

export class RestartPolicy {
    private crashTimes: number[] = [];

    constructor(
        private readonly maxRestarts: number,
        private readonly windowMs: number = RESTART_WINDOW_MS,
        private readonly now: () => number = Date.now,
    ) {}

    /** Records one crash and returns whether the server should be started again. */
    recordCrash(): RestartDecision {
        const time = this.now();
        this.crashTimes = this.crashTimes.filter((crash) => time - crash < this.windowMs);
        this.crashTimes.push(time);

        const crashes = this.crashTimes.length;
        return { restart: crashes <= this.maxRestarts, crashes };
    }

    /** Forgets every crash, for a restart that the user asked for. */
    reset(): void {
        this.crashTimes = [];
    }
}
