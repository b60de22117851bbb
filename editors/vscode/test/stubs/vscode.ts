// A stand-in for the `vscode` module in unit tests: the value classes and
// enums the extension constructs, with VS Code's semantics where the tests
// depend on them. Functions of `window` and `workspace` are not here: the
// extension calls them through src/vscodeapi.ts, which tests mock.

export class Position {
    constructor(
        readonly line: number,
        readonly character: number,
    ) {}
}

export class Range {
    readonly start: Position;
    readonly end: Position;

    constructor(startLine: number, startCharacter: number, endLine: number, endCharacter: number) {
        this.start = new Position(startLine, startCharacter);
        this.end = new Position(endLine, endCharacter);
    }
}

export enum DiagnosticSeverity {
    Error = 0,
    Warning = 1,
    Information = 2,
    Hint = 3,
}

export class Diagnostic {
    source?: string;
    code?: string | number;

    constructor(
        readonly range: Range,
        readonly message: string,
        readonly severity: DiagnosticSeverity = DiagnosticSeverity.Error,
    ) {}
}

export class Uri {
    private constructor(private readonly value: string) {}

    static parse(value: string): Uri {
        return new Uri(value);
    }

    static file(path: string): Uri {
        return new Uri(`file://${path}`);
    }

    static joinPath(base: Uri, ...segments: string[]): Uri {
        return new Uri([base.value.replace(/\/$/, ''), ...segments].join('/'));
    }

    get scheme(): string {
        return this.value.slice(0, this.value.indexOf(':'));
    }

    get path(): string {
        return this.value.replace(/^[a-z]+:\/\/[^/]*/, '');
    }

    get fsPath(): string {
        return decodeURIComponent(this.value.replace(/^file:\/\//, ''));
    }

    toString(): string {
        return this.value;
    }
}

export class Disposable {
    constructor(private readonly callback: () => void) {}

    dispose(): void {
        this.callback();
    }
}

export class EventEmitter<T> {
    private listeners: Array<(value: T) => void> = [];

    readonly event = (listener: (value: T) => void): Disposable => {
        this.listeners.push(listener);
        return new Disposable(() => {
            this.listeners = this.listeners.filter((candidate) => candidate !== listener);
        });
    };

    fire(value: T): void {
        for (const listener of [...this.listeners]) {
            listener(value);
        }
    }

    dispose(): void {
        this.listeners = [];
    }
}

export enum ProgressLocation {
    SourceControl = 1,
    Window = 10,
    Notification = 15,
}

export enum StatusBarAlignment {
    Left = 1,
    Right = 2,
}

export enum ViewColumn {
    Active = -1,
    Beside = -2,
    One = 1,
    Two = 2,
}
