// Recording fakes of the VS Code objects the controllers write to.

import type * as vscode from 'vscode';
import { Uri } from './vscode';

export class FakeOutputChannel {
    readonly lines: string[] = [];
    shown = 0;

    appendLine(line: string): void {
        this.lines.push(line);
    }

    show(): void {
        this.shown += 1;
    }
}

export class FakeDiagnosticCollection {
    readonly entries = new Map<string, vscode.Diagnostic[]>();
    clears = 0;

    set(uri: Uri, diagnostics: vscode.Diagnostic[]): void {
        this.entries.set(uri.toString(), diagnostics);
    }

    clear(): void {
        this.clears += 1;
        this.entries.clear();
    }
}

export class FakeStatusBarItem {
    text = '';
    tooltip: string | undefined;
    command: string | undefined;
    visible = false;

    show(): void {
        this.visible = true;
    }
}

export class FakeCancellationToken {
    private listeners: Array<() => void> = [];
    isCancellationRequested = false;

    onCancellationRequested = (listener: () => void) => {
        this.listeners.push(listener);
        return { dispose: () => (this.listeners = this.listeners.filter((candidate) => candidate !== listener)) };
    };

    cancel(): void {
        this.isCancellationRequested = true;
        for (const listener of this.listeners) {
            listener();
        }
    }
}

export function asVscode<T>(fake: unknown): T {
    return fake as T;
}

export { Uri };
