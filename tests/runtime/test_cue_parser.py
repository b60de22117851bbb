"""Tests of the CUE tokenizer, parser, printer and tree queries."""

from __future__ import annotations

import pathlib

import pytest

from archon.runtime.cue import (
    Alias,
    BinaryExpr,
    BottomLit,
    CallExpr,
    Comprehension,
    Ellipsis,
    Embedding,
    Field,
    ForClause,
    Ident,
    IfClause,
    IndexExpr,
    Interpolation,
    LetClause,
    ListLit,
    NumberLit,
    ParenExpr,
    SelectorExpr,
    SliceExpr,
    StringLit,
    StructLit,
    UnaryExpr,
    Visitor,
    dump,
    field_at,
    field_span,
    find_field,
    find_fields,
    format_node,
    node_at,
    nodes_at,
    parse,
    parse_expr,
    scan,
    walk,
)
from archon.runtime.diagnostics import Position

FIXTURES = pathlib.Path(__file__).parent / "fixtures" / "cue"
SOURCES = sorted((FIXTURES / "eval").glob("*.cue")) + sorted((FIXTURES / "syntax").glob("*.cue"))


def only_field(text: str) -> Field:
    file = parse(text)
    assert file.errors == []
    assert len(file.decls) == 1
    return file.decls[0]


def value_of(text: str):
    return only_field(f"x: {text}\n").value


def at(line: int, column: int) -> Position:
    return Position(line, column)


# Tokens and automatic commas


def kinds(text: str) -> list[str]:
    return [token[0] for token in scan(text).tokens]


def test_comma_inserted_after_line_final_identifier():
    assert kinds("a: b\nc: d") == ["ident", ":", "ident", ",", "ident", ":", "ident", ",", "eof"]


def test_no_comma_after_line_final_operator():
    assert kinds("a: 1 +\n2") == ["ident", ":", "int", "+", "int", ",", "eof"]


@pytest.mark.parametrize("last", ["x", "1", "1.5", '"s"', "true", "null", "_|_", ")", "]", "}", "...", "@a()", "?"])
def test_comma_inserted_after(last):
    tokens = scan(f"{last}\n").tokens
    assert tokens[-2][:2] == (",", "\n")


@pytest.mark.parametrize("last", ["(", "[", "{", ":", "&", "|", ",", "=", "!"])
def test_comma_not_inserted_after(last):
    tokens = scan(f"{last}\n").tokens
    assert tokens[-2][1] != "\n"


def test_inserted_comma_dropped_before_colon():
    assert kinds("a\n: 1") == ["ident", ":", "int", ",", "eof"]


def test_comment_does_not_hide_newline():
    assert kinds("a: 1 // note\nb: 2") == ["ident", ":", "int", ",", "ident", ":", "int", ",", "eof"]


def test_comments_collected_with_offsets():
    result = scan("a: 1 // note\n// own line\n")
    assert [result.text[start:end] for start, end in result.comments] == ["// note", "// own line"]


def test_keywords_have_their_own_kind():
    assert kinds("for in if let null true false package") == [
        "for", "in", "if", "let", "null", "true", "false", "ident", ",", "eof",
    ]


def test_interpolation_tokens():
    tokens = scan('"a \\(b) c \\(d) e"').tokens
    assert [(kind, text) for kind, text, _, _ in tokens[:5]] == [
        ("interp_start", '"a \\('),
        ("ident", "b"),
        ("interp_mid", ") c \\("),
        ("ident", "d"),
        ("interp_end", ') e"'),
    ]


def test_interpolation_with_nested_parentheses_and_string():
    tokens = scan('"x \\(f("y \\(z)") + (1)) w"').tokens
    assert tokens[-3][:2] == ("interp_end", ') w"')


def test_raw_string_is_one_token():
    tokens = scan('#"a "b" \\(c)"#').tokens
    assert tokens[0][:2] == ("string", '#"a "b" \\(c)"#')


def test_multiline_string_is_one_token():
    tokens = scan('"""\n  a "quoted"\n  """ ').tokens
    assert tokens[0][:2] == ("string", '"""\n  a "quoted"\n  """')


def test_token_columns_count_code_points():
    file = parse('é: "日本"\nb: 1\n')
    assert file.decls[0].value.span.end == at(1, 8)


# Round trips through the printer


ROUND_TRIPS = [
    "package p\n",
    'import "strings"\n',
    'import (\n\t"strings"\n\tx "example.com/x:y"\n)\n',
    "@file(attr)\npackage p\n",
    "a: 1\nb: 2\n",
    "a: {b: 1, c: {d: 2}}\n",
    "a: b: c: 1\n",
    "a?: int\nb!: string\n",
    "#Def: {x: int}\n_hidden: 1\n_#hiddenDef: 2\n",
    '"quoted label": 1\n"with\\"escape": 2\n',
    "[string]: int\n[Name=string]: {name: Name}\n",
    '(a + "x"): 1\n("y")?: 2\n',
    '"key-\\(a)": 1\n',
    "X=a: 1\nb: X\n",
    "let x = 1\ny: x\n",
    "a: 1 @go(A) @json(a,omitempty)\n@decl(x)\n",
    "a: b: 1 @x()\n",
    "a: [1, 2, ...]\nb: [...int]\nc: {...}\nd: {x: 1, ...string}\n",
    "for k, v in x {(k): v}\nfor v in x {a: v}\n",
    "if x > 1 {a: 1}\n",
    "a: [for x in y if x != null let z = x {z}]\n",
    "{a: 1}\n",
    '"embedded string"\n#d: 1\n',
    "a: -1\nb: +2\nc: !x\nd: *1 | 2\ne: >=1 & <10\nf: !=null\n",
    'a: =~"^a" & !~"b"\n',
    "a: 1 + 2 * 3 - 4 / 5\n",
    "a: x && y || !z\n",
    "a: 1 == 2 != (3 < 4)\n",
    "a: x.y.z\nb: x.\"q\".z\nc: x[0]\nd: x[1:2]\ne: x[:2]\nf: x[1:]\ng: f(1, 2)\nh: g()\n",
    "a: 7 div 2\n",
    "a: null\nb: true\nc: false\nd: _\ne: _|_\n",
    "a: 0x1F + 0o17 + 0b101 + 1_000 + 1Ki + 1.5G\nb: 1.5e+3 + .5 + 0.0\n",
    'a: "\\t\\n\\u00e9\\U0001F600"\n',
    "a: #\"raw \\(x)\"#\nb: ##\"x\\##(y)\"##\n",
    "a: 'bytes \\x00\\377'\n",
    'a: """\n\tline \\(x)\n\t  more\n\t"""\n',
    "a: '''\n  bytes\n  '''\n",
    '"a \\("nested \\(b)")"\n',
    "// doc of a\na: 1\n",
    "// line one\n//\n//   indented\na: 1\n",
    "a: {\n\t// inner doc\n\tb: 1\n}\n",
    "a: [\n\t1,\n\t2,\n]\n",
    "a: [1, {b: 2}, [3]]\n",
    "if: 1\nfor: 2\nlet: 3\nin: 4\ntrue: 5\n",
    "a: (1)\n",
    "a: 1, b: 2\n",
]


@pytest.mark.parametrize("text", ROUND_TRIPS)
def test_round_trip_keeps_structure(text):
    first = parse(text)
    printed = format_node(first)
    second = parse(printed)
    assert first.errors == []
    assert second.errors == []
    assert dump(second) == dump(first)


@pytest.mark.parametrize("path", SOURCES, ids=lambda path: path.name)
def test_fixture_parses_without_errors(path):
    assert parse(path.read_text(), str(path)).errors == []


@pytest.mark.parametrize("path", SOURCES, ids=lambda path: path.name)
def test_fixture_round_trip_keeps_structure(path):
    first = parse(path.read_text())
    second = parse(format_node(first))
    assert dump(second) == dump(first)


def test_printer_is_idempotent():
    text = (FIXTURES / "syntax" / "constructs.cue").read_text()
    once = format_node(parse(text))
    assert format_node(parse(once)) == once


def test_format_expression():
    expr, errors = parse_expr('*"a" | b.c & [1, 2]')
    assert errors == []
    assert format_node(expr) == '*"a" | b.c & [1, 2]'


# Structure


def test_package_and_imports():
    file = parse('package main\n\nimport (\n\t"strings"\n\tp "example.com/pkg:name"\n)\nimport "list"\n')
    assert file.package.name == "main"
    assert [(spec.path, spec.alias) for spec in file.imports] == [
        ("strings", None), ("example.com/pkg:name", "p"), ("list", None),
    ]
    assert [spec.package_name for spec in file.imports] == ["strings", "p", "list"]


def test_import_package_name_from_qualifier():
    file = parse('import "example.com/pkg:name"\n')
    assert file.imports[0].package_name == "name"


def test_package_as_field_label():
    file = parse("package: 1\n")
    assert file.package is None
    assert file.decls[0].label == "package"


def test_attributes_before_package_belong_to_file():
    file = parse("@if(prod)\npackage main\na: 1\n")
    assert [attribute.name for attribute in file.attributes] == ["if"]
    assert file.package.name == "main"


@pytest.mark.parametrize(
    ("text", "label", "kind"),
    [
        ("a: 1", "a", "identifier"),
        ("#A: 1", "#A", "definition"),
        ("_a: 1", "_a", "hidden"),
        ("_#a: 1", "_#a", "hidden"),
        ('"a-b": 1', "a-b", "string"),
        ('"a\\tb": 1', "a\tb", "string"),
        ("[string]: 1", "[string]", "pattern"),
        ("[N=string]: 1", "[N=string]", "pattern"),
        ("(a): 1", "(a)", "dynamic"),
        ('"\\(a)-x": 1', '"\\(a)-x"', "interpolated"),
        ("if: 1", "if", "identifier"),
        ("true: 1", "true", "identifier"),
    ],
)
def test_label_kinds(text, label, kind):
    field = only_field(text)
    assert (field.label, field.label_kind) == (label, kind)


@pytest.mark.parametrize(("text", "constraint"), [("a: 1", None), ("a?: 1", "?"), ("a!: 1", "!"), ("(x)?: 1", "?")])
def test_constraint_markers(text, constraint):
    assert only_field(text).constraint == constraint


def test_field_alias():
    field = only_field("X=a: 1")
    assert field.alias.name == "X"
    assert field.label == "a"


def test_pattern_alias():
    field = only_field("[Name=string]: {n: Name}")
    assert isinstance(field.label_node, ListLit)
    assert isinstance(field.label_node.elements[0], Alias)
    assert field.label_node.elements[0].name.name == "Name"


def test_chained_fields_nest_in_implicit_structs():
    field = only_field("a: b: c: 1")
    inner = field.value.decls[0]
    assert field.value.implicit is True
    assert inner.label == "b"
    assert inner.value.decls[0].label == "c"


def test_chained_field_attributes_go_to_innermost():
    field = only_field("a: b: 1 @x()")
    assert field.attributes == []
    assert [attribute.name for attribute in field.value.decls[0].attributes] == ["x"]


def test_chain_across_lines():
    field = only_field("a:\n\tb: 1")
    assert field.value.decls[0].label == "b"


def test_attribute_args():
    field = only_field('a: 1 @output(dir="dist", "x,y", keep, mode=0o644)')
    attribute = field.attributes[0]
    assert attribute.name == "output"
    assert attribute.body == 'dir="dist", "x,y", keep, mode=0o644'
    assert attribute.args() == {"dir": "dist", "mode": "0o644"}
    assert attribute.positional() == ["x,y", "keep"]


def test_attribute_with_nested_brackets():
    attribute = only_field("a: 1 @x(f(a, b), [c, d], k=v)").attributes[0]
    assert attribute.positional() == ["f(a, b)", "[c, d]"]
    assert attribute.args() == {"k": "v"}


def test_empty_attribute_has_no_args():
    attribute = only_field("a: 1 @input()").attributes[0]
    assert attribute.args() == {}
    assert attribute.positional() == []


def test_field_attribute_lookup():
    field = only_field('a: string @input(doc="x") @output()')
    assert field.attribute("output").name == "output"
    assert field.attribute("missing") is None


def test_declaration_attribute_and_embedding():
    file = parse("@decl(x)\n{a: 1}\n")
    assert [type(decl).__name__ for decl in file.decls] == ["Attribute", "Embedding"]


def test_ellipsis_declarations():
    struct = value_of("{a: 1, ...}")
    assert isinstance(struct.decls[1], Ellipsis)
    assert struct.decls[1].value is None


def test_list_with_typed_ellipsis():
    listing = value_of("[1, ...int]")
    assert isinstance(listing.elements[1], Ellipsis)
    assert listing.elements[1].value.name == "int"


def test_let_declaration():
    let = parse("let x = 1 + 2\n").decls[0]
    assert isinstance(let, LetClause)
    assert let.name.name == "x"
    assert isinstance(let.value, BinaryExpr)


def test_comprehension_clauses():
    comprehension = parse("for k, v in src if v > 0 let w = v {(k): w}\n").decls[0]
    assert isinstance(comprehension, Comprehension)
    assert [type(clause) for clause in comprehension.clauses] == [ForClause, IfClause, LetClause]
    assert comprehension.clauses[0].key.name == "k"
    assert comprehension.clauses[0].value.name == "v"
    assert comprehension.body.decls[0].label_kind == "dynamic"


def test_comprehension_clauses_on_separate_lines():
    comprehension = parse("for x in y\nif x {a: x}\n").decls[0]
    assert len(comprehension.clauses) == 2


def test_list_comprehension():
    listing = value_of("[for x in y {x}]")
    assert isinstance(listing.elements[0], Comprehension)


def test_list_elements_across_lines_without_commas():
    listing = value_of("[\n\t1\n\t2\n]")
    assert [element.value for element in listing.elements] == [1, 2]


# Expressions


def shape(node):
    """Render an expression as nested tuples of operators and leaves."""
    if isinstance(node, BinaryExpr):
        return (node.op, shape(node.left), shape(node.right))
    if isinstance(node, UnaryExpr):
        return (node.op, shape(node.operand))
    if isinstance(node, ParenExpr):
        return ("()", shape(node.expr))
    if isinstance(node, Ident):
        return node.name
    if isinstance(node, NumberLit):
        return node.value
    if isinstance(node, StringLit):
        return node.value
    return type(node).__name__


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("a | b & c", ("|", "a", ("&", "b", "c"))),
        ("a & b | c", ("|", ("&", "a", "b"), "c")),
        ("*1 | 2", ("|", ("*", 1), 2)),
        ("a || b && c", ("||", "a", ("&&", "b", "c"))),
        ("a && b == c", ("&&", "a", ("==", "b", "c"))),
        ("a == b + c", ("==", "a", ("+", "b", "c"))),
        ("a + b * c", ("+", "a", ("*", "b", "c"))),
        ("a - b - c", ("-", ("-", "a", "b"), "c")),
        ("a / b * c", ("*", ("/", "a", "b"), "c")),
        ("(a + b) * c", ("*", ("()", ("+", "a", "b")), "c")),
        ("-a * b", ("*", ("-", "a"), "b")),
        (">=1 & <=5", ("&", (">=", 1), ("<=", 5))),
        ('=~"a" & !~"b"', ("&", ("=~", "a"), ("!~", "b"))),
        ("a =~ b", ("=~", "a", "b")),
        ("!a || b", ("||", ("!", "a"), "b")),
        ("a & b & c", ("&", ("&", "a", "b"), "c")),
        ("7 div 2 + 1", ("+", ("div", 7, 2), 1)),
        ("a mod b * c", ("*", ("mod", "a", "b"), "c")),
        ("int & >=1 | string", ("|", ("&", "int", (">=", 1)), "string")),
    ],
)
def test_operator_precedence(text, expected):
    expr, errors = parse_expr(text)
    assert errors == []
    assert shape(expr) == expected


def test_primary_expressions():
    expr, _ = parse_expr('a.b."c"[0][1:2](x, y)')
    assert isinstance(expr, CallExpr)
    assert isinstance(expr.func, SliceExpr)
    assert isinstance(expr.func.operand, IndexExpr)
    assert isinstance(expr.func.operand.operand, SelectorExpr)
    assert expr.func.operand.operand.name == "c"
    assert [arg.name for arg in expr.args] == ["x", "y"]


def test_slice_without_bounds():
    expr, errors = parse_expr("a[:]")
    assert errors == []
    assert (expr.low, expr.high) == (None, None)


def test_selector_of_definition():
    expr, _ = parse_expr("op.#Exec")
    assert expr.name == "#Exec"


def test_bottom_and_top():
    assert isinstance(value_of("_|_"), BottomLit)
    assert value_of("_").name == "_"


@pytest.mark.parametrize(
    ("raw", "value", "is_float"),
    [
        ("42", 42, False),
        ("0", 0, False),
        ("1_000_000", 1000000, False),
        ("0x1F", 31, False),
        ("0XfF", 255, False),
        ("0x_ff", 255, False),
        ("0o755", 493, False),
        ("0b0101_0001", 81, False),
        ("1K", 1000, False),
        ("1Ki", 1024, False),
        ("1Mi", 1048576, False),
        ("1.5G", 1500000000, False),
        (".5Ki", 512, False),
        ("1.3Ki", 1331, False),
        ("170_141_183_460_469_231_731_687_303_715_884_105_727", 170141183460469231731687303715884105727, False),
        ("1.5", 1.5, True),
        ("1.5e+3", 1500.0, True),
        ("1e3", 1000.0, True),
        ("6.67428e-11", 6.67428e-11, True),
        (".25", 0.25, True),
        ("0.", 0.0, True),
        ("072.40", 72.4, True),
        ("1_000.5", 1000.5, True),
    ],
)
def test_number_literals(raw, value, is_float):
    literal = value_of(raw)
    assert literal.value == value
    assert literal.is_float is is_float


@pytest.mark.parametrize(
    ("raw", "value"),
    [
        ('"plain"', "plain"),
        ('""', ""),
        ('"a\\tb\\nc"', "a\tb\nc"),
        ('"q\\"q"', 'q"q'),
        ('"back\\\\slash\\/"', "back\\slash/"),
        ('"\\a\\b\\f\\r\\v"', "\a\b\f\r\v"),
        ('"\\u00e9"', "é"),
        ('"\\U0001F600"', "😀"),
        ('"\\uD83D\\uDE00"', "😀"),
        ('"日本語"', "日本語"),
        ('#"raw \\n \\(x) "q""#', 'raw \\n \\(x) "q"'),
        ('#"esc \\#n"#', "esc \n"),
        ('##"x"#y"##', 'x"#y'),
        ('#""#', ""),
        ('#"""#', '"'),
        ('"""\n\tline one\n\t  two\n\t"""', "line one\n  two"),
        ('"""\n  a\n\n  b\n  """', "a\n\nb"),
        ('"""\n"""', ""),
        ('"""\n  x\\\n  y\n  """', "xy"),
        ("'''\n  bytes\n  '''", b"bytes"),
        ("'abc'", b"abc"),
        ("'\\x00\\xff'", b"\x00\xff"),
        ("'\\101\\102'", b"AB"),
        ("'\\u00e9'", "é".encode()),
        ("'é'", "é".encode()),
        ("'it\\'s'", b"it's"),
    ],
)
def test_string_literals(raw, value):
    assert value_of(raw).value == value


def test_crlf_dropped_from_multiline_string():
    assert value_of('"""\r\n  a\r\n  b\r\n  """').value == "a\nb"


def test_interpolation_parts():
    node = value_of('"a \\(b) c \\(d + 1) e"')
    assert isinstance(node, Interpolation)
    assert node.fragments == ["a ", " c ", " e"]
    assert [type(expr) for expr in node.exprs] == [Ident, BinaryExpr]


def test_raw_interpolation():
    node = value_of('#"sum \\#(1 + 2) "q""#')
    assert node.fragments == ["sum ", ' "q"']


def test_multiline_interpolation_strips_indentation():
    node = value_of('"""\n\tfirst \\(a)\n\tsecond \\(b) tail\n\t"""')
    assert node.fragments == ["first ", "\nsecond ", " tail"]


def test_nested_interpolation():
    node = value_of('"a \\("b \\(c)") d"')
    inner = node.exprs[0]
    assert isinstance(inner, Interpolation)
    assert inner.exprs[0].name == "c"


# Spans


def test_field_and_label_spans():
    file = parse("package p\n\nname: string @input(doc=\"x\")\n")
    field = file.decls[0]
    assert (field.span.start, field.span.end) == (at(3, 1), at(3, 29))
    assert (field.label_span.start, field.label_span.end) == (at(3, 1), at(3, 5))
    assert (field.value.span.start, field.value.span.end) == (at(3, 7), at(3, 13))


def test_attribute_span():
    attribute = parse('a: 1 @output(dir="dist")\n').decls[0].attributes[0]
    assert (attribute.span.start, attribute.span.end) == (at(1, 6), at(1, 25))


def test_nested_field_spans():
    file = parse("a: {\n\tb: [1, 2]\n\tc: {\n\t\td: true\n\t}\n}\n")
    assert (field_span(file, ("a",)).start, field_span(file, ("a",)).end) == (at(1, 1), at(6, 2))
    assert (field_span(file, ("a", "b")).start, field_span(file, ("a", "b")).end) == (at(2, 2), at(2, 11))
    assert (field_span(file, ("a", "c", "d")).start, field_span(file, ("a", "c", "d")).end) == (at(4, 3), at(4, 10))


def test_chained_field_spans():
    file = parse("x: 0\na: b: c: 1\n")
    outer = find_field(file, ("a",))
    inner = find_field(file, ("a", "b", "c"))
    assert (outer.span.start, outer.span.end) == (at(2, 1), at(2, 11))
    assert (inner.span.start, inner.label_span.end) == (at(2, 7), at(2, 8))


def test_multiline_value_span():
    file = parse('a: """\n\tx\n\t"""\nb: 1\n')
    assert file.decls[0].span.end == at(3, 5)
    assert file.decls[1].span.start == at(4, 1)


def test_span_filename():
    file = parse("a: 1\n", "config/main.cue")
    assert file.decls[0].span.file == "config/main.cue"


def test_every_node_has_a_span():
    file = parse((FIXTURES / "syntax" / "constructs.cue").read_text())
    assert all(node.span.start <= node.span.end for node in walk(file))


def test_children_lie_within_parents():
    file = parse((FIXTURES / "syntax" / "constructs.cue").read_text())
    for node in walk(file):
        for child in node_children(node):
            assert node.span.start <= child.span.start
            assert child.span.end <= node.span.end


def node_children(node):
    from archon.runtime.cue import children

    return list(children(node))


# Doc comments


def test_doc_comment_block():
    file = parse("// First line.\n// Second line.\na: 1\n")
    assert file.decls[0].doc == "First line.\nSecond line."


def test_doc_comment_needs_adjacent_line():
    file = parse("// Separated.\n\na: 1\n")
    assert file.decls[0].doc is None


def test_trailing_comment_is_not_doc():
    file = parse("x: 1 // about x\na: 1\n")
    assert file.decls[1].doc is None


def test_doc_of_nested_field():
    file = parse("a: {\n\t// Inner.\n\tb: 1\n}\n")
    assert find_field(file, ("a", "b")).doc == "Inner."


def test_input_doc_comments():
    text = "// The program's source.\nsource: op.#Dir @input()\n\n// The greeting to print.\ngreeting: string @input()\n"
    file = parse(text)
    assert find_field(file, ("source",)).doc == "The program's source."
    assert find_field(file, ("greeting",)).doc == "The greeting to print."


def test_comments_kept_on_file():
    file = parse("// a\nx: 1 // b\n")
    assert [comment.text for comment in file.comments] == ["// a", "// b"]
    assert file.comments[1].span.start == at(2, 6)


# Queries


COMPONENTS = """package main

import "archon.dev/op"

base: #up: [
\top.#FetchContainer & {ref: "archon/busybox:latest"},
]

hello: #up: [
\top.#Load & {from: base},
\top.#Exec & {args: ["sh", "-c", "echo hello > /hello.txt"]},
]

dist: {#up: [op.#Load & {from: hello}]} @output(dir="dist")
dist: extra: 1
"""


def test_find_field_through_chain_and_unification():
    file = parse(COMPONENTS)
    field = find_field(file, ("hello", "#up", "1", "args"))
    assert field.label == "args"
    assert field.span.start == at(11, 14)


def test_find_field_missing():
    file = parse(COMPONENTS)
    assert find_field(file, ("hello", "nope")) is None
    assert find_field(file, ("hello", "#up", "7")) is None
    assert field_span(file, ("nope",)) is None


def test_find_field_returns_first_of_repeated_labels():
    file = parse(COMPONENTS)
    assert find_field(file, ("dist",)).span.start == at(14, 1)


def test_find_fields_returns_all_repeated_labels():
    file = parse(COMPONENTS)
    assert [field.span.start.line for field in find_fields(file, ("dist",))] == [14, 15]


def test_find_field_searches_every_repeated_label():
    file = parse(COMPONENTS)
    assert find_field(file, ("dist", "extra")).span.start == at(15, 7)


def test_find_field_in_comprehension_and_embedding():
    file = parse("{a: 1}\nif true {b: 2}\n")
    assert find_field(file, ("a",)) is not None
    assert find_field(file, ("b",)) is not None


def test_field_at_innermost_path():
    file = parse(COMPONENTS)
    assert field_at(file, 11, 20) == ("hello", "#up", "1", "args")
    assert field_at(file, 11, 28) == ("hello", "#up", "1", "args", "1")
    assert field_at(file, 6, 26) == ("base", "#up", "0", "ref")
    assert field_at(file, 14, 3) == ("dist",)


def test_field_at_outside_fields():
    file = parse(COMPONENTS)
    assert field_at(file, 3, 3) is None


def test_field_at_end_of_value_counts():
    file = parse("a: 1\n")
    assert field_at(file, 1, 5) == ("a",)


def test_node_at_finds_innermost():
    file = parse(COMPONENTS)
    node = node_at(file, 10, 21)
    assert isinstance(node, Ident)
    assert node.name == "base"


def test_visitor_counts_fields():
    class FieldCounter(Visitor):
        def __init__(self):
            self.labels = []

        def visit_Field(self, node):
            self.labels.append(node.label)
            self.generic_visit(node)

    counter = FieldCounter()
    counter.visit(parse(COMPONENTS))
    assert counter.labels == ["base", "#up", "ref", "hello", "#up", "from", "args", "dist", "#up", "from", "dist", "extra"]


def test_walk_visits_parents_first():
    file = parse("a: b: 1\n")
    assert [type(node).__name__ for node in walk(file)] == [
        "File", "Field", "Ident", "StructLit", "Field", "Ident", "NumberLit",
    ]


def test_walk_file_in_source_order():
    file = parse('@a()\npackage p\nimport "x"\n// note\nb: 1\n')
    assert [type(node).__name__ for node in walk(file)] == [
        "File", "Attribute", "PackageClause", "ImportSpec", "Field", "Ident", "NumberLit",
    ]


def test_nodes_at_outermost_first():
    file = parse("a: {b: [1, x]}\n")
    chain = [type(node).__name__ for node in nodes_at(file, 1, 12)]
    assert chain == ["File", "Field", "StructLit", "Field", "ListLit", "Ident"]


# Errors and recovery


def error_list(text: str) -> list[tuple[int, int, str]]:
    return [(error.span.start.line, error.span.start.column, error.message) for error in parse(text).errors]


def test_errors_have_code_syntax():
    file = parse("a: 1 b: 2\n")
    assert [error.code for error in file.errors] == ["syntax"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("a: 1 b: 2\n", [(1, 6, "expected a newline or ',' after the declaration, found identifier b")]),
        ("a: {\nb: 1\n", [(1, 4, "'{' is not closed: expected '}', found end of file")]),
        ("a: [1, 2\nb: 3\n", [(1, 4, "'[' is not closed: expected ']', found end of line")]),
        ("a: (1 + 2\nb: 3\n", [(1, 4, "'(' is not closed: expected ')', found end of line")]),
        ('a: "open\nb: 1\n', [(1, 4, "string literal not terminated")]),
        ("a: 0755\n", [(1, 4, "invalid number 0755: a decimal integer may not start with 0; write 0o755 for an octal number")]),
        ("a: 1__0\n", [(1, 4, "invalid number 1__0: '_' may only separate two digits")]),
        ("a: 0x\n", [(1, 4, "invalid number 0x: not a valid hexadecimal integer")]),
        ('a: "x\\q"\n', [(1, 6, "unknown escape sequence \\q")]),
        ('a: "\\x41"\n', [(1, 5, "hexadecimal escape not allowed in a string literal; use \\u")]),
        ('a: "\\uD800"\n', [(1, 4, "invalid string: unmatched surrogate pair")]),
        ("a: @x(\nb: 1\n", [(1, 4, "attribute not terminated: missing ')'")]),
        ("a: 1 &\n", [(2, 1, "expected an operand after '&', found end of file")]),
        ("}\na: 1\n", [(1, 1, "unexpected '}'")]),
        ("a: ]\nb: 2\n", [(1, 4, "expected a value after ':', found ']'")]),
        ("a: 1 ~ 2\n", [(1, 6, "illegal character '~' (U+007E)")]),
        ("a: 1\npackage p\n", [(2, 1, "the package clause must come first in the file")]),
        ('a: 1\nimport "x"\n', [(2, 1, "imports must come before all other declarations")]),
        ('a: """x\n', [(1, 4, 'expected a newline after the opening """ of a multi-line string')]),
        ('a: """\n  x\n y\n  """\n', [(1, 4, "invalid multi-line string: every line must start with the indentation of the closing \"\"\" ('  ')")]),
        ("a: 1 + : 2\n", [(1, 8, "expected an operand after '+', found ':'")]),
        ("a.b: 1\n", [(1, 1, "invalid field label a.b")]),
        ("X = 3\n", [(1, 6, "expected ':' after the aliased label X=3")]),
        ("a: [1,, 2]\n", [(1, 7, "unexpected ',' in the list: expected an element")]),
        ("for x y {}\n", [(1, 7, "expected 'in' in the for clause, found identifier y")]),
        ("let x\nb: 1\n", [(1, 6, "expected '=' after let x, found end of line")]),
        ("a: op.\nb: 1\n", [(1, 6, "expected a field name after '.', found end of line")]),
    ],
)
def test_syntax_errors(text, expected):
    assert error_list(text) == expected


def test_one_error_per_line():
    assert len(parse("a: ) ) ) ]\n").errors) == 1


def test_recovery_keeps_later_fields():
    file = parse("a: 1\nb: 1 2 3\nc: (\nd: 4\ne: [1, 2\nf: 6\ng: op.\nh: 7\ni: 8 +\nj: 9\nk: 10\n")
    labels = [decl.label for decl in file.decls if isinstance(decl, Field)]
    assert labels == ["a", "b", "c", "d", "e", "f", "g", "h", "i", "k"]


def test_recovery_after_bad_declaration():
    file = parse(":::\nb: 2\n")
    assert find_field(file, ("b",)) is not None


def test_unclosed_struct_keeps_inner_fields():
    file = parse("a: {\n\tb: 1\n\tc: 2\n")
    assert find_field(file, ("a", "c")) is not None


def test_error_text_kept_in_bad_decl():
    file = parse("a: 1\n) b\n")
    assert file.errors[0].span.start == at(2, 1)


def test_deep_nesting_reports_error():
    file = parse("a: " + "[" * 5000 + "]" * 5000 + "\n")
    assert [error.message for error in file.errors] == ["expression nested deeper than 1000 levels"]


def test_deep_unary_chain_reports_error():
    file = parse("a: " + "-" * 5000 + "1\n")
    assert len(file.errors) == 1


def test_parse_never_raises_on_binary_garbage():
    text = bytes(range(256)).decode("latin-1") * 4
    assert parse(text).errors != []


def test_nul_character_reported():
    assert error_list("a: 1\x00\n") == [(1, 5, "illegal character '\\x00' (U+0000)")]


def test_byte_order_mark_skipped():
    assert parse("\ufeffa: 1\n").errors == []
