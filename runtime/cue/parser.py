"""Error-tolerant recursive-descent parser for CUE.

`parse` never raises (tests/runtime/test_cue_fuzz.py feeds it every prefix
of several files and thousands of random mutations). Each syntax problem
becomes one `Diagnostic` with code `syntax`. Only the first problem of a line
is reported, so that one typo does not flood an editor. Parsing resumes at
the next declaration, which is usually the next line because newlines end
declarations. Unparsable text is kept in `BadDecl` and `BadExpr` nodes.
"""

from __future__ import annotations

import sys

from archon.runtime.cue import ast
from archon.runtime.cue.literals import decode_fragments, decode_string, parse_number
from archon.runtime.cue.printer import format_node
from archon.runtime.cue.scanner import (
    KIND_ATTRIBUTE,
    KIND_BOTTOM,
    KIND_EOF,
    KIND_FLOAT,
    KIND_IDENT,
    KIND_INT,
    KIND_INTERP_END,
    KIND_INTERP_MID,
    KIND_INTERP_START,
    KIND_STRING,
    LineIndex,
    ScanResult,
    Token,
    scan,
)
from archon.runtime.diagnostics import Diagnostic, Position, Span

BINARY_PRECEDENCE = {
    "|": 1,
    "&": 2,
    "||": 3,
    "&&": 4,
    "==": 5, "!=": 5, "<": 5, "<=": 5, ">": 5, ">=": 5, "=~": 5, "!~": 5,
    "+": 6, "-": 6,
    "*": 7, "/": 7,
}
# NOTE: cue v0.17 only offers these as builtin functions (`div(7, 2)`). The
# parser also accepts the older infix form `7 div 2` at precedence 7, which
# `cue` itself rejects, so such text only gets an error at evaluation.
WORD_OPERATORS = frozenset({"div", "mod", "quo", "rem"})
UNARY_OPERATORS = frozenset({"+", "-", "!", "*", "!=", "<", "<=", ">", ">=", "=~", "!~"})
CLAUSE_KEYWORDS = frozenset({"for", "if", "let", "in"})
OPENERS = {"(": ")", "[": "]", "{": "}"}
CLOSERS = frozenset({")", "]", "}"})
EXPRESSION_STARTS = frozenset(
    {
        KIND_IDENT, KIND_INT, KIND_FLOAT, KIND_STRING, KIND_INTERP_START, KIND_BOTTOM,
        "true", "false", "null", "(", "[", "{",
    }
    | UNARY_OPERATORS
)

# Brackets nested deeper than this are reported and skipped. Each level
# costs about ten Python frames, so parsing raises the interpreter's
# recursion limit to fit (Python 3.11 keeps Python-to-Python calls off the
# C stack, so a high limit is safe).
MAX_NESTING = 1000
_RECURSION_LIMIT = 12 * MAX_NESTING + 2000


def parse(text: str, filename: str = "<input>") -> ast.File:
    """Parse CUE source text; syntax errors land in `File.errors` and it never raises (see above)."""
    ensure_recursion_limit()
    parser = Parser(scan(text), filename)
    try:
        return parser.parse_file()
    except RecursionError:
        return parser.abandon("nesting too deep to parse")


def parse_expr(text: str, filename: str = "<input>") -> tuple[ast.Node, list[Diagnostic]]:
    """Parse one expression; text after it is reported as an error."""
    ensure_recursion_limit()
    parser = Parser(scan(text), filename)
    try:
        expr = parser.parse_expr()
        while parser.kind == ",":
            parser.advance()
        if parser.kind != KIND_EOF:
            parser.error_at_token(f"unexpected {parser.describe()} after the expression")
    except RecursionError:
        expr = ast.BadExpr(text, parser.span(0, len(text)))
        parser.error(0, len(text), "nesting too deep to parse")
    return expr, parser.finish_errors()


def ensure_recursion_limit() -> None:
    if sys.getrecursionlimit() < _RECURSION_LIMIT:
        sys.setrecursionlimit(_RECURSION_LIMIT)


class Parser:
    """Parser state over one token list; also used by `decode` for single values."""

    def __init__(self, result: ScanResult, filename: str, lines: LineIndex | None = None):
        self.text = result.text
        self.tokens: list[Token] = result.tokens
        self.comments = result.comments
        self.filename = filename
        self.lines = lines or LineIndex(result.text)
        self.i = 0
        self.nesting = 0
        self.errors: list[Diagnostic] = []
        self._error_lines: set[int] = set()
        self._own_line_comments: dict[int, tuple[int, int]] | None = None
        for start, end, message in result.errors:
            self.error(start, end, message)

    # Tokens and positions

    @property
    def kind(self) -> str:
        return self.tokens[self.i][0]

    def peek(self, offset: int = 1) -> str:
        index = min(self.i + offset, len(self.tokens) - 1)
        return self.tokens[index][0]

    def advance(self) -> Token:
        token = self.tokens[self.i]
        if token[0] != KIND_EOF:
            self.i += 1
        return token

    def position(self, offset: int) -> Position:
        return self.lines.position(offset)

    def span(self, start: int, end: int) -> Span:
        return Span(self.filename, self.lines.position(start), self.lines.position(end))

    def span_between(self, first: ast.Node, last: ast.Node) -> Span:
        return Span(self.filename, first.span.start, last.span.end)

    def last_end(self) -> int:
        """Return the end offset of the last consumed token that is not an inserted comma."""
        index = self.i - 1
        while index > 0 and self.tokens[index][1] == "\n":
            index -= 1
        return self.tokens[index][3] if index >= 0 else 0

    def describe(self, token: Token | None = None) -> str:
        kind, text, _, _ = token or self.tokens[self.i]
        if kind == KIND_EOF:
            return "end of file"
        if kind == "," and text == "\n":
            return "end of line"
        if kind in (KIND_INTERP_MID, KIND_INTERP_END):
            return "')'"
        if kind == KIND_IDENT:
            return f"identifier {text}"
        if kind in (KIND_STRING, KIND_INTERP_START):
            return "string " + (text if len(text) <= 20 else text[:17] + "...")
        if kind in (KIND_INT, KIND_FLOAT):
            return f"number {text}"
        if kind == KIND_ATTRIBUTE:
            return f"attribute {text.split('(', 1)[0]}"
        return f"'{text}'"

    # Errors

    def error(self, start: int, end: int, message: str, hint: str | None = None) -> None:
        line = self.lines.line_of(start)
        if line in self._error_lines:
            return
        self._error_lines.add(line)
        self.errors.append(Diagnostic(message, self.span(start, end), code="syntax", hint=hint))

    def error_at_token(self, message: str, hint: str | None = None) -> None:
        _, _, start, end = self.tokens[self.i]
        self.error(start, end, message, hint)

    def finish_errors(self) -> list[Diagnostic]:
        self.errors.sort(key=lambda d: (d.span.start if d.span else Position(0, 0)))
        return self.errors

    def abandon(self, message: str) -> ast.File:
        """Return a file holding the whole text as one bad declaration."""
        end = len(self.text)
        self.error(0, end, message)
        span = self.span(0, end)
        return ast.File(
            None, [], [ast.BadDecl(self.text, span)], self._comment_nodes(),
            self.finish_errors(), span, self.filename,
        )

    def skip_to_decl_end(self, closing: str | None) -> None:
        """Skip to where the next declaration can start.

        That is after the next `,` at this bracket depth, or before the
        closing bracket, or before the first token of a later line (most
        declarations are one line, so resuming there loses the least).
        """
        depth = 0
        start_line = self.lines.line_of(self.tokens[self.i][2])
        while True:
            kind, text, start, _ = self.tokens[self.i]
            if kind == KIND_EOF:
                return
            if depth == 0 and text != "\n" and start_line < self.lines.line_of(start):
                return
            if kind in OPENERS or kind == KIND_INTERP_START:
                depth += 1
            elif kind in CLOSERS or kind == KIND_INTERP_END:
                if depth == 0:
                    if kind == closing or (closing is not None and kind == "}"):
                        return
                else:
                    depth -= 1
            elif kind == "," and depth == 0:
                self.advance()
                return
            self.advance()

    # File

    def parse_file(self) -> ast.File:
        attributes = self._parse_preamble_attributes()
        package = self.parse_package()
        imports = self.parse_imports()
        decls = self.parse_decls(None, imports)
        end = len(self.text)
        return ast.File(
            package, imports, decls, self._comment_nodes(), self.finish_errors(),
            self.span(0, end), self.filename, attributes,
        )

    def _parse_preamble_attributes(self) -> list[ast.Attribute]:
        """Attributes before the package clause belong to the file, else they are declarations."""
        start = self.i
        attributes = []
        while self.kind == KIND_ATTRIBUTE or self.kind == ",":
            if self.kind == KIND_ATTRIBUTE:
                attributes.append(self.parse_attribute())
            else:
                self.advance()
        if attributes and self._at_package_clause():
            return attributes
        self.i = start
        return []

    def _at_package_clause(self) -> bool:
        kind, text, _, _ = self.tokens[self.i]
        return kind == KIND_IDENT and text == "package" and self.peek() not in (":", "?", "!", "=")

    def parse_package(self) -> ast.PackageClause | None:
        if not self._at_package_clause():
            return None
        start = self.advance()[2]
        if self.kind != KIND_IDENT:
            self.error_at_token(f"expected a package name after 'package', found {self.describe()}")
            self.skip_to_decl_end(None)
            return None
        _, name, name_start, name_end = self.advance()
        self._expect_decl_end(None)
        return ast.PackageClause(name, self.span(start, name_end), self.span(name_start, name_end))

    def _at_import(self) -> bool:
        kind, text, _, _ = self.tokens[self.i]
        if kind != KIND_IDENT or text != "import":
            return False
        following = self.peek()
        return following in (KIND_STRING, "(") or (following == KIND_IDENT and self.peek(2) == KIND_STRING)

    def parse_imports(self) -> list[ast.ImportSpec]:
        imports: list[ast.ImportSpec] = []
        while True:
            while self.kind == ",":
                self.advance()
            if not self._at_import():
                return imports
            self._parse_import_decl(imports)

    def _parse_import_decl(self, imports: list[ast.ImportSpec]) -> None:
        self.advance()  # `import`
        if self.kind != "(":
            spec = self._parse_import_spec()
            if spec is not None:
                imports.append(spec)
            self._expect_decl_end(None)
            return

        _, _, open_start, open_end = self.advance()
        while True:
            kind = self.kind
            if kind == ")":
                self.advance()
                break
            if kind == KIND_EOF or kind in ("}", "]"):
                self.error(open_start, open_end, "import group not closed: expected ')'")
                break
            if kind == ",":
                self.advance()
                continue
            before = self.i
            spec = self._parse_import_spec()
            if spec is None:
                self.skip_to_decl_end(")")
                if self.i == before:
                    self.advance()
                continue
            imports.append(spec)
            if self.kind not in (",", ")"):
                self.error_at_token(f"expected a newline or ')' after the import, found {self.describe()}")
                self.skip_to_decl_end(")")
        self._expect_decl_end(None)

    def _parse_import_spec(self) -> ast.ImportSpec | None:
        start = self.tokens[self.i][2]
        alias = None
        if self.kind == KIND_IDENT:
            alias = self.advance()[1]
        if self.kind != KIND_STRING:
            self.error_at_token(f"expected an import path string, found {self.describe()}")
            return None
        _, raw, path_start, path_end = self.advance()
        path, errors = decode_string(raw)
        self._literal_errors([path_start], errors)
        if not isinstance(path, str) or not path:
            self.error(path_start, path_end, f"invalid import path {raw}")
            path = path.decode("utf-8", "replace") if isinstance(path, bytes) else ""
        return ast.ImportSpec(path, alias, self.span(start, path_end), self.span(path_start, path_end))

    def _expect_decl_end(self, closing: str | None) -> None:
        kind = self.kind
        if kind == ",":
            self.advance()
        elif kind != KIND_EOF and kind != closing:
            if self.errors and self._starts_line():
                # Recovery from an earlier error (such as an unclosed
                # bracket) left us at the start of the next declaration.
                return
            self.error_at_token(f"expected a newline or ',' after the declaration, found {self.describe()}")
            self.skip_to_decl_end(closing)

    def _starts_line(self) -> bool:
        """Report whether the current token is on a later line than the previous token."""
        if self.i == 0:
            return True
        previous_line = self.lines.line_of(self.tokens[self.i - 1][3])
        return previous_line < self.lines.line_of(self.tokens[self.i][2])

    # Declarations

    def parse_decls(self, closing: str | None, imports: list[ast.ImportSpec] | None = None) -> list[ast.Node]:
        """Parse declarations up to `closing` (not consumed) or the end of the file."""
        decls: list[ast.Node] = []
        while True:
            kind = self.kind
            if kind == KIND_EOF or kind == closing:
                return decls
            if kind == ",":
                self.advance()
                continue
            if kind in CLOSERS:
                self.error_at_token(f"unexpected '{kind}'")
                self.advance()
                continue
            if imports is not None and self._misplaced_preamble(imports):
                continue

            start = self.i
            decl = self.parse_decl()
            if decl is not None:
                decls.append(decl)
            if self.i == start:
                decls.append(self._bad_decl(closing))
                continue
            self._expect_decl_end(closing)

    def _misplaced_preamble(self, imports: list[ast.ImportSpec]) -> bool:
        if self._at_import():
            self.error_at_token("imports must come before all other declarations")
            self._parse_import_decl(imports)
            return True
        if self._at_package_clause() and self.peek() == KIND_IDENT:
            self.error_at_token("the package clause must come first in the file")
            self.skip_to_decl_end(None)
            return True
        return False

    def _bad_decl(self, closing: str | None) -> ast.BadDecl:
        start = self.tokens[self.i][2]
        self.error_at_token(f"expected a field, an embedding or '}}', found {self.describe()}")
        if self.kind in CLOSERS:
            self.advance()
        else:
            self.skip_to_decl_end(closing)
        end = max(start, self.last_end())
        return ast.BadDecl(self.text[start:end], self.span(start, end))

    def _at_label_end(self, offset: int = 0) -> bool:
        """Report whether tokens at `offset` are `:`, `?:` or `!:`."""
        kind = self.peek(offset)
        return kind == ":" or (kind in ("?", "!") and self.peek(offset + 1) == ":")

    def parse_decl(self) -> ast.Node | None:
        kind = self.kind
        if kind == KIND_ATTRIBUTE:
            return self.parse_attribute()
        if kind == "...":
            return self._parse_ellipsis()
        if kind == "let" and not self._at_label_end(1):
            let = self._parse_let()
            let.doc = self._doc_for(let.span)
            return let
        if kind in ("for", "if") and not self._at_label_end(1):
            return self._parse_comprehension()

        start_token = self.tokens[self.i]
        alias = None
        if kind == KIND_IDENT and self.peek() == "=":
            alias = ast.Ident(start_token[1], self.span(start_token[2], start_token[3]))
            self.i += 2

        expr = self.parse_expr()
        if self._at_label_end():
            field = self._parse_field(expr, alias, start_token[2])
            field.doc = self._doc_for(field.span)
            return field
        if alias is not None:
            self.error_at_token(
                f"expected ':' after the aliased label {alias.name}={format_node(expr)}",
                hint="write `let X = expr` to name a value, or `X=label: value` to alias a field",
            )
            return ast.Embedding(ast.Alias(alias, expr, self.span_between(alias, expr)), self.span_between(alias, expr))
        if isinstance(expr, ast.BadExpr) and not expr.text:
            return None
        self._check_list_aliases(expr)
        return ast.Embedding(expr, expr.span)

    def _parse_field(self, label_expr: ast.Node, alias: ast.Ident | None, start: int) -> ast.Field:
        label, label_kind = self._label_of(label_expr)
        constraint = None
        if self.kind in ("?", "!"):
            constraint = self.advance()[0]
        self.advance()  # `:`

        value = self._parse_field_value()
        attributes = []
        while self.kind == KIND_ATTRIBUTE:
            attributes.append(self.parse_attribute())

        end = attributes[-1].span.end if attributes else value.span.end
        return ast.Field(
            label, label_kind, constraint, value, attributes,
            Span(self.filename, self.position(start), end), label_expr.span,
            None, label_expr, alias,
        )

    def _parse_field_value(self) -> ast.Node:
        """Parse what follows `label:`: a value, or the next label of a chain `a: b: 1`."""
        token = self.tokens[self.i]
        alias = None
        if token[0] == KIND_IDENT and self.peek() == "=":
            alias = ast.Ident(token[1], self.span(token[2], token[3]))
            self.i += 2

        if self.kind not in EXPRESSION_STARTS and not (
            self.kind in CLAUSE_KEYWORDS and self._at_label_end(1)
        ):
            self.error_at_token(f"expected a value after ':', found {self.describe()}")
            at = self.tokens[self.i][2]
            return ast.BadExpr("", self.span(at, at))

        expr = self.parse_expr()
        if self._at_label_end():
            inner = self._parse_field(expr, alias, token[2])
            return ast.StructLit([inner], inner.span, implicit=True)
        if alias is not None:
            return ast.Alias(alias, expr, self.span_between(alias, expr))
        self._check_list_aliases(expr)
        return expr

    def _label_of(self, expr: ast.Node) -> tuple[str, str]:
        if isinstance(expr, ast.Ident):
            name = expr.name
            if name.startswith("#"):
                return name, "definition"
            if name.startswith("_") and name != "_":
                return name, "hidden"
            return name, "identifier"
        if isinstance(expr, ast.BoolLit):
            return ("true" if expr.value else "false"), "identifier"
        if isinstance(expr, ast.NullLit):
            return "null", "identifier"
        if isinstance(expr, ast.StringLit) and not expr.is_bytes:
            return str(expr.value), "string"
        if isinstance(expr, ast.Interpolation) and not expr.is_bytes:
            return format_node(expr), "interpolated"
        if isinstance(expr, ast.ParenExpr):
            return format_node(expr), "dynamic"
        if isinstance(expr, ast.ListLit) and len(expr.elements) == 1 and not isinstance(
            expr.elements[0], (ast.Ellipsis, ast.Comprehension)
        ):
            return format_node(expr), "pattern"

        text = " ".join(self._source(expr).split())
        self.error(
            self.lines.offset(expr.span.start.line, expr.span.start.column),
            self.lines.offset(expr.span.end.line, expr.span.end.column),
            f"invalid field label {text}",
            hint="a label is an identifier, a string, a pattern [expr] or a dynamic label (expr)",
        )
        return text, "invalid"

    def _source(self, node: ast.Node) -> str:
        start = self.lines.offset(node.span.start.line, node.span.start.column)
        end = self.lines.offset(node.span.end.line, node.span.end.column)
        return self.text[start:end]

    def _check_list_aliases(self, expr: ast.Node) -> None:
        if isinstance(expr, ast.ListLit):
            for element in expr.elements:
                if isinstance(element, ast.Alias):
                    start = self.lines.offset(element.span.start.line, element.span.start.column)
                    self.error(start, start + len(element.name.name), "an alias is only allowed in a pattern label [X=expr]")

    def parse_attribute(self) -> ast.Attribute:
        attribute = self.parse_attribute_at(self.i)
        self.advance()
        return attribute

    def parse_attribute_at(self, index: int) -> ast.Attribute:
        """Build the attribute of the token at `index` without moving."""
        _, text, start, end = self.tokens[index]
        name, paren, body = text[1:].partition("(")
        if paren and body.endswith(")"):
            body = body[:-1]
        return ast.Attribute(name, body, self.span(start, end))

    def _parse_ellipsis(self) -> ast.Ellipsis:
        _, _, start, end = self.advance()
        if self.kind in EXPRESSION_STARTS:
            value = self.parse_expr()
            return ast.Ellipsis(value, Span(self.filename, self.position(start), value.span.end))
        return ast.Ellipsis(None, self.span(start, end))

    def _parse_let(self) -> ast.LetClause:
        _, _, start, _ = self.advance()  # `let`
        name = self._parse_ident("after 'let'")
        if self.kind == "=":
            self.advance()
        else:
            self.error_at_token(f"expected '=' after let {name.name}, found {self.describe()}")
        value = self.parse_expr()
        return ast.LetClause(name, value, Span(self.filename, self.position(start), value.span.end))

    def _parse_ident(self, context: str) -> ast.Ident:
        kind, text, start, end = self.tokens[self.i]
        if kind == KIND_IDENT:
            self.advance()
            return ast.Ident(text, self.span(start, end))
        self.error_at_token(f"expected an identifier {context}, found {self.describe()}")
        return ast.Ident("", self.span(start, start))

    def _parse_comprehension(self) -> ast.Comprehension:
        start = self.tokens[self.i][2]
        clauses: list[ast.Node] = []
        while True:
            kind = self.kind
            if kind == "for":
                clauses.append(self._parse_for())
            elif kind == "if":
                _, _, clause_start, _ = self.advance()
                condition = self.parse_expr()
                clauses.append(ast.IfClause(condition, Span(self.filename, self.position(clause_start), condition.span.end)))
            elif kind == "let":
                clauses.append(self._parse_let())
            else:
                break
            if self.kind == "," and self.peek() in ("for", "if", "let"):
                self.advance()

        if self.kind == "{":
            body = self._parse_struct()
        else:
            self.error_at_token(f"expected '{{' after the comprehension clauses, found {self.describe()}")
            at = self.last_end()
            body = ast.StructLit([], self.span(at, at))
        return ast.Comprehension(clauses, body, Span(self.filename, self.position(start), body.span.end))

    def _parse_for(self) -> ast.ForClause:
        _, _, start, _ = self.advance()  # `for`
        key = None
        value = self._parse_ident("after 'for'")
        if self.kind == ",":
            self.advance()
            key, value = value, self._parse_ident("after ','")
        if self.kind == "in":
            self.advance()
        else:
            self.error_at_token(f"expected 'in' in the for clause, found {self.describe()}")
        source = self.parse_expr()
        return ast.ForClause(key, value, source, Span(self.filename, self.position(start), source.span.end))

    # Expressions

    def parse_expr(self, min_precedence: int = 1) -> ast.Node:
        left = self._parse_unary()
        tokens = self.tokens
        while True:
            kind, text, _, _ = tokens[self.i]
            precedence = BINARY_PRECEDENCE.get(kind)
            if precedence is None:
                if kind == KIND_IDENT and text in WORD_OPERATORS and self.peek() in EXPRESSION_STARTS:
                    precedence = 7
                else:
                    return left
            if precedence < min_precedence:
                return left
            self.advance()
            if self.kind not in EXPRESSION_STARTS:
                self.error_at_token(f"expected an operand after '{text}', found {self.describe()}")
                at = self.last_end()
                right: ast.Node = ast.BadExpr("", self.span(at, at))
            else:
                right = self.parse_expr(precedence + 1)
            left = ast.BinaryExpr(text, left, right, self.span_between(left, right))

    def _parse_unary(self) -> ast.Node:
        kind, text, start, _ = self.tokens[self.i]
        if kind not in UNARY_OPERATORS:
            return self._parse_primary()
        self.advance()
        self.nesting += 1
        try:
            if self.nesting > MAX_NESTING:
                return self._too_deep(start)
            operand = self._parse_unary()
        finally:
            self.nesting -= 1
        return ast.UnaryExpr(text, operand, Span(self.filename, self.position(start), operand.span.end))

    def _parse_primary(self) -> ast.Node:
        expr = self._parse_operand()
        while True:
            kind = self.kind
            if kind == ".":
                expr = self._parse_selector(expr)
            elif kind == "(":
                expr = self._parse_call(expr)
            elif kind == "[":
                expr = self._parse_index(expr)
            else:
                return expr

    def _parse_selector(self, operand: ast.Node) -> ast.Node:
        dot_end = self.advance()[3]
        kind, text, start, end = self.tokens[self.i]
        if self.lines.line_of(start) > self.lines.line_of(dot_end):
            # `x.` at the end of a line is unfinished typing; the next line
            # is most likely a declaration of its own.
            self.error(dot_end - 1, dot_end, "expected a field name after '.', found end of line")
            selector: ast.Node = ast.Ident("", self.span(dot_end, dot_end))
        elif kind == KIND_IDENT or kind in CLAUSE_KEYWORDS or kind in ("true", "false", "null"):
            self.advance()
            selector = ast.Ident(text, self.span(start, end))
        elif kind == KIND_STRING:
            selector = self._parse_string()
        else:
            self.error_at_token(f"expected a field name after '.', found {self.describe()}")
            selector = ast.Ident("", self.span(start, start))
        return ast.SelectorExpr(operand, selector, self.span_between(operand, selector))

    def _parse_call(self, func: ast.Node) -> ast.Node:
        _, _, open_start, open_end = self.advance()
        args = []
        while True:
            kind = self.kind
            if kind == ")":
                break
            if kind == "," and self.tokens[self.i][1] == "\n":
                self.advance()
                continue
            if kind not in EXPRESSION_STARTS:
                self.error_at_token(f"expected an argument or ')', found {self.describe()}")
                break
            args.append(self.parse_expr())
            if self.kind == ",":
                self.advance()
            elif self.kind != ")":
                self.error_at_token(f"expected ',' or ')' in the call, found {self.describe()}")
                break
        end = self._close(")", open_start, open_end)
        return ast.CallExpr(func, args, Span(self.filename, func.span.start, self.position(end)))

    def _parse_index(self, operand: ast.Node) -> ast.Node:
        _, _, open_start, open_end = self.advance()
        low = high = None
        if self.kind != ":":
            low = self._parse_operand_expr("an index")
        if self.kind == ":":
            self.advance()
            if self.kind != "]":
                high = self._parse_operand_expr("a slice bound")
            end = self._close("]", open_start, open_end)
            return ast.SliceExpr(operand, low, high, Span(self.filename, operand.span.start, self.position(end)))
        if self.kind == "," and self.peek() == "]":
            self.advance()
        end = self._close("]", open_start, open_end)
        return ast.IndexExpr(operand, low, Span(self.filename, operand.span.start, self.position(end)))

    def _parse_operand_expr(self, what: str) -> ast.Node:
        if self.kind in EXPRESSION_STARTS:
            return self.parse_expr()
        self.error_at_token(f"expected {what}, found {self.describe()}")
        at = self.tokens[self.i][2]
        return ast.BadExpr("", self.span(at, at))

    def _close(self, closer: str, open_start: int, open_end: int) -> int:
        """Consume `closer` and return its end; report it missing and return the last end otherwise."""
        if self.kind == closer:
            return self.advance()[3]
        self.error(
            open_start, open_end,
            f"'{self.text[open_start:open_end]}' is not closed: expected '{closer}', found {self.describe()}",
        )
        return self.last_end()

    def _parse_operand(self) -> ast.Node:
        kind, text, start, end = self.tokens[self.i]
        if kind == KIND_IDENT:
            self.advance()
            return ast.Ident(text, self.span(start, end))
        if kind == KIND_STRING:
            return self._parse_string()
        if kind == KIND_INT or kind == KIND_FLOAT:
            self.advance()
            value, problem = parse_number(text)
            if problem:
                self.error(start, end, problem)
            return ast.NumberLit(text, value, kind == KIND_FLOAT, self.span(start, end))
        if kind in OPENERS:
            self.nesting += 1
            try:
                if self.nesting > MAX_NESTING:
                    return self._too_deep(start)
                if kind == "{":
                    return self._parse_struct()
                if kind == "[":
                    return self._parse_list()
                return self._parse_paren()
            finally:
                self.nesting -= 1
        if kind == "true" or kind == "false":
            self.advance()
            return ast.BoolLit(kind == "true", self.span(start, end))
        if kind == "null":
            self.advance()
            return ast.NullLit(self.span(start, end))
        if kind == KIND_BOTTOM:
            self.advance()
            return ast.BottomLit(self.span(start, end))
        if kind == KIND_INTERP_START:
            return self._parse_interpolation()
        if kind in CLAUSE_KEYWORDS and self._at_label_end(1):
            # A keyword used as a label, as in `a: if: 1`.
            self.advance()
            return ast.Ident(text, self.span(start, end))

        self.error_at_token(f"expected an expression, found {self.describe()}")
        return ast.BadExpr("", self.span(start, start))

    def _too_deep(self, start: int) -> ast.BadExpr:
        """Report and skip an operand nested too deeply (with its brackets, if it has any)."""
        self.error_at_token(f"expression nested deeper than {MAX_NESTING} levels")
        while self.kind in UNARY_OPERATORS:
            self.advance()
        depth = 0
        while self.kind != KIND_EOF:
            kind = self.advance()[0]
            if kind in OPENERS or kind == KIND_INTERP_START:
                depth += 1
            elif kind in CLOSERS or kind == KIND_INTERP_END:
                depth -= 1
            if depth <= 0:
                break
        end = max(start, self.last_end())
        return ast.BadExpr(self.text[start:end], self.span(start, end))

    def _parse_string(self) -> ast.StringLit:
        _, raw, start, end = self.advance()
        if "\\" in raw or raw[0] != '"' or raw.startswith('"""') or "\r" in raw:
            value, errors = decode_string(raw)
            self._literal_errors([start], errors)
        else:
            value = raw[1:-1]
        return ast.StringLit(raw, value, self.span(start, end))

    def _literal_errors(self, starts: list[int], errors: list) -> None:
        for index, begin, finish, message in errors:
            base = starts[min(index, len(starts) - 1)]
            self.error(base + begin, base + finish, message)

    def _parse_interpolation(self) -> ast.Interpolation:
        _, raw, start, _ = self.advance()
        raw_fragments = [raw]
        starts = [start]
        exprs = []
        end = start + len(raw)
        while True:
            if self.kind in EXPRESSION_STARTS:
                exprs.append(self.parse_expr())
            else:
                self.error_at_token(f"expected an expression in the interpolation, found {self.describe()}")
                at = self.tokens[self.i][2]
                exprs.append(ast.BadExpr("", self.span(at, at)))
            if self.kind not in (KIND_INTERP_MID, KIND_INTERP_END):
                self.error_at_token(f"expected ')' to end the interpolation, found {self.describe()}")
                self._skip_to_interpolation_part()
            kind, raw, fragment_start, end = self.advance()
            if kind not in (KIND_INTERP_MID, KIND_INTERP_END):
                break  # end of file
            raw_fragments.append(raw)
            starts.append(fragment_start)
            if kind == KIND_INTERP_END:
                break

        while len(raw_fragments) <= len(exprs):
            raw_fragments.append("")
        fragments, errors = decode_fragments(raw_fragments)
        self._literal_errors(starts, errors)
        return ast.Interpolation(raw_fragments, fragments, exprs, self.span(start, end))

    def _skip_to_interpolation_part(self) -> None:
        depth = 0
        while self.kind != KIND_EOF:
            kind = self.kind
            if kind == KIND_INTERP_START:
                depth += 1
            elif kind == KIND_INTERP_END:
                if depth == 0:
                    return
                depth -= 1
            elif kind == KIND_INTERP_MID and depth == 0:
                return
            self.advance()

    def _parse_paren(self) -> ast.ParenExpr:
        _, _, start, open_end = self.advance()
        inner_start = self.i
        expr = self._parse_operand_expr("an expression after '('")
        if self._at_label_end() and self.lines.line_of(self.tokens[inner_start][2]) > self.lines.line_of(start):
            # `(` left open at the end of a line: the next line is a field.
            self.i = inner_start
            expr = ast.BadExpr("", self.span(open_end, open_end))
        end = self._close(")", start, open_end)
        return ast.ParenExpr(expr, self.span(start, end))

    def _parse_struct(self) -> ast.StructLit:
        _, _, start, open_end = self.advance()
        decls = self.parse_decls("}")
        end = self._close("}", start, open_end)
        return ast.StructLit(decls, self.span(start, end))

    def _parse_list(self) -> ast.ListLit:
        _, _, start, open_end = self.advance()
        elements: list[ast.Node] = []
        while True:
            kind = self.kind
            if kind == "]" or kind == KIND_EOF:
                break
            if kind == ",":
                if self.tokens[self.i][1] != "\n":
                    self.error_at_token("unexpected ',' in the list: expected an element")
                self.advance()
                continue
            if kind in ("}", ")"):
                break

            element_start = self.i
            element = self.parse_list_element()
            if self.i == element_start:
                self.error_at_token(f"expected a list element, found {self.describe()}")
                self.advance()
                continue
            if self._at_label_end():
                # `label:` inside a list: the list was most likely left
                # unclosed, so end it here and let the enclosing struct
                # parse the field.
                self.i = element_start - 1 if self.tokens[element_start - 1][0] == "," else element_start
                break
            elements.append(element)

            kind = self.kind
            if kind == ",":
                self.advance()
            elif kind != "]":
                self.error_at_token(f"expected ',' or ']' after the list element, found {self.describe()}")
                self._skip_in_list()
        end = self._close("]", start, open_end)
        return ast.ListLit(elements, self.span(start, end))

    def _skip_in_list(self) -> None:
        depth = 0
        while True:
            kind = self.kind
            if kind == KIND_EOF:
                return
            if kind in OPENERS:
                depth += 1
            elif kind in CLOSERS:
                if depth == 0:
                    return
                depth -= 1
            elif kind == "," and depth == 0:
                self.advance()
                return
            self.advance()

    def parse_list_element(self) -> ast.Node:
        kind = self.kind
        if kind == "...":
            return self._parse_ellipsis()
        if kind in ("for", "if") and not self._at_label_end(1):
            return self._parse_comprehension()
        if kind == KIND_IDENT and self.peek() == "=":
            _, name, start, end = self.advance()
            self.advance()
            alias = ast.Ident(name, self.span(start, end))
            expr = self._parse_operand_expr(f"an expression after {name}=")
            return ast.Alias(alias, expr, self.span_between(alias, expr))
        if kind not in EXPRESSION_STARTS:
            return ast.BadExpr("", self.span(self.tokens[self.i][2], self.tokens[self.i][2]))
        return self.parse_expr()

    # Comments

    def _comment_nodes(self) -> list[ast.Comment]:
        return [ast.Comment(self.text[start:end], self.span(start, end)) for start, end in self.comments]

    def _doc_for(self, span: Span) -> str | None:
        """Return the `//` block on the lines directly above a declaration that starts its line."""
        if not self.comments:
            return None
        line = span.start.line
        line_start = self.lines.line_start(line)
        if self.text[line_start : line_start + span.start.column - 1].strip():
            return None

        if self._own_line_comments is None:
            own: dict[int, tuple[int, int]] = {}
            for start, end in self.comments:
                comment_line = self.lines.line_of(start)
                if not self.text[self.lines.line_start(comment_line) : start].strip():
                    own[comment_line] = (start, end)
            self._own_line_comments = own

        lines = []
        line -= 1
        while line in self._own_line_comments:
            start, end = self._own_line_comments[line]
            text = self.text[start + 2 : end].rstrip("\r")
            lines.append(text[1:] if text.startswith(" ") else text)
            line -= 1
        if not lines:
            return None
        lines.reverse()
        return "\n".join(lines)
