"""Decoding helpers shared by the LLB builder tests.

Every test marshals real states and decodes the definition bytes with the
generated classes, so the assertions read what the daemon would read.
"""

from __future__ import annotations

from archon.runtime.llb import Definition, State, marshal
from archon.runtime.llb.pb import ops_pb2


def decode(definition: Definition) -> ops_pb2.Definition:
    """Parse the serialized definition, as the daemon receives it."""
    return ops_pb2.Definition.FromString(definition.to_bytes())


def decoded_ops(definition: Definition) -> list[ops_pb2.Op]:
    """Return every Op of the definition, terminal last."""
    return [ops_pb2.Op.FromString(raw) for raw in getattr(decode(definition), "def")]


def ops_of_kind(definition: Definition, kind: str) -> list[ops_pb2.Op]:
    return [op for op in decoded_ops(definition)[:-1] if op.WhichOneof("op") == kind]


def single_op(state: State, kind: str) -> ops_pb2.Op:
    """Marshal `state` and return its only Op of `kind`."""
    found = ops_of_kind(marshal(state), kind)
    assert len(found) == 1, f"expected one {kind} op, found {len(found)}"
    return found[0]


def root_op(state: State) -> ops_pb2.Op:
    """Marshal `state` and return the Op its terminal points at."""
    definition = marshal(state)
    ops = {vertex.digest: op for vertex, op in zip(definition.vertices, decoded_ops(definition))}
    return ops[definition.root[0]]


def metadata_of(definition: Definition, op_kind: str) -> ops_pb2.OpMetadata:
    for vertex in definition.vertices:
        if vertex.kind == op_kind:
            return decode(definition).metadata[vertex.digest]
    raise KeyError(op_kind)
