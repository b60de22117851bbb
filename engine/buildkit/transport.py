"""Byte-level plumbing for talking to BuildKit: HTTP upgrades and socket pipes.

Docker exposes BuildKit through HTTP/1.1 upgrades on its API socket.
`POST /grpc` turns the connection into an HTTP/2 (h2c) connection to
BuildKit's Control service. `POST /session` hands the connection to
BuildKit's session manager, which then acts as the HTTP/2 client of the
session that Archon serves. grpcio cannot dial through such an upgrade, so
`UpgradeProxy` listens on a private unix socket and upgrades one Docker
connection for each connection grpcio opens.
"""

from __future__ import annotations

import http.client
import json
import logging
import os
import shutil
import socket
import tempfile
import threading
from typing import Iterable

log = logging.getLogger(__name__)

# Large enough for HTTP/2 frames of the default 16 KiB size plus headers.
CHUNK_SIZE = 64 * 1024

# The longest HTTP response head accepted from Docker before the upgrade.
MAX_RESPONSE_HEAD = 64 * 1024


class UpgradeError(ConnectionError):
    """Docker did not switch the connection to the requested protocol."""


def upgrade(
    socket_path: str,
    endpoint: str,
    headers: Iterable[tuple[str, str]] = (),
    *,
    timeout: float | None = 10.0,
) -> tuple[socket.socket, bytes]:
    """Open `socket_path`, send an h2c upgrade request for `endpoint`, and return the socket.

    Also returns the bytes that arrived after the `101 Switching Protocols`
    head, because the daemon may start speaking HTTP/2 right away and those
    bytes belong to the upgraded stream. Raises `UpgradeError` on any other
    response and `OSError` when the socket cannot be reached.
    """
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.settimeout(timeout)
    try:
        sock.connect(socket_path)
        lines = [
            f"POST {endpoint} HTTP/1.1",
            "Host: docker",
            "Connection: Upgrade",
            "Upgrade: h2c",
            "Content-Length: 0",
        ]
        lines.extend(f"{name}: {value}" for name, value in headers)
        sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))

        head, rest = _read_response_head(sock)
        status_line = head.split(b"\r\n", 1)[0].decode("latin-1", "replace")
        parts = status_line.split(" ", 2)
        if len(parts) < 2 or parts[1] != "101":
            body = rest[:300].decode("utf-8", "replace").strip()
            raise UpgradeError(
                f"Docker returned {status_line!r} for POST {endpoint} on {socket_path}"
                + (f": {body}" if body else "")
                + "; the daemon needs API version 1.39 or newer (Docker 18.09+) with BuildKit enabled"
            )
    except BaseException:
        sock.close()
        raise

    sock.settimeout(None)
    return sock, rest


def _read_response_head(sock: socket.socket) -> tuple[bytes, bytes]:
    buffer = b""
    while b"\r\n\r\n" not in buffer:
        if len(buffer) > MAX_RESPONSE_HEAD:
            raise UpgradeError(f"HTTP response head longer than {MAX_RESPONSE_HEAD} bytes")
        chunk = sock.recv(CHUNK_SIZE)
        if not chunk:
            raise UpgradeError(f"connection closed after {len(buffer)} bytes of the HTTP response head")
        buffer += chunk
    head, rest = buffer.split(b"\r\n\r\n", 1)
    return head, rest


class _UnixHTTPConnection(http.client.HTTPConnection):
    def __init__(self, socket_path: str, timeout: float):
        super().__init__("docker", timeout=timeout)
        self._socket_path = socket_path

    def connect(self) -> None:
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(self.timeout)
        self.sock.connect(self._socket_path)


def docker_get_json(socket_path: str, endpoint: str, *, timeout: float = 5.0) -> dict:
    """GET a Docker API endpoint over its unix socket and decode the JSON body."""
    connection = _UnixHTTPConnection(socket_path, timeout)
    try:
        connection.request("GET", endpoint)
        response = connection.getresponse()
        body = response.read()
        if response.status != 200:
            raise ConnectionError(
                f"Docker returned {response.status} {response.reason} for GET {endpoint} on {socket_path}"
            )
        return json.loads(body)
    finally:
        connection.close()


def docker_post_stream(
    socket_path: str, endpoint: str, headers: dict[str, str], *, timeout: float = 600.0
) -> list[dict]:
    """POST to a Docker API endpoint that streams JSON messages, and return them once it ends."""
    connection = _UnixHTTPConnection(socket_path, timeout)
    try:
        connection.request("POST", endpoint, body=b"", headers=headers)
        response = connection.getresponse()
        body = response.read()
        if response.status != 200:
            detail = body.decode("utf-8", "replace").strip()
            raise ConnectionError(
                f"Docker returned {response.status} {response.reason} for POST {endpoint} on {socket_path}: {detail}"
            )
    finally:
        connection.close()

    messages = []
    decoder = json.JSONDecoder()
    text = body.decode("utf-8", "replace")
    position = 0
    while True:
        while position < len(text) and text[position].isspace():
            position += 1
        if position >= len(text):
            break
        message, position = decoder.raw_decode(text, position)
        messages.append(message)
    return messages


def splice(first: socket.socket, second: socket.socket, *, name: str, first_data: bytes = b"") -> threading.Thread:
    """Copy bytes both ways between two connected sockets until both sides close.

    `first_data` is delivered to `second` before anything read from `first`.
    Returns the thread that waits for both directions; both sockets are
    closed when it ends.
    """

    def copy(source: socket.socket, target: socket.socket, initial: bytes) -> None:
        try:
            if initial:
                target.sendall(initial)
            while True:
                chunk = source.recv(CHUNK_SIZE)
                if not chunk:
                    break
                target.sendall(chunk)
        except OSError as error:
            log.debug("%s: copy stopped: %s", name, error)
        finally:
            # Pass the end of stream on, so the peer reads EOF and not a reset.
            try:
                target.shutdown(socket.SHUT_WR)
            except OSError:
                pass

    def run() -> None:
        forward = threading.Thread(target=copy, args=(first, second, first_data), name=f"{name}-forward", daemon=True)
        backward = threading.Thread(target=copy, args=(second, first, b""), name=f"{name}-backward", daemon=True)
        forward.start()
        backward.start()
        forward.join()
        backward.join()
        first.close()
        second.close()

    thread = threading.Thread(target=run, name=name, daemon=True)
    thread.start()
    return thread


class UpgradeProxy:
    """A unix socket that forwards each connection through a Docker HTTP upgrade.

    The socket lives in a private temporary folder (mode 0700) and is
    removed by `close()`.
    """

    def __init__(self, docker_socket: str, endpoint: str = "/grpc"):
        self.docker_socket = docker_socket
        self.endpoint = endpoint
        self._folder = tempfile.mkdtemp(prefix="archon-docker-proxy-")
        self.path = os.path.join(self._folder, "grpc.sock")
        self._listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self._listener.bind(self.path)
        self._listener.listen(16)
        self._closed = threading.Event()
        self._connections: list[socket.socket] = []
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._accept_loop, name="archon-docker-proxy", daemon=True)
        self._thread.start()

    def _accept_loop(self) -> None:
        while not self._closed.is_set():
            try:
                client, _ = self._listener.accept()
            except OSError:
                break
            threading.Thread(target=self._serve, args=(client,), name="archon-docker-upgrade", daemon=True).start()

    def _serve(self, client: socket.socket) -> None:
        try:
            upstream, early = upgrade(self.docker_socket, self.endpoint)
        except (OSError, UpgradeError) as error:
            # grpcio reports the closed connection as UNAVAILABLE, so the log
            # line keeps the reason.
            log.warning("upgrade of %s on %s failed: %s", self.endpoint, self.docker_socket, error)
            client.close()
            return
        with self._lock:
            if self._closed.is_set():
                client.close()
                upstream.close()
                return
            self._connections.extend((client, upstream))
        splice(upstream, client, name="archon-docker-proxy-pipe", first_data=early)

    def close(self) -> None:
        self._closed.set()
        try:
            self._listener.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self._listener.close()
        with self._lock:
            for connection in self._connections:
                try:
                    connection.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
            self._connections.clear()
        shutil.rmtree(self._folder, ignore_errors=True)
