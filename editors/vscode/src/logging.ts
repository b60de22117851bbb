// The extension's own log. It is written to the same log output channel as
// the language server's messages, so that one channel shows both in order.
// Before registerLogger is called (and in unit tests) lines are dropped.

import type { Disposable, LogOutputChannel } from 'vscode';

let channel: LogOutputChannel | undefined;

export function registerLogger(output: LogOutputChannel): Disposable {
    channel = output;
    return {
        dispose: () => {
            channel = undefined;
        },
    };
}

function format(parts: unknown[]): string {
    return parts
        .map((part) => {
            if (part instanceof Error) {
                return part.stack ?? `${part.name}: ${part.message}`;
            }
            if (typeof part === 'string') {
                return part;
            }
            return JSON.stringify(part);
        })
        .join(' ');
}

export function traceError(...parts: unknown[]): void {
    channel?.error(format(parts));
}

export function traceWarn(...parts: unknown[]): void {
    channel?.warn(format(parts));
}

export function traceInfo(...parts: unknown[]): void {
    channel?.info(format(parts));
}

export function traceVerbose(...parts: unknown[]): void {
    channel?.debug(format(parts));
}
