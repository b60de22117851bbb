// A thin layer over the VS Code functions this extension calls. Modules call
// these instead of `vscode.window` or `vscode.workspace` so that unit tests
// can replace them with vi.mock and run outside VS Code.

import * as vscode from 'vscode';

export function createOutputChannel(name: string): vscode.OutputChannel {
    return vscode.window.createOutputChannel(name);
}

export function createLogOutputChannel(name: string): vscode.LogOutputChannel {
    return vscode.window.createOutputChannel(name, { log: true });
}

export function createStatusBarItem(
    id: string,
    alignment: vscode.StatusBarAlignment,
    priority: number,
): vscode.StatusBarItem {
    return vscode.window.createStatusBarItem(id, alignment, priority);
}

export function createDiagnosticCollection(name: string): vscode.DiagnosticCollection {
    return vscode.languages.createDiagnosticCollection(name);
}

export function showErrorMessage<T extends string>(message: string, ...items: T[]): Thenable<T | undefined> {
    return vscode.window.showErrorMessage(message, ...items);
}

export function showWarningMessage<T extends string>(message: string, ...items: T[]): Thenable<T | undefined> {
    return vscode.window.showWarningMessage(message, ...items);
}

export function showInformationMessage<T extends string>(message: string, ...items: T[]): Thenable<T | undefined> {
    return vscode.window.showInformationMessage(message, ...items);
}

export function showQuickPick<T extends vscode.QuickPickItem>(
    items: readonly T[] | Thenable<readonly T[]>,
    options?: vscode.QuickPickOptions,
): Thenable<T | undefined> {
    return vscode.window.showQuickPick(items, options);
}

export function showInputBox(options: vscode.InputBoxOptions): Thenable<string | undefined> {
    return vscode.window.showInputBox(options);
}

export function showOpenDialog(options: vscode.OpenDialogOptions): Thenable<vscode.Uri[] | undefined> {
    return vscode.window.showOpenDialog(options);
}

export function withProgress<R>(
    options: vscode.ProgressOptions,
    task: (
        progress: vscode.Progress<{ message?: string; increment?: number }>,
        token: vscode.CancellationToken,
    ) => Thenable<R>,
): Thenable<R> {
    return vscode.window.withProgress(options, task);
}

export function createWebviewPanel(
    viewType: string,
    title: string,
    showOptions: vscode.ViewColumn | { viewColumn: vscode.ViewColumn; preserveFocus?: boolean },
    options: vscode.WebviewPanelOptions & vscode.WebviewOptions,
): vscode.WebviewPanel {
    return vscode.window.createWebviewPanel(viewType, title, showOptions, options);
}

export function getActiveTextEditor(): vscode.TextEditor | undefined {
    return vscode.window.activeTextEditor;
}

export async function showTextDocument(
    uri: vscode.Uri,
    options: vscode.TextDocumentShowOptions,
): Promise<vscode.TextEditor> {
    const document = await vscode.workspace.openTextDocument(uri);
    return vscode.window.showTextDocument(document, options);
}

export function registerCommand(command: string, callback: (...args: any[]) => unknown): vscode.Disposable {
    return vscode.commands.registerCommand(command, callback);
}

export function executeCommand<T = unknown>(command: string, ...rest: unknown[]): Thenable<T> {
    return vscode.commands.executeCommand<T>(command, ...rest);
}

export function getConfiguration(section: string, scope?: vscode.ConfigurationScope): vscode.WorkspaceConfiguration {
    return vscode.workspace.getConfiguration(section, scope);
}

export function onDidChangeConfiguration(
    listener: (event: vscode.ConfigurationChangeEvent) => unknown,
): vscode.Disposable {
    return vscode.workspace.onDidChangeConfiguration(listener);
}

export function onDidSaveTextDocument(listener: (document: vscode.TextDocument) => unknown): vscode.Disposable {
    return vscode.workspace.onDidSaveTextDocument(listener);
}

export function getWorkspaceFolders(): readonly vscode.WorkspaceFolder[] {
    return vscode.workspace.workspaceFolders ?? [];
}

export function writeClipboard(text: string): Thenable<void> {
    return vscode.env.clipboard.writeText(text);
}
