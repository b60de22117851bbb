"""Map the vertex digests a daemon reports back to the digests of the definition sent.

A definition names each op by the SHA-256 of its serialized bytes. Newer
BuildKit releases (v0.26 checked) parse every op and serialize it again
with Go's protobuf code before hashing. That code writes a oneof field (the
`exec`, `source`, `file`... body of an `Op`) after all regular fields, so an
op with a `platform` gets another digest than Python's field-number order
gives. The digests of ops that use it as an input change with it. BuildKit
v0.8 (Docker 20.10) hashes the bytes as sent.

`daemon_digests` computes both forms for every op, so the progress of a
solve can be matched to the plan's vertices on either kind of daemon.
"""

from __future__ import annotations

import hashlib

from google.protobuf.internal import encoder

from archon.runtime.llb.pb import ops_pb2


def _sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def go_serialize(op: ops_pb2.Op) -> bytes:
    """Serialize `op` the way BuildKit's Go code does: regular fields in number order, then the oneof."""
    body_name = op.WhichOneof("op")
    if body_name is None:
        return op.SerializeToString(deterministic=True)

    regular = ops_pb2.Op()
    regular.CopyFrom(op)
    regular.ClearField(body_name)
    body = getattr(op, body_name).SerializeToString(deterministic=True)
    number = ops_pb2.Op.DESCRIPTOR.fields_by_name[body_name].number

    tag = encoder.TagBytes(number, 2)  # wire type 2: length-delimited
    return regular.SerializeToString(deterministic=True) + tag + encoder._VarintBytes(len(body)) + body


def daemon_digests(definition: bytes | ops_pb2.Definition) -> dict[str, str]:
    """Return a map from every digest a daemon may report to the definition's own digest.

    Each op's own digest maps to itself; the digest that Go's serialization
    gives (with the inputs' recomputed digests) maps to it as well.
    """
    if isinstance(definition, (bytes, bytearray)):
        definition = ops_pb2.Definition.FromString(bytes(definition))

    ops: dict[str, ops_pb2.Op] = {}
    for data in getattr(definition, "def"):
        ops[_sha256(data)] = ops_pb2.Op.FromString(data)

    recomputed: dict[str, str] = {}

    def recompute(digest: str) -> str:
        # The recursion is as deep as the graph, far below Python's limit
        # for any configuration.
        known = recomputed.get(digest)
        if known is not None:
            return known
        op = ops.get(digest)
        if op is None:
            return digest
        copy = ops_pb2.Op()
        copy.CopyFrom(op)
        for edge in copy.inputs:
            edge.digest = recompute(edge.digest)
        result = _sha256(go_serialize(copy))
        recomputed[digest] = result
        return result

    mapping = {digest: digest for digest in ops}
    for digest in ops:
        mapping.setdefault(recompute(digest), digest)
    return mapping
