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
    const start = run.start ? Date.parse(run.start) : Number.NaN;
    const end = run.end ? Date.parse(run.end) : Number.NaN;
    const duration = Number.isNaN(start) || Number.isNaN(end) ? '' : ` in ${formatDuration(end - start)}`;
    return {
        label: `${icon} ${run.id}`,
        description: `${run.environment} · ${run.status}${duration}`,
        detail: run.start ? `started ${run.start}` : 'start not recorded',
    };
}

export async function showHistory(connection: HistoryConnection): Promise<void> {
    try {
        const response = await connection.executeServerCommand<HistoryResult>(ServerCommand.history, { limit: HISTORY_LIMIT });
        const runs = Array.isArray(response?.runs) ? response.runs : [];
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
