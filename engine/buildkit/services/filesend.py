"""FileSend: the daemon writes the `local` exporter's result into client directories.

The daemon calls `moby.filesync.v1.FileSend/DiffCopy` and sends the tree
with fsutil's protocol, with Archon as the receiving side:

1. the daemon sends one STAT packet per entry in walk order, then an empty STAT;
2. Archon sends a REQ packet with the index of each regular file's STAT,
   and the daemon responds with DATA packets and an empty DATA at the end;
3. once every file is written, Archon sends FIN and the daemon sends FIN back.

The method is declared with BytesMessage, but the local exporter sends fsutil
Packets on it, so the handler decodes the raw bytes itself.

Where each path lands is up to a *router*: a function from the path in the
exported tree ("dirs/site/index.html") to an absolute local path, or None
to drop that entry and everything below it.
"""

from __future__ import annotations

import collections
import logging
import os
import queue
import threading
from typing import Callable, Iterator

import grpc

from archon.engine.buildkit import fsutil
from archon.engine.buildkit.pb import wire_pb2

log = logging.getLogger(__name__)

SERVICE = "moby.filesync.v1.FileSend"

Packet = wire_pb2.Packet
Router = Callable[[str], "str | None"]

# Files requested at once; also the most files open at once.
MAX_OUTSTANDING_REQUESTS = 32

_END = object()


class ReceiveError(Exception):
    """The exported tree could not be written."""


class FileSendService:
    """Receives exported trees and writes them to the paths `router` returns.

    `received` counts the files written by all calls. `errors` collects
    the failures, which the daemon also reports as a failed export.
    """

    def __init__(self, router: Router):
        self.router = router
        self.received = 0
        self.errors: list[str] = []
        self._lock = threading.Lock()

    def methods(self) -> list[str]:
        return [f"/{SERVICE}/DiffCopy"]

    def handler(self) -> grpc.GenericRpcHandler:
        # No (de)serializers: requests arrive and responses leave as bytes.
        return grpc.method_handlers_generic_handler(
            SERVICE,
            {"DiffCopy": grpc.stream_stream_rpc_method_handler(self.diff_copy)},
        )

    def diff_copy(self, requests: Iterator[bytes], context: grpc.ServicerContext) -> Iterator[bytes]:
        receiver = _Receiver(self.router, requests)
        context.add_callback(receiver.stop)
        for packet in receiver.run():
            yield packet.SerializeToString()
        with self._lock:
            self.received += receiver.files_written
            if receiver.error:
                self.errors.append(receiver.error)


class _Receiver:
    def __init__(self, router: Router, requests: Iterator[bytes]):
        self.router = router
        self.requests = requests
        self.outgoing: queue.Queue = queue.Queue()
        self.files_written = 0
        self.error: str | None = None
        self.stopped = threading.Event()

        self.index = 0
        self.walk_done = False
        self.finished = False
        self.waiting: collections.deque[int] = collections.deque()
        self.requested: dict[int, tuple[str, object]] = {}
        self.open_files: dict[int, object] = {}
        self.files: dict[int, tuple[str, object]] = {}
        self.directories: list[tuple[str, object]] = []

    def run(self) -> Iterator[Packet]:
        threading.Thread(target=self._read, name="archon-filesend-reader", daemon=True).start()
        while True:
            packet = self.outgoing.get()
            if packet is _END:
                return
            yield packet

    def stop(self) -> None:
        self.stopped.set()
        self.outgoing.put(_END)

    def _read(self) -> None:
        try:
            for raw in self.requests:
                packet = Packet.FromString(raw)
                if packet.type == Packet.PACKET_STAT:
                    self._on_stat(packet)
                elif packet.type == Packet.PACKET_DATA:
                    self._on_data(packet)
                elif packet.type == Packet.PACKET_FIN:
                    break
                elif packet.type == Packet.PACKET_ERR:
                    raise ReceiveError(f"the daemon failed to send the export: {packet.data.decode('utf-8', 'replace')}")
        except ReceiveError as error:
            self._fail(str(error))
        except OSError as error:
            self._fail(f"cannot write the export: {error}")
        except grpc.RpcError as error:
            log.debug("FileSend: request stream ended: %s", error)
        finally:
            for file in self.open_files.values():
                file.close()
            self.open_files.clear()
            self.outgoing.put(_END)

    def _fail(self, message: str) -> None:
        log.warning("FileSend: %s", message)
        self.error = message
        self.outgoing.put(Packet(type=Packet.PACKET_ERR, data=message.encode()))

    def _target(self, path: str) -> str | None:
        parts = path.split("/")
        if not path or path.startswith("/") or any(part in ("", ".", "..") for part in parts):
            raise ReceiveError(f"invalid path {path!r} in the exported tree")
        return self.router(path)

    def _on_stat(self, packet: Packet) -> None:
        if not packet.HasField("stat"):
            self.walk_done = True
            self._finish_if_done()
            return

        stat = packet.stat
        index = self.index
        self.index += 1
        target = self._target(stat.path)
        if target is None:
            return

        mode = stat.mode
        if fsutil.is_dir(mode):
            os.makedirs(target, mode=0o700, exist_ok=True)
            self.directories.append((target, stat))
        elif fsutil.is_symlink(mode):
            _remove_existing(target)
            os.symlink(stat.linkname, target)
            os.utime(target, ns=(stat.modTime, stat.modTime), follow_symlinks=False)
        elif fsutil.is_regular(mode) and stat.linkname:
            source = self._target(stat.linkname)
            if source is None:
                raise ReceiveError(f"hard link {stat.path} points to {stat.linkname}, which is not exported")
            _remove_existing(target)
            os.link(source, target)
        elif fsutil.is_regular(mode):
            self.files[index] = (target, stat)
            self.waiting.append(index)
            self._request_more()
        elif mode & fsutil.MODE_NAMED_PIPE:
            _remove_existing(target)
            os.mkfifo(target, fsutil.unix_permissions(mode))
        else:
            log.warning("FileSend: skipped %s: device files are not exported", stat.path)

    def _request_more(self) -> None:
        while self.waiting and len(self.requested) < MAX_OUTSTANDING_REQUESTS:
            index = self.waiting.popleft()
            self.requested[index] = self.files.pop(index)
            self.outgoing.put(Packet(type=Packet.PACKET_REQ, ID=index))

    def _on_data(self, packet: Packet) -> None:
        request = self.requested.get(packet.ID)
        if request is None:
            raise ReceiveError(f"data for file {packet.ID}, which was not requested")
        target, stat = request

        file = self.open_files.get(packet.ID)
        if file is None:
            _remove_existing(target)
            file = open(target, "wb")
            self.open_files[packet.ID] = file
        if packet.data:
            file.write(packet.data)
            return

        # An empty DATA packet ends the file.
        file.close()
        del self.open_files[packet.ID]
        del self.requested[packet.ID]
        os.chmod(target, fsutil.unix_permissions(stat.mode))
        os.utime(target, ns=(stat.modTime, stat.modTime))
        self.files_written += 1
        self._request_more()
        self._finish_if_done()

    def _finish_if_done(self) -> None:
        if self.finished or not self.walk_done or self.requested or self.waiting:
            return
        self.finished = True

        # Deepest first, so setting a directory's times is not undone by
        # changes to its children.
        for target, stat in reversed(self.directories):
            os.chmod(target, fsutil.unix_permissions(stat.mode))
            os.utime(target, ns=(stat.modTime, stat.modTime))
        self.outgoing.put(Packet(type=Packet.PACKET_FIN))


def _remove_existing(path: str) -> None:
    if os.path.lexists(path) and not os.path.isdir(path) or os.path.islink(path):
        os.unlink(path)
