// Lets the user choose a component of a CUE document for "Run Component"
// when the command does not come from a code lens. The components come from
// archon.previewLLB; the one under the cursor is offered first.

import type { GraphComponent, LLBGraph, LspPosition, LspRange } from './protocol';
import { ServerCommand } from './protocol';
import { showQuickPick } from './vscodeapi';

export interface ComponentConnection {
    executeServerCommand<T>(command: string, args: object): Promise<T>;
}

function comparePositions(a: LspPosition, b: LspPosition): number {
    return a.line !== b.line ? a.line - b.line : a.character - b.character;
}

function contains(range: LspRange, position: LspPosition): boolean {
    return comparePositions(range.start, position) <= 0 && comparePositions(position, range.end) <= 0;
}

/** Orders components so that those enclosing the position come first, innermost first. */
export function orderComponents(
    components: readonly GraphComponent[],
    documentUri: string,
    position: LspPosition | undefined,
): GraphComponent[] {
    const enclosing = (component: GraphComponent): boolean =>
        position !== undefined && component.uri === documentUri && !!component.range && contains(component.range, position);
    const span = (component: GraphComponent): number =>
        component.range ? component.range.end.line - component.range.start.line : Number.MAX_SAFE_INTEGER;

    return [...components].sort((a, b) => {
        const aEncloses = enclosing(a);
        const bEncloses = enclosing(b);
        if (aEncloses !== bEncloses) {
            return aEncloses ? -1 : 1;
        }
        if (aEncloses && bEncloses) {
            return span(a) - span(b);
        }
        return a.path.localeCompare(b.path);
    });
}

/** Shows a quick pick of the document's components; returns the chosen path. */
export async function pickComponent(
    connection: ComponentConnection,
    documentUri: string,
    position: LspPosition | undefined,
): Promise<string | undefined> {
    const graph = await connection.executeServerCommand<LLBGraph>(ServerCommand.previewLLB, { uri: documentUri });
    const components = orderComponents(graph?.components ?? [], documentUri, position);
    if (components.length === 0) {
        throw new Error(`${documentUri} has no component: a component is a struct with a #up field.`);
    }

    const choice = await showQuickPick(
        components.map((component) => ({
            label: component.path,
            description: component.range ? `line ${component.range.start.line + 1}` : undefined,
            path: component.path,
        })),
        { title: 'Archon: Run Component', placeHolder: 'Component to run' },
    );
    return choice?.path;
}
