// The commands and notifications that dagger-lsp serves, as written in
// docs/lsp-protocol.md. Every command takes one JSON object as its only
// argument of workspace/executeCommand. This module imports nothing from
// VS Code so that the webview and the protocol tests can use it as well.

/** Names of the server commands sent with workspace/executeCommand. */
export const ServerCommand = {
    run: 'archon.run',
    previewLLB: 'archon.previewLLB',
    listEnvironments: 'archon.listEnvironments',
    selectEnvironment: 'archon.selectEnvironment',
    setInput: 'archon.setInput',
    history: 'archon.history',
} as const;

/** Method of the notification that carries one log line of a running vertex. */
export const RUN_LOG_NOTIFICATION = 'archon/runLog';

/** A zero-based LSP position (UTF-16 code units, as LSP counts by default). */
export interface LspPosition {
    line: number;
    character: number;
}

export interface LspRange {
    start: LspPosition;
    end: LspPosition;
}

export interface RunArguments {
    /** Configuration file; the server falls back to the workspace's configuration. */
    uri?: string;
    /** Component path such as `app` or `stages.build`; the whole plan runs without it. */
    component?: string;
    /** Environment name; the server's selected environment is used without it. */
    environment?: string;
}

export type RunStatus = 'succeeded' | 'failed' | 'cancelled';

export interface RunFailure {
    component: string;
    message: string;
    /** Source of the failing component; absent when the failure has no place in a file. */
    uri?: string;
    range?: LspRange;
}

export interface RunResult {
    runId: string;
    status: RunStatus;
    durationMs: number;
    failures: RunFailure[];
    exports: Record<string, unknown>;
}

export interface RunLogParams {
    runId: string;
    /** Digest or name of the vertex that printed the line. */
    vertex: string;
    line: string;
}

export type VertexStatus = 'cached' | 'ran' | 'failed' | 'will-rebuild' | 'unknown';

export const VERTEX_STATUSES: readonly VertexStatus[] = ['cached', 'ran', 'failed', 'will-rebuild', 'unknown'];

export interface GraphVertex {
    digest: string;
    /** LLB op kind: `source`, `exec`, `file`, `build`, `merge` or `diff`. */
    kind: string;
    summary: string;
    component?: string | null;
    uri?: string | null;
    range?: LspRange | null;
    status: VertexStatus;
    /** Digests of the vertices whose results this vertex consumes. */
    inputs: string[];
}

/** One input reference, the same as an entry of `GraphVertex.inputs`. */
export interface GraphEdge {
    /** Digest of the vertex whose result is consumed. */
    from: string;
    /** Digest of the vertex that consumes it. */
    to: string;
}

export interface GraphComponent {
    path: string;
    digest: string;
    uri?: string | null;
    range?: LspRange | null;
}

export interface LLBGraph {
    vertices: GraphVertex[];
    edges: GraphEdge[];
    components: GraphComponent[];
    /** Digest of the definition's root vertex. */
    root: string;
}

export interface Environment {
    name: string;
    plan: string;
    default: boolean;
}

export interface EnvironmentList {
    environments: Environment[];
    selected: string | null;
}

export const INPUT_KINDS = ['text', 'json', 'yaml', 'file', 'dir', 'git', 'secret', 'bool'] as const;

export type InputKind = (typeof INPUT_KINDS)[number];

export interface SetInputArguments {
    name: string;
    kind: InputKind;
    value: string;
}

export interface HistoryEntry {
    id: string;
    environment: string;
    status: string;
    /** ISO 8601 timestamps, null when not recorded. `end` is null while the run is still going. */
    start: string | null;
    end: string | null;
}

export interface HistoryResult {
    runs: HistoryEntry[];
}
