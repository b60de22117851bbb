"""Find a BuildKit daemon and open a gRPC channel to its Control service.

Addresses:

    docker://                   Docker's BuildKit through $DOCKER_HOST (when it
                                is a unix:// address) or /var/run/docker.sock
    docker:///path/docker.sock  Docker's BuildKit through that socket
    unix:///path/buildkitd.sock a standalone buildkitd
    tcp://host:port             a standalone buildkitd over TCP, with mTLS
                                when a `TLSConfig` is given

The address comes from a command-line flag, else the ARCHON_BUILDKIT_ADDR
environment variable, else the settings. Without any of them, `connect_any`
tries the default Docker socket and the usual buildkitd sockets in turn.
"""

from __future__ import annotations

import logging
import os
import urllib.parse
from dataclasses import dataclass, field
from typing import Mapping, Sequence

import grpc

from archon.engine.buildkit import transport
from archon.engine.buildkit.pb import control_pb2, control_pb2_grpc

log = logging.getLogger(__name__)

ENV_ADDRESS = "ARCHON_BUILDKIT_ADDR"
DEFAULT_DOCKER_SOCKET = "/var/run/docker.sock"
DEFAULT_BUILDKITD_SOCKET = "/run/buildkit/buildkitd.sock"

# Status messages carry log chunks and can exceed grpcio's 4 MiB default.
MAX_MESSAGE_BYTES = 64 * 1024 * 1024

CHANNEL_OPTIONS = [
    ("grpc.max_receive_message_length", MAX_MESSAGE_BYTES),
    ("grpc.max_send_message_length", MAX_MESSAGE_BYTES),
]

START_HINT = (
    "start a daemon with `scripts/daemons start` (development) or `dockerd`, "
    f"or point {ENV_ADDRESS} at a running one (docker:///path/docker.sock, "
    "unix:///path/buildkitd.sock or tcp://host:port)"
)


class AddressError(ValueError):
    """A BuildKit address that cannot be parsed."""


class DaemonUnavailableError(ConnectionError):
    """No BuildKit daemon responded at any of the addresses tried.

    `attempts` pairs each address with the reason it failed.
    """

    def __init__(self, attempts: Sequence[tuple[str, str]]):
        self.attempts = list(attempts)
        lines = ["no BuildKit daemon responded:"]
        lines.extend(f"  {address}: {reason}" for address, reason in self.attempts)
        lines.append(f"hint: {START_HINT}")
        super().__init__("\n".join(lines))


@dataclass(frozen=True)
class TLSConfig:
    """mTLS files for a tcp:// address; paths to PEM files."""

    ca: str | None = None
    cert: str | None = None
    key: str | None = None
    server_name: str | None = None


@dataclass(frozen=True)
class Address:
    """A parsed BuildKit address. `scheme` is docker, unix or tcp."""

    scheme: str
    path: str | None = None
    host: str | None = None
    port: int | None = None

    def __str__(self) -> str:
        if self.scheme == "tcp":
            return f"tcp://{self.host}:{self.port}"
        return f"{self.scheme}://{self.path}"


def parse_address(text: str, *, environ: Mapping[str, str] | None = None) -> Address:
    """Parse a BuildKit address; `docker://` without a path resolves the default Docker socket."""
    environ = os.environ if environ is None else environ
    text = text.strip()
    scheme, separator, rest = text.partition("://")
    if not separator:
        raise AddressError(
            f"invalid BuildKit address {text!r}: missing scheme; "
            "use docker://, docker:///path/docker.sock, unix:///path/buildkitd.sock or tcp://host:port"
        )

    if scheme == "docker":
        if rest:
            if not rest.startswith("/"):
                raise AddressError(f"invalid BuildKit address {text!r}: the Docker socket path must be absolute (docker:///path/docker.sock)")
            return Address("docker", path=rest)
        return Address("docker", path=default_docker_socket(environ))

    if scheme == "unix":
        if not rest.startswith("/"):
            raise AddressError(f"invalid BuildKit address {text!r}: the socket path must be absolute (unix:///path/buildkitd.sock)")
        return Address("unix", path=rest)

    if scheme == "tcp":
        parsed = urllib.parse.urlsplit(text)
        try:
            port = parsed.port
        except ValueError as error:
            raise AddressError(f"invalid BuildKit address {text!r}: {error}") from None
        if not parsed.hostname or port is None:
            raise AddressError(f"invalid BuildKit address {text!r}: expected tcp://host:port")
        return Address("tcp", host=parsed.hostname, port=port)

    raise AddressError(f"invalid BuildKit address {text!r}: unknown scheme {scheme!r}; use docker, unix or tcp")


def default_docker_socket(environ: Mapping[str, str]) -> str:
    docker_host = environ.get("DOCKER_HOST", "")
    if docker_host.startswith("unix://"):
        return docker_host[len("unix://"):]
    return DEFAULT_DOCKER_SOCKET


def candidate_addresses(
    flag: str | None = None,
    settings_address: str | None = None,
    *,
    environ: Mapping[str, str] | None = None,
) -> list[str]:
    """List the addresses to try, in order: the flag, the environment, the settings, else the defaults."""
    environ = os.environ if environ is None else environ
    for explicit in (flag, environ.get(ENV_ADDRESS), settings_address):
        if explicit:
            return [explicit]

    candidates = ["docker://", f"unix://{DEFAULT_BUILDKITD_SOCKET}"]
    runtime_dir = environ.get("XDG_RUNTIME_DIR")
    if runtime_dir:
        candidates.append(f"unix://{runtime_dir}/buildkit/buildkitd.sock")
    return candidates


@dataclass
class DaemonInfo:
    """The daemon found at an address: the backend, versions and the default worker."""

    backend: str
    engine_version: str | None = None
    buildkit_version: str | None = None
    worker_id: str | None = None
    platforms: list[str] = field(default_factory=list)

    def describe(self) -> str:
        if self.backend == "docker":
            name = f"Docker {self.engine_version or '(unknown version)'}"
            buildkit = f"embedded BuildKit {self.buildkit_version}" if self.buildkit_version else "embedded BuildKit (version not reported)"
        else:
            name = "buildkitd"
            buildkit = f"BuildKit {self.buildkit_version}" if self.buildkit_version else "BuildKit (version not reported)"
        worker = f", worker {self.worker_id}" if self.worker_id else ""
        return f"{name}, {buildkit}{worker}"


class Connection:
    """An open gRPC channel to BuildKit's Control service.

    `backend` is "docker" or "buildkitd"; a session attaches differently to
    each. Close it with `close()` or use it as a context manager.
    """

    def __init__(self, address: Address, channel: grpc.Channel, proxy: transport.UpgradeProxy | None = None):
        self.address = address
        self.channel = channel
        self.control = control_pb2_grpc.ControlStub(channel)
        self.backend = "docker" if address.scheme == "docker" else "buildkitd"
        self.info = DaemonInfo(self.backend)
        self._proxy = proxy

    @property
    def docker_socket(self) -> str | None:
        return self.address.path if self.backend == "docker" else None

    def describe(self) -> str:
        return f"{self.info.describe()} at {self.address}"

    def close(self) -> None:
        self.channel.close()
        if self._proxy is not None:
            self._proxy.close()
            self._proxy = None

    def __enter__(self) -> "Connection":
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()


def open_channel(address: Address, tls: TLSConfig | None = None) -> tuple[grpc.Channel, transport.UpgradeProxy | None]:
    """Open a gRPC channel to `address` without checking that a daemon responds."""
    if address.scheme == "docker":
        proxy = transport.UpgradeProxy(address.path, "/grpc")
        return grpc.insecure_channel(f"unix:{proxy.path}", options=CHANNEL_OPTIONS), proxy

    if address.scheme == "unix":
        return grpc.insecure_channel(f"unix:{address.path}", options=CHANNEL_OPTIONS), None

    target = f"{address.host}:{address.port}"
    if tls is None or not (tls.ca or tls.cert or tls.key):
        return grpc.insecure_channel(target, options=CHANNEL_OPTIONS), None

    credentials = grpc.ssl_channel_credentials(
        root_certificates=_read_pem(tls.ca, "CA certificate"),
        private_key=_read_pem(tls.key, "client key"),
        certificate_chain=_read_pem(tls.cert, "client certificate"),
    )
    options = list(CHANNEL_OPTIONS)
    if tls.server_name:
        options.append(("grpc.ssl_target_name_override", tls.server_name))
    return grpc.secure_channel(target, credentials, options=options), None


def _read_pem(path: str | None, description: str) -> bytes | None:
    if not path:
        return None
    try:
        with open(path, "rb") as file:
            return file.read()
    except OSError as error:
        raise AddressError(f"cannot read the TLS {description} {path}: {error.strerror}") from None


def connect(address: str | Address, *, tls: TLSConfig | None = None, timeout: float = 5.0) -> Connection:
    """Connect to one address and check that a BuildKit daemon responds.

    Raises `DaemonUnavailableError` (with this one address) when nothing
    responds within `timeout` seconds, and `AddressError` for a malformed
    address.
    """
    parsed = parse_address(address) if isinstance(address, str) else address
    failure = _socket_missing(parsed)
    if failure:
        raise DaemonUnavailableError([(str(parsed), failure)])

    channel, proxy = open_channel(parsed, tls)
    connection = Connection(parsed, channel, proxy)
    try:
        _probe(connection, timeout)
    except grpc.RpcError as error:
        connection.close()
        raise DaemonUnavailableError([(str(parsed), _rpc_reason(error))]) from None
    except (OSError, transport.UpgradeError) as error:
        connection.close()
        raise DaemonUnavailableError([(str(parsed), str(error))]) from None

    log.info("connected to %s", connection.describe())
    return connection


def connect_any(
    flag: str | None = None,
    settings_address: str | None = None,
    *,
    tls: TLSConfig | None = None,
    timeout: float = 5.0,
    environ: Mapping[str, str] | None = None,
) -> Connection:
    """Connect to the first address of `candidate_addresses` where a daemon responds.

    Raises `DaemonUnavailableError` naming every address tried and why it
    failed.
    """
    attempts: list[tuple[str, str]] = []
    for candidate in candidate_addresses(flag, settings_address, environ=environ):
        try:
            parsed = parse_address(candidate, environ=environ)
            return connect(parsed, tls=tls, timeout=timeout)
        except DaemonUnavailableError as error:
            attempts.extend(error.attempts)
    raise DaemonUnavailableError(attempts)


def _socket_missing(address: Address) -> str | None:
    if address.scheme in ("docker", "unix") and not os.path.exists(address.path):
        return f"socket {address.path} does not exist"
    return None


def _rpc_reason(error: grpc.RpcError) -> str:
    code = error.code() if hasattr(error, "code") else None
    details = error.details() if hasattr(error, "details") else str(error)
    if code == grpc.StatusCode.DEADLINE_EXCEEDED:
        return "no response before the timeout"
    name = code.name if code is not None else "error"
    return f"{name}: {details}"


def _probe(connection: Connection, timeout: float) -> None:
    """Ask for the workers and versions; fill `connection.info`."""
    info = connection.info

    # On Docker, a failed upgrade shows up as UNAVAILABLE from grpcio, so ask
    # Docker itself first for a clearer error and the engine version.
    if connection.backend == "docker":
        version = transport.docker_get_json(connection.docker_socket, "/version", timeout=timeout)
        info.engine_version = version.get("Version")

    workers = connection.control.ListWorkers(control_pb2.ListWorkersRequest(), timeout=timeout)
    if workers.record:
        record = workers.record[0]
        info.worker_id = record.ID
        info.platforms = [_platform_text(platform) for platform in record.platforms]
        if record.HasField("BuildkitVersion") and record.BuildkitVersion.version:
            info.buildkit_version = record.BuildkitVersion.version

    if info.buildkit_version is None:
        try:
            answer = connection.control.Info(control_pb2.InfoRequest(), timeout=timeout)
        except grpc.RpcError as error:
            # BuildKit before v0.11, such as Docker 20.10's, has no Info RPC.
            if error.code() != grpc.StatusCode.UNIMPLEMENTED:
                raise
        else:
            info.buildkit_version = answer.buildkitVersion.version or None


def _platform_text(platform) -> str:
    text = f"{platform.OS}/{platform.Architecture}"
    return f"{text}/{platform.Variant}" if platform.Variant else text
