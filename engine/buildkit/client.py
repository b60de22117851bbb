"""Calls to BuildKit's Control service: Solve with its Status stream, ListWorkers, DiskUsage, Prune."""

from __future__ import annotations

import logging
import re
import threading
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Callable, Iterable, Mapping

import grpc

from archon.engine.buildkit.connect import Connection
from archon.engine.buildkit.pb import control_pb2
from archon.runtime.llb.pb import ops_pb2

log = logging.getLogger(__name__)

StatusCallback = Callable[[control_pb2.StatusResponse], None]

# How often a waiting solve checks its cancel event, in seconds.
CANCEL_POLL_INTERVAL = 0.1

# How long to wait for the Status stream to drain after the solve ends, in seconds.
STATUS_DRAIN_TIMEOUT = 10.0

_EXIT_CODE = re.compile(r"exit code: (-?\d+)")


@dataclass(frozen=True)
class Exporter:
    """An exporter of the solve result: `type` such as local, image, moby, tar."""

    type: str
    attrs: Mapping[str, str] = field(default_factory=dict)


class SolveError(Exception):
    """A solve that the daemon rejected or that failed.

    `code` is the gRPC status code, `exit_code` the exit code of a failed
    exec when the daemon's message carries one.
    """

    def __init__(self, message: str, code: grpc.StatusCode | None = None):
        super().__init__(message)
        self.message = message
        self.code = code
        match = _EXIT_CODE.search(message)
        self.exit_code = int(match.group(1)) if match else None


class SolveCancelled(Exception):
    """The solve was cancelled by the caller; the daemon stopped it."""


@dataclass
class SolveOutcome:
    ref: str
    exporter_response: dict[str, str]


def _timestamp(value) -> datetime | None:
    if value is None or (value.seconds == 0 and value.nanos == 0):
        return None
    return value.ToDatetime(tzinfo=timezone.utc)


@dataclass(frozen=True)
class UsageRecord:
    """One build cache record; `size` in bytes."""

    id: str
    size: int
    mutable: bool
    in_use: bool
    shared: bool
    description: str
    record_type: str
    usage_count: int
    created_at: datetime | None
    last_used_at: datetime | None
    parents: tuple[str, ...]

    @classmethod
    def from_proto(cls, record: control_pb2.UsageRecord) -> "UsageRecord":
        parents = tuple(record.Parents) or ((record.Parent,) if record.Parent else ())
        return cls(
            id=record.ID,
            size=record.Size,
            mutable=record.Mutable,
            in_use=record.InUse,
            shared=record.Shared,
            description=record.Description,
            record_type=record.RecordType,
            usage_count=record.UsageCount,
            created_at=_timestamp(record.CreatedAt) if record.HasField("CreatedAt") else None,
            last_used_at=_timestamp(record.LastUsedAt) if record.HasField("LastUsedAt") else None,
            parents=parents,
        )


@dataclass(frozen=True)
class Worker:
    id: str
    labels: dict[str, str]
    platforms: tuple[str, ...]
    buildkit_version: str | None


class Client:
    """The Control service of one connection."""

    def __init__(self, connection: Connection):
        self.connection = connection
        self.control = connection.control

    # --- inspection ---------------------------------------------------------

    def list_workers(self, filters: Iterable[str] = (), *, timeout: float = 10.0) -> list[Worker]:
        answer = self.control.ListWorkers(control_pb2.ListWorkersRequest(filter=list(filters)), timeout=timeout)
        workers = []
        for record in answer.record:
            platforms = tuple(
                f"{p.OS}/{p.Architecture}" + (f"/{p.Variant}" if p.Variant else "") for p in record.platforms
            )
            version = record.BuildkitVersion.version if record.HasField("BuildkitVersion") else ""
            workers.append(Worker(record.ID, dict(record.Labels), platforms, version or None))
        return workers

    def disk_usage(self, filters: Iterable[str] = (), *, timeout: float = 60.0) -> list[UsageRecord]:
        answer = self.control.DiskUsage(control_pb2.DiskUsageRequest(filter=list(filters)), timeout=timeout)
        return [UsageRecord.from_proto(record) for record in answer.record]

    def prune(
        self,
        *,
        all: bool = False,
        keep_duration_seconds: float | None = None,
        filters: Iterable[str] = (),
        timeout: float = 600.0,
    ) -> list[UsageRecord]:
        """Remove build cache records and return the removed ones.

        Without `all`, only records that no image or named cache refers to
        are removed; `keep_duration_seconds` keeps records used more recently.
        """
        request = control_pb2.PruneRequest(filter=list(filters), all=all)
        if keep_duration_seconds is not None:
            # BuildKit reads keepDuration as a Go time.Duration: nanoseconds.
            request.keepDuration = int(keep_duration_seconds * 1e9)
        return [UsageRecord.from_proto(record) for record in self.control.Prune(request, timeout=timeout)]

    # --- solving ------------------------------------------------------------

    def solve(
        self,
        definition: bytes | ops_pb2.Definition,
        *,
        ref: str,
        session_id: str,
        exporter: Exporter | None = None,
        frontend_attrs: Mapping[str, str] | None = None,
        cache_imports: Iterable[Exporter] = (),
        cache_exports: Iterable[Exporter] = (),
        entitlements: Iterable[str] = (),
        on_status: StatusCallback | None = None,
        cancel_event: threading.Event | None = None,
    ) -> SolveOutcome:
        """Solve `definition` and stream its progress to `on_status`.

        Status is requested with the same `ref` and read on a second thread
        while the solve runs. Setting `cancel_event` cancels the Solve call,
        which makes the daemon stop the solve, and raises `SolveCancelled`.
        Raises `SolveError` when the daemon reports a failure.
        """
        request = self._solve_request(
            definition, ref, session_id, exporter, frontend_attrs, cache_imports, cache_exports, entitlements
        )

        status_call = self.control.Status(control_pb2.StatusRequest(Ref=ref))
        status_thread = threading.Thread(
            target=self._read_status, args=(status_call, on_status), name=f"archon-status-{ref[:8]}", daemon=True
        )
        status_thread.start()

        solve_call = self.control.Solve.future(request)
        cancelled = False
        try:
            while True:
                if cancel_event is not None and cancel_event.is_set():
                    cancelled = True
                    solve_call.cancel()
                    break
                try:
                    response = solve_call.result(timeout=CANCEL_POLL_INTERVAL)
                    break
                except grpc.FutureTimeoutError:
                    continue
        except KeyboardInterrupt:
            cancelled = True
            solve_call.cancel()
        except grpc.FutureCancelledError:
            cancelled = True
        except grpc.RpcError as error:
            status_thread.join(STATUS_DRAIN_TIMEOUT)
            status_call.cancel()
            if error.code() == grpc.StatusCode.CANCELLED:
                raise SolveCancelled(f"solve {ref} was cancelled") from None
            raise SolveError(error.details() or str(error), error.code()) from None

        if cancelled:
            # The daemon ends the Status stream once the cancelled job is gone.
            status_thread.join(STATUS_DRAIN_TIMEOUT)
            status_call.cancel()
            raise SolveCancelled(f"solve {ref} was cancelled")

        status_thread.join(STATUS_DRAIN_TIMEOUT)
        status_call.cancel()
        return SolveOutcome(ref, dict(response.ExporterResponse))

    @staticmethod
    def _solve_request(definition, ref, session_id, exporter, frontend_attrs, cache_imports, cache_exports, entitlements):
        if isinstance(definition, (bytes, bytearray)):
            definition = ops_pb2.Definition.FromString(bytes(definition))

        request = control_pb2.SolveRequest(
            Ref=ref,
            Definition=definition,
            Session=session_id,
            FrontendAttrs=dict(frontend_attrs or {}),
            Entitlements=list(entitlements),
        )
        if exporter is not None:
            # Daemons before BuildKit v0.13 read only the single-exporter
            # fields; newer ones read Exporters. Both are sent.
            request.ExporterDeprecated = exporter.type
            request.ExporterAttrsDeprecated.update(exporter.attrs)
            request.Exporters.add(Type=exporter.type, Attrs=dict(exporter.attrs))
        for entry in cache_imports:
            request.Cache.Imports.add(Type=entry.type, Attrs=dict(entry.attrs))
        for entry in cache_exports:
            request.Cache.Exports.add(Type=entry.type, Attrs=dict(entry.attrs))
        return request

    @staticmethod
    def _read_status(call, on_status: StatusCallback | None) -> None:
        try:
            for response in call:
                if on_status is not None:
                    try:
                        on_status(response)
                    except Exception:
                        log.exception("progress callback failed; later status updates are still read")
        except grpc.RpcError as error:
            if error.code() not in (grpc.StatusCode.CANCELLED,):
                log.debug("status stream ended: %s", error.details())
