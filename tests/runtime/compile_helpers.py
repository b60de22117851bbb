"""Helpers for compiler tests: write a configuration, compile it, decode the LLB."""

from __future__ import annotations

import hashlib
import textwrap
from dataclasses import dataclass
from pathlib import Path

from archon.runtime.compiler import compile_configuration
from archon.runtime.config import Configuration, load
from archon.runtime.llb.pb import ops_pb2
from archon.runtime.plan import Plan

HEADER = 'package main\n\nimport "archon.dev/op"\n\n'


def write_config(folder: Path, body: str, name: str = "main.cue", header: str = HEADER) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(header + textwrap.dedent(body).lstrip("\n"))
    return path


def load_config(folder: Path, mode: str = "compute", **options) -> Configuration:
    return load(folder, mode=mode, **options)


def compile_folder(folder: Path, **options) -> Plan:
    configuration = load_config(folder, **options)
    assert configuration.ok, "\n".join(d.format() for d in configuration.diagnostics)
    return compile_configuration(configuration)


@dataclass
class DecodedOp:
    digest: str
    op: ops_pb2.Op
    metadata: ops_pb2.OpMetadata

    @property
    def kind(self) -> str:
        return self.op.WhichOneof("op") or "terminal"


def decode(plan: Plan) -> dict[str, DecodedOp]:
    """Decode the definition bytes into ops by digest, recomputing each digest."""
    definition = ops_pb2.Definition.FromString(plan.definition)
    decoded = {}
    for data in getattr(definition, "def"):
        digest = "sha256:" + hashlib.sha256(data).hexdigest()
        decoded[digest] = DecodedOp(digest, ops_pb2.Op.FromString(data), definition.metadata.get(digest, ops_pb2.OpMetadata()))
    return decoded


def ops_of_kind(plan: Plan, kind: str) -> list[DecodedOp]:
    return [item for item in decode(plan).values() if item.kind == kind]


def component_op(plan: Plan, component: str) -> DecodedOp:
    """Return the decoded final op of a component."""
    return decode(plan)[plan.components[component].digest]


def source_identifiers(plan: Plan) -> list[str]:
    return sorted(item.op.source.identifier for item in ops_of_kind(plan, "source"))
