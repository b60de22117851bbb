"""The session Archon serves to the daemon during a solve.

A BuildKit session is a gRPC server that runs on the client and that the
daemon calls. The daemon reads local directories (FileSync), writes
exported files (FileSend), reads secrets (Secrets), requests registry
credentials (Auth) and checks that the client is alive (Health).

Archon runs that server with grpcio on a unix socket in a private temporary
folder, then attaches it to the daemon over one connection on which the
daemon is the HTTP/2 client:

- Docker: `POST /session` with an h2c upgrade on the Docker socket; the
  upgraded connection is spliced to the local server's socket.
- buildkitd: the `Control.Session` stream, whose BytesMessages carry the
  raw HTTP/2 bytes, bridged to the local server's socket.

Either way the daemon learns the session id, name, shared key and the
served methods from the `X-Docker-Expose-Session-*` headers (gRPC metadata
for buildkitd). A solve names the session by id in `SolveRequest.Session`.
"""

from __future__ import annotations

import logging
import secrets as random
import shutil
import socket
import tempfile
import threading
from concurrent import futures
from typing import Iterator, Protocol, Sequence

import grpc

from archon.engine.buildkit import transport
from archon.engine.buildkit.connect import Connection
from archon.engine.buildkit.pb import control_pb2

log = logging.getLogger(__name__)

HEADER_ID = "X-Docker-Expose-Session-Uuid"
HEADER_NAME = "X-Docker-Expose-Session-Name"
HEADER_SHARED_KEY = "X-Docker-Expose-Session-Sharedkey"
HEADER_METHOD = "X-Docker-Expose-Session-Grpc-Method"

# Each open stream (a FileSync or FileSend transfer) holds one worker thread;
# health checks and secret requests need free ones alongside.
SERVER_THREADS = 32

SERVER_OPTIONS = [
    ("grpc.max_receive_message_length", 64 * 1024 * 1024),
    ("grpc.max_send_message_length", 64 * 1024 * 1024),
    # Never respond to the daemon's keepalive pings with GOAWAY.
    ("grpc.http2.max_ping_strikes", 0),
    ("grpc.keepalive_permit_without_calls", 1),
]


class SessionService(Protocol):
    """One gRPC service of the session."""

    def methods(self) -> list[str]:
        """Full method names (`/package.Service/Method`) to advertise to the daemon."""

    def handler(self) -> grpc.GenericRpcHandler: ...


def new_session_id() -> str:
    """Return a random id of 25 lowercase base-36 characters, the form BuildKit's own ids take."""
    alphabet = "0123456789abcdefghijklmnopqrstuvwxyz"
    return "".join(random.choice(alphabet) for _ in range(25))


class Session:
    """A started session server; attach it to a daemon with `attach`.

    Use as a context manager, or call `close()`, which detaches from the
    daemon and stops the server.
    """

    def __init__(self, services: Sequence[SessionService], *, name: str = "archon", shared_key: str = "archon"):
        self.id = new_session_id()
        self.name = name
        self.shared_key = shared_key
        self.services = list(services)
        self.methods = [method for service in self.services for method in service.methods()]

        self._folder = tempfile.mkdtemp(prefix="archon-session-")
        self.socket_path = f"{self._folder}/session.sock"
        self._server = grpc.server(
            futures.ThreadPoolExecutor(max_workers=SERVER_THREADS, thread_name_prefix="archon-session"),
            handlers=[service.handler() for service in self.services],
            options=SERVER_OPTIONS,
        )
        self._server.add_insecure_port(f"unix:{self.socket_path}")
        self._server.start()

        self._local: socket.socket | None = None
        self._remote: socket.socket | None = None
        self._call = None
        self._closed = threading.Event()

    def headers(self) -> list[tuple[str, str]]:
        """The session headers, one method header per served method."""
        headers = [(HEADER_ID, self.id), (HEADER_NAME, self.name), (HEADER_SHARED_KEY, self.shared_key)]
        headers.extend((HEADER_METHOD, method) for method in self.methods)
        return headers

    def attach(self, connection: Connection) -> None:
        """Connect the session to the daemon behind `connection`."""
        if connection.backend == "docker":
            self._attach_docker(connection.docker_socket)
        else:
            self._attach_control_stream(connection)
        log.debug("session %s attached to %s", self.id, connection.address)

    def _connect_local(self) -> socket.socket:
        local = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        local.connect(self.socket_path)
        self._local = local
        return local

    def _attach_docker(self, docker_socket: str) -> None:
        remote, early = transport.upgrade(docker_socket, "/session", self.headers())
        self._remote = remote
        local = self._connect_local()
        # The daemon speaks first (HTTP/2 client preface), so bytes that came
        # with the 101 response go to the local server.
        transport.splice(remote, local, name="archon-session-docker", first_data=early)

    def _attach_control_stream(self, connection: Connection) -> None:
        local = self._connect_local()
        metadata = [(name.lower(), value) for name, value in self.headers()]

        def outgoing() -> Iterator[control_pb2.BytesMessage]:
            while True:
                try:
                    chunk = local.recv(transport.CHUNK_SIZE)
                except OSError:
                    return
                if not chunk:
                    return
                yield control_pb2.BytesMessage(data=chunk)

        call = connection.control.Session(outgoing(), metadata=metadata)
        self._call = call

        def incoming() -> None:
            try:
                for message in call:
                    local.sendall(message.data)
            except grpc.RpcError as error:
                if not self._closed.is_set():
                    log.warning("session %s: the daemon closed the session stream: %s", self.id, error.details())
            except OSError as error:
                log.debug("session %s: local socket closed: %s", self.id, error)
            finally:
                try:
                    local.shutdown(socket.SHUT_WR)
                except OSError:
                    pass

        threading.Thread(target=incoming, name="archon-session-stream", daemon=True).start()

    def close(self) -> None:
        if self._closed.is_set():
            return
        self._closed.set()
        if self._call is not None:
            self._call.cancel()
        for sock in (self._remote, self._local):
            if sock is not None:
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
        self._server.stop(grace=1.0).wait(5.0)
        shutil.rmtree(self._folder, ignore_errors=True)

    def __enter__(self) -> "Session":
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()
