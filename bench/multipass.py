"""The multi-pass baseline: run a configuration one component at a time, through a registry.

This is how delivery tools before Archon ran a configuration, rebuilt on
Archon's own modules so that only the strategy differs from `dagger up`:

1. evaluate the configuration (`archon.runtime.config.load`);
2. take the next component in dependency order and compile it alone, with
   every component it refers to replaced by a `fetch-container` of the
   image that an earlier step pushed;
3. solve it with the image exporter and push the result to the registry
   (buildkitd: the `image` exporter with push=true; Docker: the `moby`
   exporter, then a push through Docker's API, as `archon.engine.run`
   does for push outputs); a component that delivers an output is also
   solved with the `local` exporter into a folder that is then discarded;
4. evaluate again with the pushed references filled in as data, and go on
   with the next component.

Each step opens its own session for its solves. The image of a component
is pushed as `<registry>/archon-bench/<label>/<component>:latest`; a
component whose last op is `export` delivers a value and is not pushed.

The baseline lives in bench/ and never in the product.
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import http.client
import json
import re
import shutil
import socket
import tempfile
import threading
import time
import urllib.parse
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

from archon.engine.buildkit import transport
from archon.engine.buildkit.client import Client, Exporter
from archon.engine.buildkit.connect import Connection
from archon.engine.buildkit.services.auth import AuthService
from archon.engine.buildkit.services.filesend import FileSendService
from archon.engine.buildkit.services.filesync import FileSyncService, SyncedDir
from archon.engine.buildkit.services.health import HealthService
from archon.engine.buildkit.session import Session
from archon.engine.images import resolver_for
from archon.runtime.compiler import compile_configuration
from archon.runtime.config import COMPUTE, Configuration, load, render_inputs
from archon.runtime.diagnostics import Severity
from archon.runtime.evaluate import Evaluator
from archon.runtime.plan import Plan
from archon.runtime.values import UP, fingerprint, is_component, ops_of

REPOSITORY_ROOT = "archon-bench"

# The file that carries the pushed references into each re-evaluation.
PUSHED_FILE = "zz_bench_pushed.cue"

# Ops after which a component cannot be pushed as an image.
FINAL_OPS = ("export", "push-container", "save-image")


class MultipassError(Exception):
    """A step of the multi-pass run failed; the message names the component."""


@dataclass
class Step:
    """The timings of one component's step, in seconds."""

    component: str
    evaluate: float
    compile: float
    solve: float
    push: float
    ref: str | None


@dataclass
class MultipassResult:
    """A whole multi-pass run: `seconds` is the wall time, `steps` one entry per component."""

    seconds: float
    steps: list[Step] = field(default_factory=list)

    @property
    def evaluate(self) -> float:
        return sum(step.evaluate for step in self.steps)

    @property
    def compile(self) -> float:
        return sum(step.compile for step in self.steps)


def dependency_order(configuration: Configuration) -> tuple[list[str], dict[str, set[str]]]:
    """Return the components in an order where each comes after those it refers to, and the references.

    A reference is found by content: a nested component value equal to a
    named component is a reference to it, whatever op holds it.
    """
    named: dict[str, str] = {}
    memo: dict[int, str] = {}
    for path, info in configuration.components.items():
        if path not in configuration.inputs:
            named.setdefault(fingerprint(info.value, memo), path)

    references: dict[str, set[str]] = {}
    for path, info in configuration.components.items():
        found: set[str] = set()
        _find_references(ops_of(info.value), named, memo, found)
        found.discard(path)
        references[path] = found

    order: list[str] = []
    state: dict[str, int] = {}

    def visit(path: str) -> None:
        state[path] = 1
        for target in sorted(references[path]):
            if state.get(target) is None:
                visit(target)
        state[path] = 2
        order.append(path)

    for path in sorted(references):
        if path not in state:
            visit(path)
    return order, references


def _find_references(value: Any, named: dict[str, str], memo: dict[int, str], found: set[str]) -> None:
    if isinstance(value, dict):
        if is_component(value):
            target = named.get(fingerprint(value, memo))
            if target is not None:
                found.add(target)
                return
        for item in value.values():
            _find_references(item, named, memo, found)
    elif isinstance(value, list):
        for item in value:
            _find_references(item, named, memo, found)


def _replace_references(value: Any, named: dict[str, str], pushed: Mapping[str, str], memo: dict[int, str]) -> Any:
    """Copy value with every reference to a pushed component replaced by a fetch-container of its image."""
    if isinstance(value, dict):
        if is_component(value):
            target = named.get(fingerprint(value, memo))
            if target is not None and target in pushed:
                return {UP: [{"do": "fetch-container", "ref": pushed[target]}]}
        return {key: _replace_references(item, named, pushed, memo) for key, item in value.items()}
    if isinstance(value, list):
        return [_replace_references(item, named, pushed, memo) for item in value]
    return value


def image_name(label: str, component: str) -> str:
    """Return a repository path for a component; registry paths allow only lowercase [a-z0-9._-]."""
    cleaned = re.sub(r"[^a-z0-9._-]+", "-", component.lower())
    if cleaned != component:
        # Two names that differ only in case must not share an image.
        cleaned += "-" + hashlib.sha256(component.encode()).hexdigest()[:6]
    return f"{REPOSITORY_ROOT}/{label}/{cleaned}"


class Multipass:
    """Runs configurations step by step on one open connection, pushing to `registry` (host:port)."""

    def __init__(self, connection: Connection, registry: str, *, cue_path: str | None = None):
        self.connection = connection
        self.registry = registry
        self.client = Client(connection)
        self.cue_path = cue_path
        self.resolver = resolver_for(connection, registry)
        # Setting this event cancels the solve in progress and fails the run.
        self.cancel_event = threading.Event()

    def run(self, package_dir: Path, label: str, *, inputs: Mapping[str, str] | None = None) -> MultipassResult:
        """Run every component of the package in `package_dir`; raise MultipassError on the first failure."""
        started = time.perf_counter()
        result = MultipassResult(0.0)

        # A new evaluator per run, as a new process of a step-by-step tool
        # would have. The pushed references change the package at every
        # step anyway, so no evaluation after the first could be reused.
        evaluator = Evaluator(self.cue_path)
        input_files = render_inputs(dict(inputs), package_dir) if inputs else {}
        pushed: dict[str, str] = {}

        configuration, seconds = self._evaluate(package_dir, evaluator, input_files, pushed)
        order, _ = dependency_order(configuration)
        for index, path in enumerate(order):
            if index > 0:
                configuration, seconds = self._evaluate(package_dir, evaluator, input_files, pushed)
            step = self._step(configuration, path, label, pushed)
            step.evaluate = seconds
            result.steps.append(step)
            if step.ref is not None:
                pushed[path] = step.ref

        result.seconds = time.perf_counter() - started
        return result

    def _evaluate(self, package_dir: Path, evaluator: Evaluator, input_files: dict[str, str], pushed: Mapping[str, str]):
        started = time.perf_counter()
        extra_files = dict(input_files)
        extra_files[PUSHED_FILE] = _pushed_file(package_dir, pushed)
        # load counts the fields of the extra files as set inputs.
        configuration = load(package_dir, mode=COMPUTE, extra_files=extra_files, evaluator=evaluator)
        if not configuration.ok:
            first = next(item for item in configuration.diagnostics if item.severity == Severity.ERROR)
            raise MultipassError(f"{package_dir}: the configuration has errors: {first.format()}")
        return configuration, time.perf_counter() - started

    def _step(self, configuration: Configuration, path: str, label: str, pushed: Mapping[str, str]) -> Step:
        started = time.perf_counter()
        info = configuration.components[path]
        memo: dict[int, str] = {}
        named = {
            fingerprint(item.value, memo): name for name, item in configuration.components.items() if name not in configuration.inputs
        }
        named.pop(fingerprint(info.value, memo), None)
        value = _replace_references(info.value, named, pushed, memo)

        ops = ops_of(value)
        ref = None
        if not ops or ops[-1].get("do") not in FINAL_OPS:
            ref = f"{self.registry}/{image_name(label, path)}:latest"
            value = {UP: [*ops, {"do": "push-container", "ref": ref}]}
        alone = dataclasses.replace(
            configuration,
            components={path: dataclasses.replace(info, value=value)},
            outputs={name: output for name, output in configuration.outputs.items() if name == path and output.kind != "image"},
        )
        plan = compile_configuration(alone, resolver=self.resolver)
        compiled = time.perf_counter()

        push_seconds = self._solve(plan, path)
        return Step(path, 0.0, compiled - started, time.perf_counter() - compiled - push_seconds, push_seconds, ref)

    def _solve(self, plan: Plan, path: str) -> float:
        """Solve the step's plan and push its image; return the seconds spent pushing through Docker."""
        delivery = tempfile.mkdtemp(prefix="archon-multipass-")
        try:
            services = [
                FileSyncService({name: SyncedDir(name, source.path, tuple(source.exclude)) for name, source in plan.local_sources.items()}),
                FileSendService(lambda relative: str(Path(delivery, relative))),
                AuthService(),
                HealthService(),
            ]
            push_seconds = 0.0
            with Session(services) as session:
                session.attach(self.connection)
                for image in plan.images:
                    self._solve_one(image.definition, session, self._image_exporter(image.ref), path)
                    if self.connection.backend == "docker":
                        pushing = time.perf_counter()
                        docker_push(self.connection.docker_socket, image.ref)
                        push_seconds += time.perf_counter() - pushing
                if plan.exports or plan.directories:
                    self._solve_one(plan.definition, session, Exporter("local"), path)
            return push_seconds
        finally:
            shutil.rmtree(delivery, ignore_errors=True)

    def _solve_one(self, definition: bytes, session: Session, exporter: Exporter, path: str) -> None:
        try:
            self.client.solve(definition, ref=uuid.uuid4().hex, session_id=session.id, exporter=exporter, cancel_event=self.cancel_event)
        except Exception as error:
            raise MultipassError(f"component {path}: solve with the {exporter.type} exporter failed: {error}") from error

    def _image_exporter(self, ref: str) -> Exporter:
        if self.connection.backend == "docker":
            return Exporter("moby", {"name": ref})
        return Exporter("image", {"name": ref, "push": "true", "registry.insecure": "true"})


def _pushed_file(package_dir: Path, pushed: Mapping[str, str]) -> str:
    """Render the pushed references as a CUE field of the package, the data a step-by-step tool fed back."""
    package = "main"
    for path in sorted(package_dir.glob("*.cue")):
        match = re.search(r"^package\s+(\w+)", path.read_text(), re.MULTILINE)
        if match:
            package = match.group(1)
            break
    lines = [f"package {package}", "", "benchPushed: {"]
    lines += [f"\t{json.dumps(name)}: {json.dumps(ref)}" for name, ref in sorted(pushed.items())]
    lines.append("}")
    return "\n".join(lines) + "\n"


def docker_push(docker_socket: str, ref: str) -> None:
    """Push `ref` from Docker's image store through Docker's API; raise MultipassError when Docker reports an error."""
    name, _, tag = ref.rpartition(":")
    endpoint = f"/images/{name}/push?tag={tag}"
    # Anonymous access; Docker requires the X-Registry-Auth header even when empty.
    auth = base64.urlsafe_b64encode(b"{}").decode()
    for message in transport.docker_post_stream(docker_socket, endpoint, {"X-Registry-Auth": auth}):
        if "error" in message:
            raise MultipassError(f"push of {ref} through Docker failed: {message['error']}")


def remove_docker_images(docker_socket: str, registry: str) -> int:
    """Remove the images the baseline pushed from Docker's image store; return how many were removed.

    An image that lost its tag to a later push of the same component is
    found by its repository digest and removed by id.
    """
    prefix = f"{registry}/{REPOSITORY_ROOT}/"
    images = transport.docker_get_json(docker_socket, "/images/json")
    removed = 0
    for image in images:
        tags = [tag for tag in image.get("RepoTags") or () if tag.startswith(prefix)]
        for tag in tags:
            _docker_delete(docker_socket, f"/images/{urllib.parse.quote(tag, safe='')}")
            removed += 1
        other_tags = [tag for tag in image.get("RepoTags") or () if not tag.startswith(prefix) and tag != "<none>:<none>"]
        pushed = any(digest.startswith(prefix) for digest in image.get("RepoDigests") or ())
        if not tags and not other_tags and pushed:
            _docker_delete(docker_socket, f"/images/{image['Id']}")
            removed += 1
    return removed


def _docker_delete(docker_socket: str, endpoint: str) -> None:
    connection = http.client.HTTPConnection("localhost", timeout=60)
    connection.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    connection.sock.connect(docker_socket)
    try:
        connection.request("DELETE", endpoint)
        response = connection.getresponse()
        response.read()
        if response.status not in (200, 404, 409):
            raise MultipassError(f"Docker returned {response.status} {response.reason} for DELETE {endpoint}")
    finally:
        connection.close()
