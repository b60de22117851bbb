"""FileSync: the daemon reads a local directory from the client (`local` source ops).

The daemon calls `moby.filesync.v1.FileSync/DiffCopy` with the directory's
session name and patterns in the gRPC metadata, and Archon sends the tree
with fsutil's protocol:

1. one STAT packet per entry in walk order, then an empty STAT;
2. for each REQ packet (carrying the index of a regular file's STAT),
   the file's content as DATA packets, then an empty DATA packet;
3. when the daemon sends FIN, a FIN back, which ends the call.
"""

from __future__ import annotations

import logging
import queue
import threading
from dataclasses import dataclass
from typing import Iterator, Mapping

import grpc

from archon.engine.buildkit import fsutil
from archon.engine.buildkit.pb import wire_pb2

log = logging.getLogger(__name__)

SERVICE = "moby.filesync.v1.FileSync"

# fsutil sends file content in 32 KiB chunks; the daemon accepts any size.
DATA_CHUNK = 32 * 1024

Packet = wire_pb2.Packet

_END = object()


@dataclass(frozen=True)
class SyncedDir:
    """A directory the daemon may read under its session name `name`.

    `exclude` applies when the daemon sends no exclude patterns of its own.
    """

    name: str
    path: str
    exclude: tuple[str, ...] = ()


class FileSyncService:
    """Serves the directories in `dirs` (session name to `SyncedDir`)."""

    def __init__(self, dirs: Mapping[str, SyncedDir]):
        self.dirs = dict(dirs)

    def methods(self) -> list[str]:
        return [f"/{SERVICE}/DiffCopy"]

    def handler(self) -> grpc.GenericRpcHandler:
        return grpc.method_handlers_generic_handler(
            SERVICE,
            {
                "DiffCopy": grpc.stream_stream_rpc_method_handler(
                    self.diff_copy,
                    request_deserializer=Packet.FromString,
                    response_serializer=Packet.SerializeToString,
                ),
            },
        )

    def diff_copy(self, requests: Iterator[Packet], context: grpc.ServicerContext) -> Iterator[Packet]:
        metadata = _metadata(context)
        name = _first(metadata.get("dir-name")) or ""
        synced = self.dirs.get(name)
        if synced is None:
            known = ", ".join(sorted(self.dirs)) or "none"
            context.abort(
                grpc.StatusCode.NOT_FOUND,
                f"no local directory named {name!r} in this session (known: {known})",
            )

        include = metadata.get("include-patterns", [])
        exclude = metadata.get("exclude-patterns") or list(synced.exclude)
        follow_paths = metadata.get("followpaths", [])
        log.debug("FileSync %s: %s include=%s exclude=%s follow=%s", name, synced.path, include, exclude, follow_paths)

        try:
            entries = fsutil.walk(synced.path, include=include, exclude=exclude, follow_paths=follow_paths)
        except OSError as error:
            log.warning("FileSync %s: walk of %s failed: %s", name, synced.path, error)
            yield Packet(type=Packet.PACKET_ERR, data=str(error).encode())
            return

        yield from _Sender(entries, requests, context).run()


class _Sender:
    """One DiffCopy call: STATs first, then DATA for each REQ, until FIN.

    A reader thread takes the daemon's packets as they come and never
    blocks, because the daemon may request files while STATs are still
    being sent. A second thread reads the requested files in order.
    """

    def __init__(self, entries: list[fsutil.Entry], requests: Iterator[Packet], context: grpc.ServicerContext):
        self.entries = entries
        self.requests = requests
        self.context = context
        # Bounded, so a large file is read no faster than the daemon takes it.
        self.outgoing: queue.Queue = queue.Queue(maxsize=64)
        self.work: queue.Queue = queue.Queue()
        self.files = {
            index: entry.absolute
            for index, entry in enumerate(entries)
            if fsutil.is_regular(entry.stat.mode) and not entry.stat.linkname
        }
        self.stopped = threading.Event()

    def run(self) -> Iterator[Packet]:
        self.context.add_callback(self._stop)
        threading.Thread(target=self._read_requests, name="archon-filesync-reader", daemon=True).start()
        threading.Thread(target=self._send_files, name="archon-filesync-sender", daemon=True).start()

        for entry in self.entries:
            yield Packet(type=Packet.PACKET_STAT, stat=entry.stat)
        yield Packet(type=Packet.PACKET_STAT)

        while True:
            packet = self.outgoing.get()
            if packet is _END:
                return
            yield packet

    def _stop(self) -> None:
        self.stopped.set()
        self.work.put(_END)
        self._put(_END)

    def _put(self, item) -> None:
        while True:
            try:
                self.outgoing.put(item, timeout=0.5)
                return
            except queue.Full:
                if not self.stopped.is_set():
                    continue
                if item is not _END:
                    return
                # The call is over and nothing reads the rest: make room.
                try:
                    self.outgoing.get_nowait()
                except queue.Empty:
                    pass

    def _read_requests(self) -> None:
        try:
            for packet in self.requests:
                if packet.type == Packet.PACKET_REQ:
                    self.work.put(packet.ID)
                elif packet.type == Packet.PACKET_FIN:
                    self.work.put(Packet(type=Packet.PACKET_FIN))
                    return
                elif packet.type == Packet.PACKET_ERR:
                    log.warning("FileSync: the daemon reported an error: %s", packet.data.decode("utf-8", "replace"))
                    break
        except grpc.RpcError as error:
            log.debug("FileSync: request stream ended: %s", error)
        self.work.put(_END)

    def _send_files(self) -> None:
        while True:
            item = self.work.get()
            if item is _END or self.stopped.is_set():
                self._put(_END)
                return
            if isinstance(item, Packet):
                self._put(item)
                self._put(_END)
                return
            self._send_file(item)

    def _send_file(self, index: int) -> None:
        path = self.files.get(index)
        if path is None:
            self._put(Packet(type=Packet.PACKET_ERR, data=f"invalid file request {index}".encode()))
            return
        try:
            with open(path, "rb") as file:
                while not self.stopped.is_set():
                    chunk = file.read(DATA_CHUNK)
                    if not chunk:
                        break
                    self._put(Packet(type=Packet.PACKET_DATA, ID=index, data=chunk))
        except OSError as error:
            log.warning("FileSync: cannot read %s: %s", path, error)
            self._put(Packet(type=Packet.PACKET_ERR, data=f"cannot read {path}: {error.strerror}".encode()))
            return
        self._put(Packet(type=Packet.PACKET_DATA, ID=index))


def _metadata(context: grpc.ServicerContext) -> dict[str, list[str]]:
    values: dict[str, list[str]] = {}
    for key, value in context.invocation_metadata():
        values.setdefault(key.lower(), []).append(value)
    return values


def _first(values: list[str] | None) -> str | None:
    return values[0] if values else None
