// "Archon: Show History" lists the latest runs from archon.history in a
// quick pick; choosing one copies its run id to the clipboard.

import type * as vscode from 'vscode';
import { ServerCommand, type HistoryEntry, type HistoryResult } from './protocol';
import { formatDuration } from './statusText';
import { showErrorMessage, showInformationMessage, showQuickPick, writeClipboard } from './vscodeapi';

export const HISTORY_LIMIT = 50;

export interface HistoryConnection {
    executeServerCommand<T>(command: string, args: object): Promise<T>;
}

const STATUS_ICONS: Record<string, string> = {
    succeeded: '$(pass)',
    failed: '$(error)',
    cancelled: '$(circle-slash)',
    running: '$(sync~spin)',
};

export function historyItem(run: HistoryEntry): vscode.QuickPickItem {
    const icon = STATUS_ICONS[run.status] ?? '$(question)';
    const start = new Date(run.start);
    const end = run.end ? new Date(run.end) : undefined;
    const duration =
        end !== undefined && !Number.isNaN(end.getTime()) && !Number.isNaN(start.getTime())
            ? ` in ${formatDuration(end.getTime() - start.getTime())}`
            : '';
    return {
        label: `${icon} ${run.id}`,
        description: `${run.environment} · ${run.status}${duration}`,
        detail: `started ${run.start}`,
    };
}

export async function showHistory(connection: HistoryConnection): Promise<void> {
    try {
        const answer = await connection.executeServerCommand<HistoryResult>(ServerCommand.history, { limit: HISTORY_LIMIT });
        const runs = Array.isArray(answer?.runs) ? answer.runs : [];
        if (runs.length === 0) {
            void showInformationMessage('Archon: no run is recorded for this workspace yet.');
            return;
        }

        const items = runs.map((run) => ({ ...historyItem(run), id: run.id }));
        const choice = await showQuickPick(items, {
            title: `Archon: last ${runs.length} runs`,
            placeHolder: 'Choose a run to copy its id',
            matchOnDescription: true,
        });
        if (choice !== undefined) {
            await writeClipboard(choice.id);
        }
    } catch (error) {
        const message = error instanceof Error ? error.message : String(error);
        void showErrorMessage(`Archon: loading the run history failed: ${message}`);
    }
}
