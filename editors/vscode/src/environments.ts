// Keeps the environment status-bar item in step with the server, and lets
// the user pick another environment from a quick pick.

import type * as vscode from 'vscode';
import { traceError, traceInfo } from './logging';
import { ServerCommand, type EnvironmentList } from './protocol';
import { environmentStatusText } from './statusText';
import { showErrorMessage, showInformationMessage, showQuickPick } from './vscodeapi';

export interface EnvironmentConnection {
    executeServerCommand<T>(command: string, args: object): Promise<T>;
}

interface EnvironmentPick extends vscode.QuickPickItem {
    name: string;
}

export class EnvironmentController {
    private list: EnvironmentList | undefined;

    constructor(
        private readonly connection: EnvironmentConnection,
        private readonly status: vscode.StatusBarItem,
    ) {
        this.status.command = 'archon.chooseEnvironment';
        this.render();
        this.status.show();
    }

    /** The environment runs should use: the selected one, else the default, else none. */
    get current(): string | undefined {
        const list = this.list;
        if (list === undefined) {
            return undefined;
        }
        if (list.selected && list.environments.some((environment) => environment.name === list.selected)) {
            return list.selected;
        }
        return list.environments.find((environment) => environment.default)?.name;
    }

    /** Reloads the environments after the server started; failures are only logged. */
    async refresh(): Promise<void> {
        try {
            await this.load();
        } catch (error) {
            traceError('Loading the environments failed:', error);
        }
    }

    /** Shows a quick pick of environments and selects the chosen one on the server. */
    async choose(): Promise<string | undefined> {
        try {
            const list = await this.load();
            if (list.environments.length === 0) {
                void showInformationMessage('Archon: the language server reports no environment for this workspace.');
                return undefined;
            }

            const items: EnvironmentPick[] = list.environments.map((environment) => ({
                name: environment.name,
                label: environment.name,
                description: `plan ${environment.plan}`,
                detail: environment.default ? 'default environment' : undefined,
                picked: environment.name === this.current,
            }));
            const choice = await showQuickPick(items, {
                title: 'Archon: Select Environment',
                placeHolder: `Current: ${this.current ?? 'none'}`,
                matchOnDescription: true,
            });
            if (choice === undefined) {
                return undefined;
            }

            await this.connection.executeServerCommand(ServerCommand.selectEnvironment, { name: choice.name });
            traceInfo(`Selected environment ${choice.name}`);
            this.list = { ...list, selected: choice.name };
            this.render();
            return choice.name;
        } catch (error) {
            const message = error instanceof Error ? error.message : String(error);
            void showErrorMessage(`Archon: selecting an environment failed: ${message}`);
            return undefined;
        }
    }

    private async load(): Promise<EnvironmentList> {
        const response = await this.connection.executeServerCommand<EnvironmentList>(ServerCommand.listEnvironments, {});
        const list: EnvironmentList = {
            environments: Array.isArray(response?.environments) ? response.environments : [],
            selected: response?.selected ?? null,
        };
        this.list = list;
        this.render();
        return list;
    }

    private render(): void {
        const text = environmentStatusText(this.list);
        this.status.text = text.text;
        this.status.tooltip = text.tooltip;
    }
}
