"""Image config resolvers for the compiler: the Docker image store and registries.

The compiler takes `Env`, `WorkingDir` and `User` of each `fetch-container`
image as exec defaults. These resolvers read them where the daemon will
take the image from: the Docker daemon's image store for the Docker
backend, and a registry (the local mirror of docker.io) for buildkitd.
"""

from __future__ import annotations

import http.client
import json
import logging
import socket
import urllib.parse
from typing import Any

from archon.runtime.llb import ImageConfig
from archon.runtime.resolve import ResolvedImage

log = logging.getLogger(__name__)

TIMEOUT_SECONDS = 10

MANIFEST_TYPES = ", ".join(
    (
        "application/vnd.oci.image.manifest.v1+json",
        "application/vnd.docker.distribution.manifest.v2+json",
        "application/vnd.oci.image.index.v1+json",
        "application/vnd.docker.distribution.manifest.list.v2+json",
    )
)


class _UnixConnection(http.client.HTTPConnection):
    def __init__(self, path: str, timeout: float = TIMEOUT_SECONDS):
        super().__init__("localhost", timeout=timeout)
        self._path = path

    def connect(self) -> None:
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(self.timeout)
        self.sock.connect(self._path)


def split_reference(ref: str) -> tuple[str, str, str]:
    """Split an image reference into (registry, repository, tag or digest)."""
    name, tag = ref, "latest"
    if "@" in name:
        name, tag = name.split("@", 1)
    elif ":" in name.rsplit("/", 1)[-1]:
        name, tag = name.rsplit(":", 1)

    first, _, rest = name.partition("/")
    if rest and ("." in first or ":" in first or first == "localhost"):
        registry, repository = first, rest
    else:
        registry, repository = "docker.io", name
    if registry == "docker.io" and "/" not in repository:
        repository = f"library/{repository}"
    return registry, repository, tag


class DockerImageResolver:
    """Reads image configs from a Docker daemon's image store (`GET /images/{name}/json`)."""

    def __init__(self, socket_path: str):
        self.socket_path = socket_path

    def resolve(self, ref: str) -> ResolvedImage | None:
        document = self._get(f"/images/{urllib.parse.quote(ref, safe='')}/json")
        if document is None and "/" not in ref.split(":")[0]:
            document = self._get(f"/images/{urllib.parse.quote('library/' + ref, safe='')}/json")
        if document is None:
            return None
        layers = len(((document.get("RootFS") or {}).get("Layers")) or []) or 1
        return ResolvedImage(ImageConfig.from_oci({"config": document.get("Config") or {}}), layers)

    def _get(self, path: str) -> dict[str, Any] | None:
        connection = _UnixConnection(self.socket_path)
        try:
            connection.request("GET", path)
            response = connection.getresponse()
            body = response.read()
        except OSError as problem:
            log.debug("docker image lookup %s failed: %s", path, problem)
            return None
        finally:
            connection.close()
        if response.status != 200:
            return None
        return json.loads(body)


class RegistryImageResolver:
    """Reads image configs from a plain-HTTP registry on this machine.

    `mirrors` maps a registry name (such as docker.io) to the host:port of
    the registry that serves it, as buildkitd's mirror setting does.
    """

    def __init__(self, mirrors: dict[str, str]):
        self.mirrors = mirrors

    def resolve(self, ref: str) -> ResolvedImage | None:
        registry, repository, tag = split_reference(ref)
        host = self.mirrors.get(registry, registry)
        if not host.startswith(("127.", "localhost", "[::1]")):
            # Only registries on this machine are read here; others are left to the daemon.
            return None

        manifest = self._get_json(host, f"/v2/{repository}/manifests/{tag}", MANIFEST_TYPES)
        if manifest is None:
            return None
        if "manifests" in manifest:
            chosen = next((item for item in manifest["manifests"] if (item.get("platform") or {}).get("architecture") == "amd64"), manifest["manifests"][0])
            manifest = self._get_json(host, f"/v2/{repository}/manifests/{chosen['digest']}", MANIFEST_TYPES)
            if manifest is None:
                return None
        config = self._get_json(host, f"/v2/{repository}/blobs/{manifest['config']['digest']}", "*/*")
        if config is None:
            return None
        return ResolvedImage(ImageConfig.from_oci(config), max(len(manifest.get("layers", [])), 1))

    def _get_json(self, host: str, path: str, accept: str) -> dict[str, Any] | None:
        connection = http.client.HTTPConnection(host, timeout=TIMEOUT_SECONDS)
        try:
            connection.request("GET", path, headers={"Accept": accept})
            response = connection.getresponse()
            body = response.read()
        except OSError as problem:
            log.debug("registry lookup %s%s failed: %s", host, path, problem)
            return None
        finally:
            connection.close()
        if response.status != 200:
            return None
        return json.loads(body)


# The registry that serves docker.io images to a standalone buildkitd, when
# one is configured as its mirror (scripts/daemons sets it).
ENV_REGISTRY_MIRROR = "ARCHON_REGISTRY"


def resolver_for(connection, registry_mirror: str | None = None):
    """Return the image config resolver matching where the daemon takes images from."""
    import os

    if connection.docker_socket:
        return DockerImageResolver(connection.docker_socket)
    mirror = registry_mirror or os.environ.get(ENV_REGISTRY_MIRROR)
    return RegistryImageResolver({"docker.io": mirror} if mirror else {})
