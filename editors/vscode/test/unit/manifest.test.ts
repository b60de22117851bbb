import * as fs from 'fs';
import { describe, expect, it } from 'vitest';

// package.json declares what VS Code shows; the sources must register and
// read exactly that. These checks catch a command or setting renamed on one
// side only.

const manifest = JSON.parse(fs.readFileSync(new URL('../../package.json', import.meta.url), 'utf8'));
const source = (file: string) => fs.readFileSync(new URL(`../../src/${file}`, import.meta.url), 'utf8');

const declaredCommands: string[] = manifest.contributes.commands.map((command: { command: string }) => command.command);
const registeredCommands = [...source('extension.ts').matchAll(/userCommand\('([\w.]+)'/g)].map((match) => match[1]);
const declaredSettings = Object.keys(manifest.contributes.configuration.properties);

describe('package.json', () => {
    it('declares every registered command', () => {
        expect([...declaredCommands].sort()).toEqual([...registeredCommands].sort());
    });

    it('gives no command the name of a server command', () => {
        const serverCommands = [...source('protocol.ts').matchAll(/: '(archon\.\w+)'/g)].map((match) => match[1]);

        expect(declaredCommands.filter((command) => serverCommands.includes(command))).toEqual([]);
    });

    it('declares every setting the extension reads', () => {
        const read = [...source('settings.ts').matchAll(/config\.get\('([\w.]+)'\)/g)].map((match) => `archon.${match[1]}`);

        expect(read.filter((key) => !declaredSettings.includes(key))).toEqual([]);
    });

    it('declares the trace setting of the client id', () => {
        const clientId = /CLIENT_ID = '(\w+)'/.exec(source('server.ts'))?.[1];

        expect(declaredSettings).toContain(`${clientId}.trace.server`);
    });

    it('points status-bar commands at declared commands', () => {
        const used = [...source('runs.ts').matchAll(/command = '([\w.]+)'/g), ...source('environments.ts').matchAll(/command = '([\w.]+)'/g)].map(
            (match) => match[1],
        );

        expect(used.filter((command) => !declaredCommands.includes(command))).toEqual([]);
    });

    it('ships the grammar and language configuration it names', () => {
        const files = [manifest.contributes.grammars[0].path, manifest.contributes.languages[0].configuration];

        expect(files.filter((file: string) => !fs.existsSync(new URL(`../../${file}`, import.meta.url)))).toEqual([]);
    });
});
