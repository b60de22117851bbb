"""Helpers over decoded configuration values.

Decoded values are plain Python (dict, list, str, int, float, bool, None,
bytes) plus `Incomplete` for what `cue` could not make concrete.
"""

from __future__ import annotations

import hashlib
from typing import Any

from archon.runtime.cue import Incomplete

__all__ = ["Incomplete", "LEGACY_UP", "UP", "UP_LABELS", "fingerprint", "is_component", "ops_of"]

UP = "$up"

# The definition form of earlier cuellb configurations, still read. A
# definition makes CUE copy every component it refers to, which grows
# exponentially with the depth of a graph, so configurations use $up.
LEGACY_UP = "#up"
UP_LABELS = (UP, LEGACY_UP)


def ops_of(value: Any) -> list | None:
    """Return a component's list of ops, or None when value is not a component."""
    if not isinstance(value, dict):
        return None
    for label in UP_LABELS:
        ops = value.get(label)
        if isinstance(ops, list):
            return ops
    return None


def is_component(value: Any) -> bool:
    """Tell whether value is a component: a struct with a `$up` (or `#up`) list."""
    return ops_of(value) is not None


def fingerprint(value: Any, _memo: dict[int, str] | None = None) -> str:
    """Return a digest of a value's content, equal for equal values.

    Key order does not matter. The memo is keyed by object id, which is
    sound because decoded values are not mutated while a call runs.
    """
    memo = {} if _memo is None else _memo
    key = id(value)
    if key in memo:
        return memo[key]

    if isinstance(value, dict):
        parts = [f"{name}={fingerprint(item, memo)}" for name, item in sorted(value.items())]
        text = "{" + ",".join(parts) + "}"
    elif isinstance(value, list):
        text = "[" + ",".join(fingerprint(item, memo) for item in value) + "]"
    elif isinstance(value, Incomplete):
        text = "incomplete:" + value.text
    else:
        text = f"{type(value).__name__}:{value!r}"

    digest = hashlib.sha256(text.encode()).hexdigest()
    if isinstance(value, (dict, list)):
        memo[key] = digest
    return digest
