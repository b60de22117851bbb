"""Malformed input: `parse` and `decode_value` must never raise.

Every prefix of a few fixtures (text cut off while typing) and a seeded
loop of random mutations go through the parser, the printer and the
decoder. A failed assert shows the input that caused it.
"""

from __future__ import annotations

import pathlib
import random

import pytest

from archon.runtime.cue import decode_value, dump, format_node, parse
from archon.runtime.diagnostics import Position

FIXTURES = pathlib.Path(__file__).parent / "fixtures" / "cue"
PREFIX_SOURCES = [
    FIXTURES / "syntax" / "constructs.cue",
    FIXTURES / "eval" / "components.cue",
    FIXTURES / "eval" / "literals.eval.cue",
]
MUTATION_SEEDS = [
    FIXTURES / "syntax" / "constructs.cue",
    FIXTURES / "eval" / "components.cue",
    FIXTURES / "eval" / "literals.cue",
    FIXTURES / "eval" / "incomplete.eval.cue",
    FIXTURES / "eval" / "components.eval.cue",
]
# Pieces that are likely to break a tokenizer or parser state when inserted.
FRAGMENTS = list("{}[]()\":,\n\t #_|&*=!?<>~.\\'@/0123456789abxyz") + [
    '"""', "'''", "\\(", "\\#(", '#"', '"#', "...", "for ", " in ", "if ", "let ", "_|_",
    "é", "😀", "\x00", "\r", "\ufeff", "0x", "1Ki", "1e", "@x(", "//",
]
MUTATION_CASES = 3000


def end_position(text: str) -> Position:
    lines = text.split("\n")
    return Position(len(lines), len(lines[-1]) + 1)


def check(text: str) -> None:
    try:
        check_unguarded(text)
    except Exception as error:
        raise AssertionError(f"failed on input {text!r}") from error


def check_unguarded(text: str) -> None:
    file = parse(text)
    last = end_position(text)
    for error in file.errors:
        assert error.code == "syntax", text
        assert Position(1, 1) <= error.span.start <= error.span.end <= last, text

    printed = format_node(file)
    if not file.errors:
        again = parse(printed)
        assert again.errors == [], text
        assert dump(again) == dump(file), text

    decode_value(text)


@pytest.mark.parametrize("path", PREFIX_SOURCES, ids=lambda path: path.name)
def test_every_prefix_is_handled(path):
    text = path.read_text()
    for end in range(len(text) + 1):
        check(text[:end])


def mutate(rng: random.Random, text: str) -> str:
    chars = list(text)
    for _ in range(rng.randint(1, 8)):
        at = rng.randint(0, len(chars))
        choice = rng.random()
        if choice < 0.4:
            chars[at:at] = rng.choice(FRAGMENTS)
        elif choice < 0.7 and chars:
            del chars[min(at, len(chars) - 1)]
        else:
            source = rng.randint(0, len(chars))
            chars[at:at] = chars[source : source + rng.randint(1, 20)]
    return "".join(chars)


def test_random_mutations_are_handled():
    rng = random.Random(20240611)
    seeds = [path.read_text() for path in MUTATION_SEEDS]
    for _ in range(MUTATION_CASES):
        check(mutate(rng, rng.choice(seeds)))


def test_random_token_soup_is_handled():
    rng = random.Random(7)
    for _ in range(500):
        check("".join(rng.choice(FRAGMENTS) for _ in range(rng.randint(1, 60))))
