// "Archon: Set Input" prompts for an input's name, kind and value and sends
// them with archon.setInput. On a line with an @input() attribute the name
// and kind are proposed from that line. Values are never logged.

import type * as vscode from 'vscode';
import { traceInfo } from './logging';
import { INPUT_KINDS, ServerCommand, type InputKind, type SetInputArguments } from './protocol';
import {
    getActiveTextEditor,
    showErrorMessage,
    showInformationMessage,
    showInputBox,
    showOpenDialog,
    showQuickPick,
} from './vscodeapi';

export interface InputConnection {
    executeServerCommand<T>(command: string, args: object): Promise<T>;
}

export interface InputDeclaration {
    name: string;
    kind: InputKind | undefined;
}

const KIND_DESCRIPTIONS: Record<InputKind, string> = {
    text: 'a string',
    json: 'a value written as JSON',
    yaml: 'a value written as YAML',
    file: 'a file of this machine',
    dir: 'a directory of this machine',
    git: 'a git remote, with an optional #ref',
    secret: 'a secret, entered in a password box and never shown',
    bool: 'true or false',
};

const FIELD_WITH_INPUT = /^\s*([A-Za-z_$][\w$]*|"(?:[^"\\]|\\.)+")\??\s*:\s*(.*?)@input\(/;

/** Reads the input that a line of CUE declares, as in `token: op.#Secret @input()`. */
export function inputAtLine(line: string): InputDeclaration | undefined {
    const match = FIELD_WITH_INPUT.exec(line);
    if (match === null) {
        return undefined;
    }
    const name = match[1].startsWith('"') ? (JSON.parse(match[1]) as string) : match[1];
    return { name, kind: guessKind(match[2]) };
}

function guessKind(typeText: string): InputKind | undefined {
    if (/#Secret\b/.test(typeText)) {
        return 'secret';
    }
    if (/#Dir\b/.test(typeText)) {
        return 'dir';
    }
    if (/#File\b/.test(typeText)) {
        return 'file';
    }
    if (/#Git\b/.test(typeText)) {
        return 'git';
    }
    if (/\bbool\b/.test(typeText)) {
        return 'bool';
    }
    if (/\bstring\b/.test(typeText)) {
        return 'text';
    }
    return undefined;
}

/** Returns undefined for valid JSON, else the message shown under the input box. */
export function validateJson(value: string): string | undefined {
    try {
        JSON.parse(value);
        return undefined;
    } catch (error) {
        return `Invalid JSON: ${error instanceof Error ? error.message : String(error)}`;
    }
}

async function askValue(name: string, kind: InputKind): Promise<string | undefined> {
    switch (kind) {
        case 'secret':
            return showInputBox({ title: `Secret input ${name}`, prompt: 'The value is sent to the language server only.', password: true, ignoreFocusOut: true });
        case 'bool': {
            const choice = await showQuickPick([{ label: 'true' }, { label: 'false' }], { title: `Input ${name}` });
            return choice?.label;
        }
        case 'file':
        case 'dir': {
            const picked = await showOpenDialog({
                title: `Input ${name}`,
                canSelectFiles: kind === 'file',
                canSelectFolders: kind === 'dir',
                canSelectMany: false,
                openLabel: `Use as ${name}`,
            });
            return picked?.[0]?.fsPath;
        }
        case 'json':
            return showInputBox({ title: `Input ${name} (JSON)`, validateInput: validateJson, ignoreFocusOut: true });
        case 'git':
            return showInputBox({ title: `Input ${name} (git)`, placeHolder: 'https://example.com/org/repo.git#main', ignoreFocusOut: true });
        default:
            return showInputBox({ title: `Input ${name} (${kind})`, ignoreFocusOut: true });
    }
}

/** Runs the whole quick-input flow; returns the arguments sent, or undefined when the user stopped. */
export async function setInput(connection: InputConnection): Promise<SetInputArguments | undefined> {
    const editor = getActiveTextEditor();
    const declared = editor ? inputAtLine(editor.document.lineAt(editor.selection.active.line).text) : undefined;

    const name = await showInputBox({
        title: 'Archon: Set Input',
        prompt: 'Name of the input field (a field with an @input() attribute)',
        value: declared?.name,
        validateInput: (value) => (value.trim() === '' ? 'Enter the name of an input.' : undefined),
    });
    if (name === undefined) {
        return undefined;
    }

    const kindItems: Array<vscode.QuickPickItem & { inputKind: InputKind }> = INPUT_KINDS.map((kind) => ({
        inputKind: kind,
        label: kind,
        description: KIND_DESCRIPTIONS[kind],
        picked: kind === declared?.kind,
    }));
    // Put the proposed kind first so that Enter accepts it.
    kindItems.sort((a, b) => Number(b.picked) - Number(a.picked));
    const kindChoice = await showQuickPick(kindItems, { title: `Kind of input ${name}` });
    if (kindChoice === undefined) {
        return undefined;
    }

    const value = await askValue(name, kindChoice.inputKind);
    if (value === undefined) {
        return undefined;
    }

    const args: SetInputArguments = { name: name.trim(), kind: kindChoice.inputKind, value };
    try {
        await connection.executeServerCommand(ServerCommand.setInput, args);
    } catch (error) {
        const message = error instanceof Error ? error.message : String(error);
        void showErrorMessage(`Archon: setting input ${args.name} failed: ${message}`);
        return undefined;
    }
    traceInfo(`Set input ${args.name} (${args.kind})`);
    void showInformationMessage(`Archon: input ${args.name} set.`);
    return args;
}
