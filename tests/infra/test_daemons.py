"""The daemons of scripts/daemons and the base images of scripts/images."""

from __future__ import annotations

import json
import subprocess
import urllib.request

import grpc
import pytest

# Debian's Docker 20.10 client; a newer docker on PATH may be another version.
DOCKER = "/usr/bin/docker"
BUILDKIT_VERSION = "v0.26.3"
BASE_IMAGES = [("archon/busybox", "latest"), ("archon/debian", "bookworm")]
STANDARD_PATH = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


def run_docker(docker_address: str, *args: str) -> subprocess.CompletedProcess[str]:
    socket_path = docker_address.removeprefix("docker://")
    return subprocess.run(
        [DOCKER, "-H", f"unix://{socket_path}", *args],
        capture_output=True,
        text=True,
        timeout=120,
    )


def run_in_image(docker_address: str, image: str, *command: str, user: str = "") -> str:
    user_args = ["--user", user] if user else []
    completed = run_docker(docker_address, "run", "--rm", "--network", "none", *user_args, image, *command)
    assert completed.returncode == 0, completed.stderr
    return completed.stdout.strip()


def call_raw(address: str, method: str, request: bytes = b"") -> bytes:
    """Call a unary gRPC method with an already encoded request."""
    with grpc.insecure_channel(address) as channel:
        call = channel.unary_unary(method, request_serializer=None, response_deserializer=None)
        return call(request, timeout=10)


def decode_fields(message: bytes) -> dict[int, list[bytes | int]]:
    """Split a protobuf message into its fields: varints as int, the rest as bytes."""
    fields: dict[int, list[bytes | int]] = {}
    position = 0

    def read_varint() -> int:
        nonlocal position
        value = shift = 0
        while True:
            byte = message[position]
            position += 1
            value |= (byte & 0x7F) << shift
            shift += 7
            if byte < 0x80:
                return value

    while position < len(message):
        key = read_varint()
        number, wire_type = key >> 3, key & 7
        if wire_type == 0:
            value: bytes | int = read_varint()
        elif wire_type == 2:
            length = read_varint()
            value = message[position : position + length]
            position += length
        elif wire_type in (1, 5):
            size = 8 if wire_type == 1 else 4
            value = message[position : position + size]
            position += size
        else:
            raise ValueError(f"unsupported protobuf wire type {wire_type} in field {number}")
        fields.setdefault(number, []).append(value)
    return fields


def list_workers(buildkitd_address: str) -> list[dict[int, list[bytes | int]]]:
    # ListWorkersResponse.record = 1, each a WorkerRecord.
    response = call_raw(buildkitd_address, "/moby.buildkit.v1.Control/ListWorkers")
    return [decode_fields(record) for record in decode_fields(response).get(1, [])]


def worker_labels(record: dict[int, list[bytes | int]]) -> dict[str, str]:
    # WorkerRecord.Labels = 2, map entries with key = 1 and value = 2.
    labels = {}
    for entry in record.get(2, []):
        fields = decode_fields(entry)
        labels[fields[1][0].decode()] = fields[2][0].decode()
    return labels


def test_docker_server_is_20_10(docker_address):
    completed = run_docker(docker_address, "version", "--format", "{{.Server.Version}}")

    assert completed.returncode == 0, completed.stderr
    assert completed.stdout.startswith("20.10."), completed.stdout


def test_buildkitd_health_is_serving(buildkitd_address):
    # HealthCheckResponse with status = 1 (SERVING) encodes as 08 01.
    response = call_raw(buildkitd_address, "/grpc.health.v1.Health/Check")

    assert response == b"\x08\x01"


def test_buildkitd_has_oci_worker(buildkitd_address):
    workers = list_workers(buildkitd_address)

    assert len(workers) == 1
    assert worker_labels(workers[0])["org.mobyproject.buildkit.worker.executor"] == "oci"


def test_buildkitd_reports_pinned_version(buildkitd_address):
    record = list_workers(buildkitd_address)[0]

    # WorkerRecord.BuildkitVersion = 5, whose version = 2.
    version = decode_fields(record[5][0])[2][0].decode()

    assert version == BUILDKIT_VERSION


@pytest.mark.parametrize(("repository", "tag"), BASE_IMAGES)
def test_image_in_docker_has_path(docker_address, repository, tag):
    completed = run_docker(docker_address, "image", "inspect", "--format", "{{json .Config.Env}}", f"{repository}:{tag}")

    assert completed.returncode == 0, completed.stderr
    assert STANDARD_PATH in json.loads(completed.stdout)


@pytest.mark.parametrize(("repository", "tag"), BASE_IMAGES)
def test_image_in_registry(registry, repository, tag):
    with urllib.request.urlopen(f"http://{registry}/v2/{repository}/tags/list", timeout=10) as response:
        tags = json.load(response)["tags"]

    assert tag in tags


@pytest.mark.parametrize(("user", "uid"), [("root", "0"), ("builder", "1000"), ("nobody", "65534")])
def test_busybox_user_resolves(docker_address, user, uid):
    assert run_in_image(docker_address, "archon/busybox:latest", "id", "-u", user=user) == uid


def test_busybox_builder_owns_home(docker_address):
    owner = run_in_image(docker_address, "archon/busybox:latest", "stat", "-c", "%u:%g", "/home/builder")

    assert owner == "1000:1000"


def test_busybox_tmp_is_world_writable(docker_address):
    assert run_in_image(docker_address, "archon/busybox:latest", "stat", "-c", "%a", "/tmp") == "1777"


@pytest.mark.parametrize("tool", ["gcc", "make", "git"])
def test_debian_has_tool(docker_address, tool):
    assert run_in_image(docker_address, "archon/debian:bookworm", "sh", "-c", f"command -v {tool}").startswith("/usr/bin/")
