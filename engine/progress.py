"""Progress of a solve: vertex state from BuildKit's Status stream, and its display.

`ProgressTracker` turns `StatusResponse` messages into `ProgressEvent`s and
keeps the state of every vertex (name, cache hit, times, error, the tail of
its log). Three renderers show the events:

- `tty`: a live terminal view in the manner of buildx, built with rich:
  finished vertices scroll up, running ones show their elapsed time and
  the last lines of their log;
- `plain`: numbered lines (`#3 DONE 0.4s`), for logs and pipes;
- `json`: one JSON object per line for tools, for example
  `{"event": "vertex.completed", "digest": "sha256:...", "duration": 0.41}`.

`auto` picks `tty` when the stream is a terminal and `plain` otherwise.
Every text that leaves the tracker (vertex names, log lines, errors) goes
through a `SecretMasker` first.
"""

from __future__ import annotations

import collections
import json
import re
import sys
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Callable, Iterable, TextIO

from archon.engine.buildkit.pb import control_pb2

MODES = ("auto", "tty", "plain", "json", "quiet")

MASK = "****"

# Lines kept per vertex for error reports and run history.
LOG_TAIL_LINES = 40

# Log lines shown under each running vertex in the live view.
LIVE_LOG_LINES = 6


class SecretMasker:
    """Replaces every secret value in a text with `****`.

    A multi-line value is masked line by line, because a log shows it one
    line at a time. Each line is also masked without its surrounding
    whitespace. Longer pieces are replaced first, so a value that contains
    another is masked whole.
    """

    def __init__(self, values: Iterable[str | bytes] = ()):
        pieces: set[str] = set()
        for value in values:
            text = value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)
            for line in [text, *text.splitlines()]:
                for piece in (line.rstrip("\r\n"), line.strip()):
                    if piece and "\n" not in piece:
                        pieces.add(piece)
        ordered = sorted(pieces, key=len, reverse=True)
        self._pattern = re.compile("|".join(re.escape(piece) for piece in ordered)) if ordered else None

    def __bool__(self) -> bool:
        return self._pattern is not None

    def mask(self, text: str) -> str:
        if self._pattern is None or not text:
            return text
        return self._pattern.sub(MASK, text)


@dataclass(frozen=True)
class ProgressEvent:
    """One change in a solve.

    `kind` is one of vertex.started, vertex.completed, vertex.cached,
    vertex.errored, vertex.progress, log, warning, run.started,
    run.finished. `time` is Unix time in seconds.
    """

    kind: str
    time: float
    digest: str | None = None
    name: str | None = None
    component: str | None = None
    stream: int | None = None
    text: str | None = None
    duration: float | None = None
    error: str | None = None
    current: int | None = None
    total: int | None = None
    status: str | None = None

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"event": self.kind, "time": round(self.time, 6)}
        for key in ("digest", "name", "component", "stream", "text", "duration", "error", "current", "total", "status"):
            value = getattr(self, key)
            if value is not None:
                data[key] = round(value, 6) if key == "duration" else value
        return data


@dataclass
class VertexState:
    """The tracker's state of one vertex. Times are Unix seconds."""

    digest: str
    name: str
    number: int
    component: str | None = None
    cached: bool = False
    started: float | None = None
    completed: float | None = None
    error: str | None = None
    logs: collections.deque = field(default_factory=lambda: collections.deque(maxlen=LOG_TAIL_LINES))
    partial: dict[int, str] = field(default_factory=dict)
    statuses: dict[str, tuple[str, int, int, bool]] = field(default_factory=dict)

    @property
    def duration(self) -> float | None:
        if self.started is None or self.completed is None:
            return None
        return max(0.0, self.completed - self.started)

    @property
    def running(self) -> bool:
        return self.started is not None and self.completed is None

    @property
    def label(self) -> str:
        return f"[{self.component}] {self.name}" if self.component else self.name


def _seconds(timestamp) -> float | None:
    if timestamp.seconds == 0 and timestamp.nanos == 0:
        return None
    return timestamp.seconds + timestamp.nanos / 1e9


class ProgressTracker:
    """Vertex state for one run, built from the Status streams of its solves.

    `digest_map` maps the digests the daemon reports to the plan's digests
    (see `archon.engine.buildkit.digests`); states and events carry the
    plan's digests. `components` maps plan digests to the component that
    produced them, shown as a prefix of the vertex name. `listeners`
    receive every event in order. `update` may be called from the status thread while the main
    thread reads `vertices`; a lock keeps them consistent.
    """

    def __init__(
        self,
        masker: SecretMasker | None = None,
        components: dict[str, str] | None = None,
        listeners: Iterable[Callable[[ProgressEvent], None]] = (),
        digest_map: dict[str, str] | None = None,
    ):
        self.masker = masker or SecretMasker()
        self.components = components or {}
        self.digest_map = digest_map or {}
        self.listeners = list(listeners)
        self.vertices: dict[str, VertexState] = {}
        self.warnings: list[str] = []
        self.lock = threading.RLock()

    def emit(self, event: ProgressEvent) -> None:
        for listener in self.listeners:
            listener(event)

    def update(self, response: control_pb2.StatusResponse) -> None:
        with self.lock:
            for vertex in response.vertexes:
                self._on_vertex(vertex)
            for status in response.statuses:
                self._on_status(status)
            for entry in response.logs:
                self._on_log(entry)
            for warning in response.warnings:
                self._on_warning(warning)

    def _state(self, reported: str, name: str = "") -> VertexState:
        digest = self.digest_map.get(reported, reported)
        state = self.vertices.get(digest)
        if state is None:
            state = VertexState(
                digest=digest,
                name=self.masker.mask(name) or digest[:19],
                number=len(self.vertices) + 1,
                component=self.components.get(digest),
            )
            self.vertices[digest] = state
        elif name:
            state.name = self.masker.mask(name)
        return state

    def _event(self, kind: str, state: VertexState, **fields) -> ProgressEvent:
        return ProgressEvent(kind, time.time(), digest=state.digest, name=state.name, component=state.component, **fields)

    def _on_vertex(self, vertex: control_pb2.Vertex) -> None:
        state = self._state(vertex.digest, vertex.name)
        started = _seconds(vertex.started)
        completed = _seconds(vertex.completed)

        if vertex.cached and not state.cached:
            state.cached = True
            if completed is not None:
                state.started = state.started or started or completed
                state.completed = completed
                self.emit(self._event("vertex.cached", state))
                return

        if started is not None and state.started is None:
            state.started = started
            self.emit(self._event("vertex.started", state))

        if completed is not None and state.completed is None:
            state.completed = completed
            if state.started is None:
                state.started = started or completed
            self._flush_logs(state)
            if vertex.error:
                state.error = self.masker.mask(vertex.error)
                self.emit(self._event("vertex.errored", state, error=state.error, duration=state.duration))
            elif state.cached:
                self.emit(self._event("vertex.cached", state))
            else:
                self.emit(self._event("vertex.completed", state, duration=state.duration))

    def _on_status(self, status: control_pb2.VertexStatus) -> None:
        state = self._state(status.vertex)
        done = _seconds(status.completed) is not None
        name = self.masker.mask(status.name or status.ID)
        previous = state.statuses.get(status.ID)
        state.statuses[status.ID] = (name, status.current, status.total, done)
        if previous is None or previous[3] != done or done is False:
            self.emit(
                self._event(
                    "vertex.progress",
                    state,
                    status=name,
                    current=status.current,
                    total=status.total or None,
                    text="done" if done else None,
                )
            )

    def _on_log(self, entry: control_pb2.VertexLog) -> None:
        state = self._state(entry.vertex)
        text = state.partial.pop(entry.stream, "") + entry.msg.decode("utf-8", "replace")
        lines = text.split("\n")
        # Keep an unfinished last line until its end arrives, so a secret
        # split across two chunks is still masked as a whole.
        if lines[-1]:
            state.partial[entry.stream] = lines[-1]
        for line in lines[:-1]:
            self._add_log_line(state, entry.stream, line)

    def _flush_logs(self, state: VertexState) -> None:
        for stream, line in list(state.partial.items()):
            self._add_log_line(state, stream, line)
        state.partial.clear()

    def _add_log_line(self, state: VertexState, stream: int, line: str) -> None:
        masked = self.masker.mask(line.rstrip("\r"))
        state.logs.append(masked)
        self.emit(self._event("log", state, stream=stream, text=masked))

    def _on_warning(self, warning: control_pb2.VertexWarning) -> None:
        state = self._state(warning.vertex)
        text = self.masker.mask(warning.short.decode("utf-8", "replace"))
        self.warnings.append(text)
        self.emit(self._event("warning", state, text=text))

    def finish(self) -> None:
        """Flush unfinished log lines of every vertex."""
        with self.lock:
            for state in self.vertices.values():
                self._flush_logs(state)


# --- renderers ----------------------------------------------------------------


class Renderer:
    """Shows progress events; `close` is called once after the run."""

    def __init__(self, tracker: ProgressTracker | None = None):
        self.tracker = tracker

    def bind(self, tracker: ProgressTracker) -> None:
        self.tracker = tracker

    def start(self) -> None:
        pass

    def event(self, event: ProgressEvent) -> None:
        pass

    def message(self, text: str) -> None:
        """Show a line that is not about one vertex, such as the daemon in use."""

    def close(self) -> None:
        pass


class QuietRenderer(Renderer):
    pass


def _format_duration(seconds: float | None) -> str:
    if seconds is None:
        return ""
    if seconds < 60:
        return f"{seconds:.1f}s"
    minutes, rest = divmod(int(seconds), 60)
    return f"{minutes}m{rest:02d}s"


class PlainRenderer(Renderer):
    """Numbered lines in the manner of `buildctl --progress=plain`."""

    def __init__(self, stream: TextIO):
        super().__init__()
        self.stream = stream
        self.lock = threading.Lock()

    def _write(self, line: str) -> None:
        with self.lock:
            self.stream.write(line + "\n")
            self.stream.flush()

    def message(self, text: str) -> None:
        self._write(text)

    def event(self, event: ProgressEvent) -> None:
        if not event.digest or self.tracker is None:
            return
        state = self.tracker.vertices.get(event.digest)
        number = f"#{state.number}" if state else "#?"
        label = state.label if state else event.name
        if event.kind == "vertex.started":
            self._write(f"{number} {label}")
        elif event.kind == "vertex.cached":
            self._write(f"{number} {label}")
            self._write(f"{number} CACHED")
        elif event.kind == "vertex.completed":
            self._write(f"{number} DONE {_format_duration(event.duration)}")
        elif event.kind == "vertex.errored":
            self._write(f"{number} ERROR: {event.error}")
        elif event.kind == "log":
            elapsed = ""
            if state and state.started is not None:
                elapsed = f"{max(0.0, event.time - state.started):.3f} "
            self._write(f"{number} {elapsed}{event.text}")
        elif event.kind == "vertex.progress" and event.text == "done":
            self._write(f"{number} {event.status} done")
        elif event.kind == "warning":
            self._write(f"{number} WARNING: {event.text}")


class JsonRenderer(Renderer):
    """One JSON object per event and line."""

    def __init__(self, stream: TextIO):
        super().__init__()
        self.stream = stream
        self.lock = threading.Lock()

    def event(self, event: ProgressEvent) -> None:
        with self.lock:
            self.stream.write(json.dumps(event.to_json(), ensure_ascii=False) + "\n")
            self.stream.flush()

    def message(self, text: str) -> None:
        self.event(ProgressEvent("message", time.time(), text=text))


class RichRenderer(Renderer):
    """A live terminal view: finished vertices scroll up, running ones stay below with their log tail."""

    def __init__(self, stream: TextIO | None = None, console=None):
        super().__init__()
        from rich.console import Console

        self.console = console or Console(file=stream or sys.stdout)
        self.live = None
        self.started = time.time()

    def start(self) -> None:
        from rich.live import Live

        self.started = time.time()
        # Live redraws on its own thread and calls `_render_running` for each frame.
        self.live = Live(get_renderable=self._render_running, console=self.console, refresh_per_second=8, transient=True)
        self.live.start()

    def message(self, text: str) -> None:
        self.console.print(text, highlight=False)

    def event(self, event: ProgressEvent) -> None:
        if self.tracker is None or not event.digest:
            return
        state = self.tracker.vertices.get(event.digest)
        if state is None:
            return
        if event.kind in ("vertex.completed", "vertex.cached", "vertex.errored"):
            # An error's message and log tail come in the run's failure report.
            self.console.print(self._finished_line(state))
        elif event.kind == "warning":
            self.console.print(f"[yellow]WARNING[/] {event.text}", highlight=False)

    def _finished_line(self, state: VertexState):
        from rich.text import Text

        line = Text()
        if state.error and "cancel" in state.error:
            line.append("⊘ ", style="yellow")
            line.append(state.label)
            line.append("  CANCELED", style="yellow")
            return line
        if state.error:
            line.append("✘ ", style="bold red")
        elif state.cached:
            line.append("✔ ", style="blue")
        else:
            line.append("✔ ", style="green")
        line.append(state.label)
        if state.cached and not state.error:
            line.append("  CACHED", style="blue")
        else:
            line.append(f"  {_format_duration(state.duration)}", style="dim")
        return line

    def _render_running(self):
        from rich.console import Group
        from rich.spinner import Spinner
        from rich.table import Table
        from rich.text import Text

        if self.tracker is None:
            return Text("")
        with self.tracker.lock:
            running = [state for state in self.tracker.vertices.values() if state.running]
            rows = []
            for state in running:
                elapsed = _format_duration(time.time() - state.started) if state.started else ""
                table = Table.grid(padding=(0, 1))
                table.add_column(width=1)
                table.add_column(ratio=1, no_wrap=True, overflow="ellipsis")
                table.add_column(justify="right")
                table.add_row(Spinner("dots", style="cyan"), Text(state.label), Text(elapsed, style="dim"))
                rows.append(table)
                for name, current, total, done in list(state.statuses.values())[-3:]:
                    if not done:
                        amount = f"{current}/{total}" if total else f"{current}"
                        rows.append(Text(f"    {name} {amount}", style="dim", no_wrap=True, overflow="ellipsis"))
                for line in list(state.logs)[-LIVE_LOG_LINES:]:
                    rows.append(Text(f"    {line}", style="dim", no_wrap=True, overflow="ellipsis"))
        total = _format_duration(time.time() - self.started)
        rows.append(Text(f"running {len(running)} step(s), {total} elapsed", style="dim"))
        return Group(*rows)

    def close(self) -> None:
        if self.live is not None:
            self.live.stop()
            self.live = None


def make_renderer(mode: str = "auto", stream: TextIO | None = None) -> Renderer:
    """Create the renderer for `mode` (auto, tty, plain, json, quiet) writing to `stream` (stdout by default)."""
    stream = stream or sys.stdout
    if mode not in MODES:
        raise ValueError(f"invalid progress mode {mode!r}; use one of: {', '.join(MODES)}")
    if mode == "auto":
        mode = "tty" if hasattr(stream, "isatty") and stream.isatty() else "plain"
    if mode == "tty":
        return RichRenderer(stream)
    if mode == "plain":
        return PlainRenderer(stream)
    if mode == "json":
        return JsonRenderer(stream)
    return QuietRenderer()


def utc(seconds: float | None) -> datetime | None:
    return datetime.fromtimestamp(seconds, tz=timezone.utc) if seconds is not None else None
