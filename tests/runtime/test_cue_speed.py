"""Throughput of `decode_value` on about 5 MB of `cue eval -A` output.

The text is real cue v0.17.1 output (the `chain` and `wide` fixtures)
repeated under new top-level labels until it reaches the size. `chain` is
the shape the runtime meets most: each component inlines the components
it loads, so indentation grows with depth. `wide` is flat and dense, with
many short tokens per line.

Run this file as a script to print the figures:
    .venv/bin/python tests/runtime/test_cue_speed.py
The test itself only guards against large regressions, with floors far
below the measured speed so that a loaded machine does not fail it.
"""

from __future__ import annotations

import pathlib
import re
import time

import pytest

from archon.runtime.cue import decode_value, scan

EVAL = pathlib.Path(__file__).parent / "fixtures" / "cue" / "eval"
TARGET_BYTES = 5_000_000
TOP_LEVEL_LABEL = re.compile(r"^(#?)(\w+):", re.MULTILINE)


def repeated_output(name: str, target_bytes: int = TARGET_BYTES) -> tuple[str, int]:
    """Return eval output of about `target_bytes`, and how many copies it holds."""
    text = (EVAL / f"{name}.eval.cue").read_text()
    copies = max(1, target_bytes // len(text.encode()))
    parts = [TOP_LEVEL_LABEL.sub(rf"\1r{index}_\2:", text) for index in range(copies)]
    return "".join(parts), copies


def measure(text: str) -> dict[str, float]:
    tokens = len(scan(text).tokens)
    started = time.process_time()
    value, errors = decode_value(text)
    seconds = time.process_time() - started
    assert errors == []
    megabytes = len(text.encode()) / 1e6
    return {
        "megabytes": megabytes,
        "tokens": tokens,
        "seconds": seconds,
        "megabytes_per_second": megabytes / seconds,
        "tokens_per_second": tokens / seconds,
        "fields": len(value),
    }


@pytest.mark.parametrize(("name", "floor"), [("chain", 2.0), ("wide", 0.5)])
def test_decode_throughput(name, floor):
    text, copies = repeated_output(name)
    fields_per_copy = len(decode_value((EVAL / f"{name}.eval.cue").read_text())[0])
    figures = measure(text)
    assert figures["fields"] == copies * fields_per_copy
    assert figures["megabytes_per_second"] > floor


def main() -> None:
    for name in ("chain", "wide"):
        text, _ = repeated_output(name)
        best = min((measure(text) for _ in range(3)), key=lambda figures: figures["seconds"])
        print(
            f"{name}: {best['megabytes']:.1f} MB, {best['tokens'] / 1e6:.2f} M tokens, "
            f"{best['seconds']:.2f} s: {best['megabytes_per_second']:.1f} MB/s, "
            f"{best['tokens_per_second'] / 1e6:.2f} M tokens/s"
        )


if __name__ == "__main__":
    main()
