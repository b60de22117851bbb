"""docker-build and image outputs on real BuildKit: save-image into Docker, push-container to the local registry."""

from __future__ import annotations

import io
import json
import os
import subprocess
import tarfile
import urllib.request

import pytest

from .conftest import DOCKER, docker
from .harness import run_configuration, write_configuration

pytestmark = pytest.mark.daemon

MANIFEST_TYPES = ", ".join((
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.docker.distribution.manifest.v2+json",
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
))

DOCKERFILE = """\
FROM archon/busybox:latest AS build
ARG GREETING=default
COPY greeting.txt /src/greeting.txt
RUN mkdir /out && cat /src/greeting.txt > /out/artifact.txt && echo "$GREETING" >> /out/artifact.txt

FROM archon/busybox:latest
COPY --from=build /out/artifact.txt /artifact.txt
"""


def test_docker_build_multi_stage(connection, tmp_path, nonce):
    write_configuration(tmp_path, """
        sources: $up: [op.Local & {dir: "context"}]
        final: $up: [op.DockerBuild & {context: sources, dockerfilePath: "Dockerfile", buildArg: GREETING: "from-arg"}]
        buildStage: $up: [op.DockerBuild & {context: sources, dockerfile: DOCKERFILE, target: "build"}]
        probe: $up: [
            op.Load & {from: final},
            op.Exec & {args: ["sh", "-ec", "ls / > /listing"]},
        ]
        artifact: {$up: [op.Load & {from: final}, op.Export & {source: "/artifact.txt"}]} @output()
        stageArtifact: {$up: [op.Load & {from: buildStage}, op.Export & {source: "/out/artifact.txt"}]} @output()
        listing: {$up: [op.Load & {from: probe}, op.Export & {source: "/listing"}]} @output()
    """, files={"context/Dockerfile": DOCKERFILE, "context/greeting.txt": f"{nonce}\n"}, replace={"DOCKERFILE": json.dumps(DOCKERFILE)})

    outcome = run_configuration(tmp_path, connection)
    assert outcome.result.succeeded, outcome.failure_text()
    root = outcome.result.exports["listing"].splitlines()

    assert outcome.result.exports["artifact"] == f"{nonce}\nfrom-arg"
    assert outcome.result.exports["stageArtifact"] == f"{nonce}\ndefault"
    assert "artifact.txt" in root
    assert "out" not in root
    assert "src" not in root


def file_in_layers(layers: list[bytes], path: str) -> str | None:
    """Return the text of `path` in the topmost layer tarball that contains it."""
    for layer in reversed(layers):
        with tarfile.open(fileobj=io.BytesIO(layer), mode="r:*") as archive:
            for member in archive.getmembers():
                if member.isfile() and member.name.lstrip("./") == path.lstrip("/"):
                    return archive.extractfile(member).read().decode()
    return None


def docker_image_layers(ref: str) -> list[bytes]:
    """Return the layer tarballs of a Docker image, bottom first, read from `docker save`."""
    saved = subprocess.run([DOCKER, "save", ref], capture_output=True, timeout=120, check=True).stdout
    with tarfile.open(fileobj=io.BytesIO(saved)) as archive:
        manifest = json.load(archive.extractfile("manifest.json"))
        return [archive.extractfile(layer).read() for layer in manifest[0]["Layers"]]


def registry_get(registry: str, path: str, accept: str = "*/*") -> bytes:
    request = urllib.request.Request(f"http://{registry}{path}", headers={"Accept": accept})
    with urllib.request.urlopen(request, timeout=10) as response:
        return response.read()


def registry_image_layers(registry: str, repository: str, tag: str) -> list[bytes]:
    """Return the layer blobs of an image in the registry, bottom first, for this machine's platform."""
    manifest = json.loads(registry_get(registry, f"/v2/{repository}/manifests/{tag}", MANIFEST_TYPES))
    if "manifests" in manifest:
        chosen = next(item for item in manifest["manifests"] if (item.get("platform") or {}).get("architecture") not in (None, "unknown"))
        manifest = json.loads(registry_get(registry, f"/v2/{repository}/manifests/{chosen['digest']}", MANIFEST_TYPES))
    return [registry_get(registry, f"/v2/{repository}/blobs/{layer['digest']}") for layer in manifest["layers"]]


IMAGE_CONFIG = """
    base: $up: [op.FetchContainer & {ref: "archon/busybox:latest"}]
    app: $up: [
        op.Load & {from: base},
        op.WriteFile & {dest: "/hello.txt", content: "NONCE"},
        op.#OUTPUT & {FIELD: "REF"},
    ]
"""


def test_push_container_to_local_registry(connection, tmp_path, nonce, registry):
    repository, tag = "archon-test/pushed", connection.backend
    ref = f"{registry}/{repository}:{tag}"
    write_configuration(tmp_path, IMAGE_CONFIG, replace={"NONCE": nonce, "OUTPUT": "PushContainer", "FIELD": "ref", "REF": ref})

    outcome = run_configuration(tmp_path, connection)
    assert outcome.result.succeeded, outcome.failure_text()
    tags = json.loads(registry_get(registry, f"/v2/{repository}/tags/list"))["tags"]

    assert ("app", "image", ref) in [(item.name, item.kind, item.location) for item in outcome.result.outputs]
    assert tag in tags
    assert file_in_layers(registry_image_layers(registry, repository, tag), "/hello.txt") == nonce


def test_save_image_into_docker(connection, tmp_path, nonce, registry):
    if connection.backend == "buildkitd":
        # buildkitd has no image store, so Archon pushes a save-image tag to
        # the registry that the tag names. The tag names the local registry
        # here, because a bare tag would be pushed to Docker Hub.
        repository, tag = "archon-test/saved", "buildkitd"
        ref = f"{registry}/{repository}:{tag}"
    else:
        ref = "archon-test/saved:integration"
    if not os.environ.get("DOCKER_HOST") or not os.path.exists(DOCKER):
        pytest.skip(f"{DOCKER} and DOCKER_HOST are needed to inspect the image; run `eval \"$(scripts/daemons env)\"`")
    write_configuration(tmp_path, IMAGE_CONFIG, replace={"NONCE": nonce, "OUTPUT": "SaveImage", "FIELD": "tag", "REF": ref})

    outcome = run_configuration(tmp_path, connection)
    assert outcome.result.succeeded, outcome.failure_text()

    assert ("app", "image", ref) in [(item.name, item.kind, item.location) for item in outcome.result.outputs]
    if connection.backend == "buildkitd":
        assert file_in_layers(registry_image_layers(registry, repository, tag), "/hello.txt") == nonce
        return
    inspected = json.loads(docker("image", "inspect", ref).stdout)
    assert inspected[0]["RepoTags"] == [ref]
    assert file_in_layers(docker_image_layers(ref), "/hello.txt") == nonce
