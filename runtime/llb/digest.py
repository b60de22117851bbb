"""Deterministic serialization of LLB messages and their content digests.

BuildKit identifies a vertex by the SHA-256 digest of its serialized Op
bytes, and the daemon hashes exactly the bytes it receives. Archon therefore
serializes every message once, deterministically (fields in number order,
map entries sorted by key), and keeps those bytes next to their digest.
"""

from __future__ import annotations

import hashlib

from google.protobuf.message import Message


def serialize(message: Message) -> bytes:
    """Serialize `message` so that equal messages always give equal bytes."""
    return message.SerializeToString(deterministic=True)


def digest(data: bytes) -> str:
    """Return the OCI-style digest `sha256:<hex>` of `data`."""
    return "sha256:" + hashlib.sha256(data).hexdigest()
