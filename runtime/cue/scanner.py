"""Tokenizer for CUE source text.

One compiled master regex, run with `finditer`, produces almost every
token. Three rare cases leave that loop for a hand-written scanner and then
resume it. The first is a string that the fast string patterns cannot match
(a raw string with `#`, an interpolation, an unterminated string). The
second is an attribute with nested brackets or quotes, and the third the
`)` that ends an interpolated expression.

Commas are inserted after the last token of a line, following the CUE
spec: after an identifier, keyword, `_|_`, number, string (also an interpolation),
attribute, `)`, `]`, `}`, `?`, `;` or `...`. As in cue v0.17's own scanner, an
inserted comma is dropped again when the next line starts with `,` or `:`.

Tokens are plain tuples `(kind, text, start, end)` with offsets into the
source string (so columns are code points). `kind` is one of the `KIND_*`
names below, a keyword (`for`, `in`, `if`, `let`, `null`, `true`, `false`),
or the operator text itself (`{`, `:`, `&&`, `...`). An inserted comma has
kind `,` and text `"\\n"`.
"""

from __future__ import annotations

import bisect
import itertools
import re
from dataclasses import dataclass, field

from archon.runtime.diagnostics import Position

KIND_IDENT = "ident"
KIND_INT = "int"
KIND_FLOAT = "float"
KIND_STRING = "string"
KIND_INTERP_START = "interp_start"  # `"text \(`: a string up to its first interpolation
KIND_INTERP_MID = "interp_mid"  # `) text \(`: between two interpolations
KIND_INTERP_END = "interp_end"  # `) text"`: after the last interpolation
KIND_BOTTOM = "bottom"
KIND_ATTRIBUTE = "attribute"
KIND_ILLEGAL = "illegal"
KIND_EOF = "eof"

KEYWORDS = frozenset({"for", "in", "if", "let", "null", "true", "false"})

# Token kinds after which a newline (or the end of the input) inserts a comma.
INSERT_COMMA_AFTER = frozenset(
    {
        KIND_IDENT, KIND_INT, KIND_FLOAT, KIND_STRING, KIND_INTERP_END,
        KIND_BOTTOM, KIND_ATTRIBUTE, ")", "]", "}", "?", ";", "...",
    }
    | KEYWORDS
)

# Deeper interpolations are scanned as plain string text, with an error, so
# that the recursion between string and expression scanning stays bounded.
MAX_INTERPOLATION_DEPTH = 64

Token = tuple[str, str, int, int]

_IDENT = r"(?:_?\#)?(?:[^\W\d]|\$)[\w$]*"

# A complete string or byte sequence without `#` and without interpolation.
# A multi-line literal closes at the first line that contains only
# whitespace and the closing quotes. The lookbehind also accepts the opening
# newline as that line's start, which an empty literal needs.
_FAST_STRING = r"""
    \"\"\"\r?\n(?:[^\\]|\\[^(])*?(?<=\n)[ \t]*\"\"\"
  | '''\r?\n(?:[^\\]|\\[^(])*?(?<=\n)[ \t]*'''
  | "(?!"")(?:[^"\\\n]|\\[^(\n])*"
  | '(?!'')(?:[^'\\\n]|\\[^(\n])*'
"""

_FAST_ATTRIBUTE = (
    r"@" + _IDENT + r"""\((?:[^()\[\]{}"'\\\n]|"(?:[^"\\\n]|\\[^(\n])*")*\)"""
)

_NUMBER_SI = r"(?:[0-9][0-9_]*(?:\.[0-9][0-9_]*)?|\.[0-9][0-9_]*)[KMGTP]i?"
_NUMBER_FLOAT = (
    r"(?:[0-9][0-9_]*\.(?!\.)[0-9_]*|\.[0-9][0-9_]*)(?:[eE][+-]?[0-9][0-9_]*)?"
    r"|[0-9][0-9_]*[eE][+-]?[0-9][0-9_]*"
)
# Deliberately loose (`0x` swallows letters) so that a malformed number is
# one token, which `literals.parse_number` then reports precisely.
_NUMBER_INT = r"0[xXob][0-9a-zA-Z_]*|[0-9][0-9_]*"

_PUNCT = r"\.\.\.|&&|\|\||==|!=|<=|>=|=~|!~|[-+*&|=<>!:,?()\[\]{};]|/(?!/)|\.(?![0-9])"

# Whitespace, newlines included, is skipped before each token; the scanner
# looks for a newline between two tokens only when it may insert a comma.
# Alternatives are ordered by how often they occur in eval output, which
# made the regex about a third faster on the `wide` fixture's output. The
# punctuation pattern excludes `//` and `.5`, so that comments and numbers
# still reach their own alternatives.
_MASTER = re.compile(
    rf"""
    [ \t\r\n]*
    (?:
        (?P<bottom>_\|_)
      | (?P<label>{_IDENT}[ \t]*:)
      | (?P<ident>{_IDENT})
      | (?P<punct>{_PUNCT})
      | (?P<string>{_FAST_STRING})
      | (?P<si>{_NUMBER_SI})
      | (?P<float>{_NUMBER_FLOAT})
      | (?P<int>{_NUMBER_INT})
      | (?P<slow_string>\#*["'])
      | (?P<comment>//[^\n]*)
      | (?P<attribute>{_FAST_ATTRIBUTE})
      | (?P<slow_attribute>@)
      | (?P<illegal>.)
    )
    """,
    re.VERBOSE,
)

_GROUP = _MASTER.groupindex
G_COMMENT = _GROUP["comment"]
G_BOTTOM = _GROUP["bottom"]
G_STRING = _GROUP["string"]
G_SLOW_STRING = _GROUP["slow_string"]
G_ATTRIBUTE = _GROUP["attribute"]
G_SLOW_ATTRIBUTE = _GROUP["slow_attribute"]
G_SI = _GROUP["si"]
G_FLOAT = _GROUP["float"]
G_INT = _GROUP["int"]
G_IDENT = _GROUP["ident"]
G_LABEL = _GROUP["label"]
G_PUNCT = _GROUP["punct"]
G_ILLEGAL = _GROUP["illegal"]

_HASHES = re.compile(r"#*")
_NEWLINE = re.compile(r"\r?\n")
_IDENT_AT = re.compile(_IDENT)
_STRING_SPECIAL = {'"': re.compile(r'[\\"\n]'), "'": re.compile(r"[\\'\n]")}
# Inside an attribute body: brackets, quoted strings and newlines matter.
_ATTRIBUTE_SPECIAL = re.compile(
    r"""[()\[\]{}\n]|"(?:[^"\\\n]|\\.)*"?|'(?:[^'\\\n]|\\.)*'?"""
)
_OPENERS = {"(": ")", "[": "]", "{": "}"}


class LineIndex:
    """Maps string offsets to 1-based line and code-point column positions.

    The table of line starts is built on first use, so decoding text that
    never needs a position does not pay for it.
    """

    __slots__ = ("_text", "_starts")

    def __init__(self, text: str):
        self._text = text
        self._starts: list[int] | None = None

    @property
    def starts(self) -> list[int]:
        if self._starts is None:
            lines = self._text.split("\n")
            lines.pop()
            # Each line start is the previous one plus the line and its newline.
            self._starts = [0, *itertools.accumulate(map((1).__add__, map(len, lines)))]
        return self._starts

    def position(self, offset: int) -> Position:
        starts = self.starts
        line = bisect.bisect_right(starts, offset)
        return Position(line, offset - starts[line - 1] + 1)

    def line_of(self, offset: int) -> int:
        return bisect.bisect_right(self.starts, offset)

    def line_start(self, line: int) -> int:
        return self.starts[line - 1]

    def offset(self, line: int, column: int) -> int:
        """Return the offset of a 1-based position, clamped to the text."""
        starts = self.starts
        line = min(max(line, 1), len(starts))
        return starts[line - 1] + max(column, 1) - 1


@dataclass
class ScanResult:
    text: str
    tokens: list[Token]
    comments: list[tuple[int, int]]  # (start, end) offsets of `//` comments
    errors: list[tuple[int, int, str]] = field(default_factory=list)  # (start, end, message)


def scan(text: str) -> ScanResult:
    """Split `text` into tokens; problems land in `errors` (the fuzz tests check it never raises)."""
    return _Scanner(text).run()


class _Scanner:
    def __init__(self, text: str):
        self.text = text
        self.tokens: list[Token] = []
        self.comments: list[tuple[int, int]] = []
        self.errors: list[tuple[int, int, str]] = []
        self.insert_comma = False
        self.last_end = 0  # end of the last token, where a newline search starts
        self.interpolation_depth = 0

    def run(self) -> ScanResult:
        start = 1 if self.text.startswith("\ufeff") else 0
        self.scan_tokens(start, in_interpolation=False)

        end = len(self.text)
        if self.insert_comma:
            newline = self.text.find("\n", self.last_end)
            at = newline if newline >= 0 else end
            self.tokens.append((",", "\n", at, at))
        self.tokens.append((KIND_EOF, "", end, end))
        return ScanResult(self.text, self.tokens, self.comments, self.errors)

    def error(self, start: int, end: int, message: str) -> None:
        self.errors.append((start, end, message))

    def scan_tokens(self, pos: int, in_interpolation: bool) -> int:
        """Scan tokens from `pos`; return where scanning stopped.

        Outside an interpolation this is the end of the text. Inside one it
        is the offset of the `)` that closes the interpolation, or the end
        of the text when the interpolation is not closed.
        """
        text = self.text
        find = text.find
        tokens = self.tokens
        append = tokens.append
        insert = self.insert_comma
        last_end = self.last_end
        depth = 0  # parentheses opened inside the interpolation
        keywords = KEYWORDS
        insert_after = INSERT_COMMA_AFTER
        label, ident, punct, string = G_LABEL, G_IDENT, G_PUNCT, G_STRING
        integer, si, floating = G_INT, G_SI, G_FLOAT

        while True:
            for m in _MASTER.finditer(text, pos):
                group = m.lastindex
                value = m[group]
                end = m.end()
                start = end - len(value)

                if insert:
                    newline = find("\n", last_end, start)
                    if newline >= 0:
                        insert = False
                        # As in cue's scanner, a line starting with `,` or
                        # `:` continues the previous one.
                        if value != "," and value != ":":
                            append((",", "\n", newline, newline))

                if group == punct:
                    if in_interpolation:
                        if value == "(":
                            depth += 1
                        elif value == ")":
                            if depth == 0:
                                self.insert_comma = insert
                                self.last_end = last_end
                                return start
                            depth -= 1
                    append((value, value, start, end))
                    insert = value in insert_after
                elif group == label:
                    # An identifier directly followed by `:`, the commonest
                    # pair in eval output, matched in one step.
                    name = value[:-1].rstrip()
                    append((name if name in keywords else KIND_IDENT, name, start, start + len(name)))
                    append((":", ":", end - 1, end))
                    insert = False
                elif group == string:
                    append((KIND_STRING, value, start, end))
                    insert = True
                elif group == ident:
                    append((value if value in keywords else KIND_IDENT, value, start, end))
                    insert = True
                elif group == integer or group == si:
                    append((KIND_INT, value, start, end))
                    insert = True
                elif group == floating:
                    append((KIND_FLOAT, value, start, end))
                    insert = True
                else:
                    if group == G_COMMENT:
                        # A comment ends no token: the newline after it is
                        # found from the token before it.
                        self.comments.append((start, end))
                        continue
                    self.insert_comma = insert
                    resume = self._scan_rare(group, value, start, end)
                    insert = self.insert_comma
                    if resume >= 0:
                        pos = last_end = resume
                        break
                last_end = end
            else:
                self.insert_comma = insert
                self.last_end = last_end
                return len(text)

    def _scan_rare(self, group: int, value: str, start: int, end: int) -> int:
        """Handle a rare token; return where to resume matching, or -1 to go on."""
        if group == G_ATTRIBUTE:
            self.tokens.append((KIND_ATTRIBUTE, value, start, end))
            self.insert_comma = True
            return -1
        if group == G_BOTTOM:
            self.tokens.append((KIND_BOTTOM, value, start, end))
            self.insert_comma = True
            return -1
        if group == G_SLOW_STRING:
            resume = self.scan_string(start)
            self.insert_comma = True
            return resume
        if group == G_SLOW_ATTRIBUTE:
            resume = self.scan_attribute(start)
            self.insert_comma = True
            return resume
        self.error(start, end, f"illegal character {value!r} (U+{ord(value):04X})")
        self.tokens.append((KIND_ILLEGAL, value, start, end))
        return -1

    def scan_string(self, start: int) -> int:
        """Scan the string literal at `start`, with any interpolations; return its end."""
        text = self.text
        length = len(text)
        pos = _HASHES.match(text, start).end()
        hashes = pos - start
        quote = text[pos]
        closing_hashes = "#" * hashes

        # `#"""#` is a one-line raw string whose content is a single quote.
        if hashes and text.startswith(quote * 3 + closing_hashes, pos):
            end = pos + 3 + hashes
            self.tokens.append((KIND_STRING, text[start:end], start, end))
            return end

        multiline = text.startswith(quote * 3, pos)
        if multiline:
            pos += 3
            newline = _NEWLINE.match(text, pos)
            if newline is None:
                self.error(start, pos, f"expected a newline after the opening {quote * 3} of a multi-line string")
                self.tokens.append((KIND_STRING, text[start:pos], start, pos))
                return pos
            pos = newline.end()
            closing = quote * 3 + closing_hashes
        else:
            pos += 1
            closing = quote + closing_hashes

        escape = "\\" + closing_hashes
        special = _STRING_SPECIAL[quote]
        segment_start = start
        interpolated = False
        line_start = pos  # start of the current line inside a multi-line literal

        while True:
            m = special.search(text, pos)
            if m is None:
                return self._unterminated_string(start, segment_start, length, interpolated)
            char = m.group()
            at = m.start()

            if char == "\n":
                if not multiline:
                    return self._unterminated_string(start, segment_start, at, interpolated)
                pos = line_start = at + 1
                continue

            if char == quote:
                closes = text.startswith(closing, at)
                if closes and multiline:
                    closes = text[line_start:at].strip(" \t\r") == ""
                if closes:
                    end = at + len(closing)
                    kind = KIND_INTERP_END if interpolated else KIND_STRING
                    self.tokens.append((kind, text[segment_start:end], segment_start, end))
                    return end
                pos = at + 1
                continue

            # A backslash: an escape only when followed by this literal's `#`s.
            if not text.startswith(escape, at):
                pos = at + 1
                continue
            after = at + len(escape)
            if after < length and text[after] == "(":
                if self.interpolation_depth >= MAX_INTERPOLATION_DEPTH:
                    self.error(at, after + 1, "interpolations nested too deeply")
                    pos = after + 1
                    continue
                kind = KIND_INTERP_MID if interpolated else KIND_INTERP_START
                self.tokens.append((kind, text[segment_start : after + 1], segment_start, after + 1))
                interpolated = True

                self.interpolation_depth += 1
                self.insert_comma = False
                self.last_end = after + 1
                close = self.scan_tokens(after + 1, in_interpolation=True)
                self.interpolation_depth -= 1
                if close >= length:
                    self.error(at, after + 1, "interpolation not terminated: missing ')'")
                    self.tokens.append((KIND_INTERP_END, "", length, length))
                    return length
                segment_start = close
                pos = close + 1
                continue
            # Skip the escaped character so that an escaped quote does not
            # close the literal, but never skip a newline.
            pos = after + 1 if after < length and text[after] != "\n" else after

    def _unterminated_string(self, start: int, segment_start: int, end: int, interpolated: bool) -> int:
        self.error(start, end, "string literal not terminated")
        kind = KIND_INTERP_END if interpolated else KIND_STRING
        self.tokens.append((kind, self.text[segment_start:end], segment_start, end))
        return end

    def scan_attribute(self, start: int) -> int:
        """Scan an attribute `@name(...)` whose body the fast pattern did not match."""
        text = self.text
        name = _IDENT_AT.match(text, start + 1)
        pos = name.end() if name else start + 1
        if name is None or not text.startswith("(", pos):
            expected = "a name" if name is None else "'('"
            self.error(start, pos, f"invalid attribute: expected {expected} after '@'")
            self.tokens.append((KIND_ATTRIBUTE, text[start:pos], start, pos))
            return pos

        stack = [")"]
        first_newline = -1
        pos += 1
        while stack:
            m = _ATTRIBUTE_SPECIAL.search(text, pos)
            if m is None:
                break
            item = m.group()
            pos = m.end()
            if item in _OPENERS:
                stack.append(_OPENERS[item])
            elif item == "\n":
                if first_newline < 0:
                    first_newline = m.start()
            elif item in ")]}":
                if item == stack[-1]:
                    stack.pop()
                else:
                    self.error(m.start(), pos, f"unexpected '{item}' in attribute; expected '{stack[-1]}'")

        if stack:
            # Unclosed: end the attribute with its first line so that the
            # rest of the file is still scanned as code.
            end = first_newline if first_newline >= 0 else len(text)
            self.error(start, end, "attribute not terminated: missing ')'")
            self.tokens.append((KIND_ATTRIBUTE, text[start:end], start, end))
            return end

        self.tokens.append((KIND_ATTRIBUTE, text[start:pos], start, pos))
        return pos
