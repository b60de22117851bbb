"""Helpers over decoded configuration values.

Decoded values are plain Python (dict, list, str, int, float, bool, None,
bytes) plus `Incomplete` for what `cue` could not make concrete.
"""

from __future__ import annotations

import hashlib
from typing import Any

from archon.runtime.cue import Incomplete

__all__ = ["Incomplete", "is_component", "fingerprint"]

UP = "#up"


def is_component(value: Any) -> bool:
    """Tell whether value is a component: a struct with an `#up` list."""
    return isinstance(value, dict) and isinstance(value.get(UP), list)


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
