"""Tests of `decode_value` on real `cue eval -A` output (fixtures made by cue v0.17.1)."""

from __future__ import annotations

import base64
import json
import pathlib

import pytest

from archon.runtime.cue import Incomplete, Struct, attributes_of, decode_value, field_info, references
from archon.runtime.cue.decode import _Decoder
from archon.runtime.cue.parser import parse_expr
from archon.runtime.cue.scanner import scan
from archon.runtime.diagnostics import Position

EVAL = pathlib.Path(__file__).parent / "fixtures" / "cue" / "eval"
EVAL_OUTPUTS = sorted(EVAL.glob("*.eval.cue"))
EXPORTED = [path for path in EVAL_OUTPUTS if path.with_name(path.name.replace(".eval.cue", ".json")).exists()]


def decoded(name: str):
    value, errors = decode_value((EVAL / f"{name}.eval.cue").read_text())
    assert errors == []
    return value


def as_exported(value):
    """Render a decoded value the way `cue export --out json` does: no definitions or hidden fields, bytes in base64."""
    if isinstance(value, dict):
        return {key: as_exported(item) for key, item in value.items() if not key.startswith(("#", "_"))}
    if isinstance(value, list):
        return [as_exported(item) for item in value]
    if isinstance(value, bytes):
        return base64.b64encode(value).decode()
    return value


def decode_parsed(text: str):
    """Decode through the full parser, the path taken for text the fast loop does not handle."""
    return _Decoder(scan(text), "<eval>").decode_parsed()


@pytest.mark.parametrize("path", EXPORTED, ids=lambda path: path.name)
def test_decode_matches_cue_export(path):
    value, errors = decode_value(path.read_text())
    exported = json.loads(path.with_name(path.name.replace(".eval.cue", ".json")).read_text())
    assert errors == []
    assert as_exported(value) == exported


@pytest.mark.parametrize("path", EVAL_OUTPUTS, ids=lambda path: path.name)
def test_fast_and_parsed_paths_agree(path):
    text = path.read_text()
    fast, _ = decode_value(text)
    parsed, errors = decode_parsed(text)
    assert errors == []
    assert repr(parsed) == repr(fast)


def test_literals_fixture_values():
    value = decoded("literals")
    assert value["ints"]["hex"] == 0xBADFACE
    assert value["ints"]["big"] == 170141183460469231731687303715884105727
    assert value["floats"]["exponent"] == 1500.0
    assert value["strings"]["escapes"] == 'tab\tnew\nquote"back\\slash/'
    assert value["strings"]["multi"] == 'first line\n  indented "quotes"\nlast 1000'
    assert value["strings"]["quoted-label"] == "x"
    assert value["bytes"]["hex"] == b"\x00\xff"
    assert value["bytes"]["multi"] == b"two\nlines"
    assert value["other"]["list"] == [1, "two", [3.0], {"four": 4}]


def test_structs_are_struct_dicts():
    value = decoded("literals")
    assert isinstance(value, Struct)
    assert isinstance(value["other"]["nested"], Struct)


def test_definitions_keep_their_hash():
    value = decoded("components")
    assert value["base"]["#up"] == [{"do": "fetch-container", "ref": "archon/busybox:latest"}]
    assert value["#Exec"]["dir"] == "/"


def test_chain_inlines_components():
    value = decoded("chain")
    load = value["c3"]["#up"][0]
    assert load["do"] == "load"
    assert load["from"]["#up"][0]["from"]["#up"][1]["args"] == ["sh", "-c", "echo 1"]


def test_defaults_selected_by_cue():
    value = decoded("components")
    assert value["greeting"] == "hi"
    assert value["level"] == "info"


def test_attributes_of_decoded_fields():
    value = decoded("components")
    assert [(a.name, a.args()) for a in attributes_of(value, "greeting")] == [("input", {"doc": "the greeting"})]
    assert [(a.name, a.args()) for a in attributes_of(value, "dist")] == [("output", {"dir": "dist"})]
    assert attributes_of(value, "base") == ()
    assert attributes_of(value, "missing") == ()


def test_attribute_spans_point_into_eval_text():
    value = decoded("incomplete")
    attribute = attributes_of(value, "name")[0]
    assert attribute.span.start == Position(3, 27)
    assert attribute.span.file == "<eval>"


def test_incomplete_values():
    value = decoded("incomplete")
    expected = {
        "name": ("string", ()),
        "greeting": ('"hello \\(name)"', ("name",)),
        "count": ("int & >=1", ()),
        "range": (">=1 & <=5", ()),
        "choice": ('"a" | "b"', ()),
        "both": ('string & "hello \\(name)"', ("name",)),
        "upper": ("strings.ToUpper(name)", ("strings", "name")),
        "top": ("_", ()),
    }
    for key, (text, names) in expected.items():
        assert isinstance(value[key], Incomplete), key
        assert value[key].text == text, key
        assert value[key].references == names, key


def test_incomplete_span():
    value = decoded("incomplete")
    span = value["count"].span
    assert (span.start, span.end) == (Position(5, 11), Position(5, 20))


def test_required_field_marker_and_value():
    value = decoded("incomplete")
    assert value["required"]["size"] == 3
    assert value["required"]["id"].text == "int"
    assert field_info(value["required"], "id").constraint == "!"
    assert field_info(value["required"], "size") is None


def test_default_chosen_when_cue_left_it():
    value, errors = decode_value('a: *"x" | string\nb: string | *1 | *1\nc: *1 | *2\n')
    assert errors == []
    assert value["a"] == "x"
    assert value["b"] == 1
    assert isinstance(value["c"], Incomplete)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("-1", -1),
        ("+1.5", 1.5),
        ("-(2)", -2),
        ("1Ki", 1024),
        ("0o755", 493),
        ('"a" & "a"', "a"),
        ('"n=\\(1) \\(true) \\(1.5) \\("s")"', "n=1 true 1.5 s"),
        ("'a\\(\"b\")'", b"ab"),
        ("*{a: 1} | {b: 2}", {"a": 1}),
        ("[1, ...int]", [1]),
        ("{a: 1, [string]: int, let x = 1, ...}", {"a": 1}),
        ('"a"', "a"),
        ('"""\n  a\n  b\n  """', "a\nb"),
    ],
)
def test_concrete_expressions(text, expected):
    value, errors = decode_value(f"x: {text}\n")
    assert errors == []
    assert value["x"] == expected
    assert type(value["x"]) is type(expected) or isinstance(value["x"], dict)


@pytest.mark.parametrize(
    ("text", "names"),
    [
        ("string", ()),
        ("_|_", ()),
        ("a.b.c", ("a",)),
        ("len(x) + y", ("x", "y")),
        ('"a" | "b"', ()),
        ("1 & 2", ()),
        ("*x | y", ("x", "y")),
        ("op.#Dir & {path: base}", ("op", "base")),
    ],
)
def test_incomplete_expressions(text, names):
    value, errors = decode_value(f"x: {text}\n")
    assert errors == []
    assert isinstance(value["x"], Incomplete)
    assert value["x"].text == text
    assert value["x"].references == names


@pytest.mark.parametrize(
    ("text", "names"),
    [
        ("a.b & c[d] & e(f)", ("a", "c", "d", "e", "f")),
        ("{a: 1, b: a + c}", ("c",)),
        ("[for k, v in src {(k): v + k2}]", ("src", "k2")),
        ("{let t = 1, u: t + w}", ("w",)),
        ("{[N=string]: {name: N, other: M}}", ("M",)),
        ("{X=a: 1, b: X + Y}", ("Y",)),
        ("int & string & bytes & len(l)", ("l",)),
    ],
)
def test_references_skip_bound_and_predeclared_names(text, names):
    expr, errors = parse_expr(text)
    assert errors == []
    assert references(expr) == names


def test_single_embedded_value():
    assert decode_value('"just a string"\n') == ("just a string", [])
    assert decode_value("[1, 2]\n") == ([1, 2], [])
    assert decode_value("42") == (42, [])


def test_embedded_scalar_with_definitions():
    value, errors = decode_value('emb: {\n    "a"\n    #x: 1\n}\n')
    assert errors == []
    assert value["emb"] == "a"


def test_embedded_struct_merges():
    value, errors = decode_value("{a: 1}\nb: 2\n")
    assert errors == []
    assert value == {"a": 1, "b": 2}


def test_repeated_labels_merge_structs():
    value, errors = decode_value("a: {x: 1}\na: {y: 2}\nb: 1\nb: 2\n")
    assert errors == []
    assert value == {"a": {"x": 1, "y": 2}, "b": 1}


def test_declaration_attributes_kept():
    value, errors = decode_value("@decl(x)\na: 1\n")
    assert errors == []
    assert [attribute.name for attribute in value.attributes] == ["decl"]


def test_comprehension_left_incomplete():
    value, errors = decode_value("a: 1\nfor k, v in src {(k): v}\n")
    assert errors == []
    assert value == {"a": 1}
    assert value.embedded[0].references == ("src",)


def test_imports_before_values():
    value, errors = decode_value('import "strings"\n\nupper: strings.ToUpper(name)\nn: 1\n')
    assert errors == []
    assert value["n"] == 1
    assert value["upper"].references == ("strings", "name")


def test_optional_and_quoted_labels():
    value, errors = decode_value('"a-b"?: 1\n"c\\td": 2\nif: 3\n')
    assert errors == []
    assert value == {"a-b": 1, "c\td": 2, "if": 3}
    assert field_info(value, "a-b").constraint == "?"


def test_chained_labels():
    value, errors = decode_value("a: b: c: 1 @x()\n")
    assert errors == []
    assert value == {"a": {"b": {"c": 1}}}
    assert [attribute.name for attribute in attributes_of(value["a"]["b"], "c")] == ["x"]


def test_syntax_errors_reported_with_best_effort_value():
    value, errors = decode_value("a: 1\nb: {\n    c: 2\n")
    assert [error.message for error in errors] == ["'{' is not closed: expected '}', found end of file"]
    assert value == {"a": 1, "b": {"c": 2}}


def test_errors_carry_filename():
    _, errors = decode_value("a: )\n", "out.cue")
    assert errors[0].span.file == "out.cue"


def test_deep_nesting_decodes_iteratively():
    depth = 5000
    text = "a: " + "{b: " * depth + "1" + "}" * depth + "\n"
    value, errors = decode_value(text)
    assert errors == []
    value = value["a"]
    for _ in range(depth):
        value = value["b"]
    assert value == 1


def test_deep_list_nesting_decodes_iteratively():
    depth = 5000
    value, errors = decode_value("a: " + "[" * depth + "]" * depth + "\n")
    assert errors == []
    assert isinstance(value["a"], list)


def test_incomplete_repr_shows_text():
    value, _ = decode_value("a: int\n")
    assert repr(value["a"]) == "Incomplete('int')"
