"""Values of CUE number, string and byte literals.

The rules follow the CUE spec (cuelang.org/docs/reference/spec, sections
"Numeric literals" and "String and byte sequence literals") as cue v0.17
implements them. `\\x` and octal escapes are allowed only in byte literals.
`\\u`/`\\U` escapes of a surrogate pair join into one character. `#` padding
changes the escape delimiter to `\\#`. Carriage returns are dropped. A
multi-line literal loses its opening newline, its closing line and, on every
line, the closing quote's indentation.

Errors are `(fragment_index, start, end, message)` with offsets into the raw
fragment text, so a caller can place them exactly in the source.
"""

from __future__ import annotations

import json
import re
from fractions import Fraction
from functools import lru_cache

LiteralError = tuple[int, int, int, str]

_DECIMALS = r"[0-9](?:_?[0-9])*"
_DECIMAL_INT = re.compile(r"0|[1-9](?:_?[0-9])*")
_PREFIXED_INT = {
    "x": (re.compile(r"0[xX]_?[0-9a-fA-F](?:_?[0-9a-fA-F])*"), "hexadecimal"),
    "X": (re.compile(r"0[xX]_?[0-9a-fA-F](?:_?[0-9a-fA-F])*"), "hexadecimal"),
    "o": (re.compile(r"0o_?[0-7](?:_?[0-7])*"), "octal"),
    "b": (re.compile(r"0b_?[01](?:_?[01])*"), "binary"),
}
_FLOAT = re.compile(
    rf"(?:{_DECIMALS}\.(?:{_DECIMALS})?|\.{_DECIMALS})(?:[eE][+-]?{_DECIMALS})?"
    rf"|{_DECIMALS}[eE][+-]?{_DECIMALS}"
)
_SI = re.compile(rf"({_DECIMALS}(?:\.{_DECIMALS})?|\.{_DECIMALS})([KMGTP])(i?)")
_SI_POWER = {"K": 1, "M": 2, "G": 3, "T": 4, "P": 5}


def parse_number(raw: str) -> tuple[int | float | None, str | None]:
    """Return the value of a number literal, or None and the reason it is invalid."""
    if len(raw) > 1 and raw[0] == "0" and raw[1] in _PREFIXED_INT:
        pattern, base = _PREFIXED_INT[raw[1]]
        if pattern.fullmatch(raw):
            return int(raw.replace("_", ""), 0), None
        return None, _number_problem(raw, f"not a valid {base} integer")

    si = _SI.fullmatch(raw)
    if si:
        mantissa, unit, binary = si.groups()
        multiplier = (1024 if binary else 1000) ** _SI_POWER[unit]
        # The spec truncates a fractional result towards zero: 1.3Ki is 1331.
        return int(Fraction(mantissa.replace("_", "")) * multiplier), None

    if _DECIMAL_INT.fullmatch(raw):
        return int(raw.replace("_", "")), None
    if _FLOAT.fullmatch(raw):
        return float(raw.replace("_", "")), None

    if re.fullmatch(r"0[0-9_]+", raw):
        return None, (
            f"invalid number {raw}: a decimal integer may not start with 0; "
            f"write 0o{raw.lstrip('0_') or '0'} for an octal number"
        )
    return None, _number_problem(raw, "not a valid number")


def _number_problem(raw: str, what: str) -> str:
    if "__" in raw or raw.endswith("_"):
        return f"invalid number {raw}: '_' may only separate two digits"
    return f"invalid number {raw}: {what}"


class QuoteInfo:
    """The delimiters of a string literal, read from its opening text."""

    __slots__ = ("hashes", "quote", "multiline", "is_bytes", "open_length", "closing", "escape")

    def __init__(self, opening: str):
        hashes = len(opening) - len(opening.lstrip("#"))
        quote = opening[hashes] if hashes < len(opening) and opening[hashes] in "\"'" else '"'
        padding = "#" * hashes
        # `#"""#` is a one-line literal holding one quote, not a multi-line opening.
        multiline = opening.startswith(quote * 3, hashes) and not (
            hashes and opening.startswith(quote * 3 + padding, hashes)
        )
        self.hashes = hashes
        self.quote = quote
        self.multiline = multiline
        self.is_bytes = quote == "'"
        self.open_length = hashes + (3 if multiline else 1)
        self.closing = quote * (3 if multiline else 1) + padding
        self.escape = "\\" + padding


@lru_cache(maxsize=16)
def _escape_pattern(hashes: int) -> re.Pattern[str]:
    return re.compile(
        r"\\" + "#" * hashes
        + r"(?:u([0-9a-fA-F]{4})|U([0-9a-fA-F]{8})|x([0-9a-fA-F]{2})|([0-7]{3})|(\r?\n)|(.)|$)",
        re.DOTALL,
    )


_SIMPLE_ESCAPES = {
    "a": "\a", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t",
    "v": "\v", "/": "/", "\\": "\\",
}
_SURROGATE = re.compile("[\ud800-\udfff]")


def decode_string(raw: str) -> tuple[str | bytes, list[LiteralError]]:
    """Return the value of one string or bytes literal (source text with quotes)."""
    values, errors = decode_fragments([raw])
    return values[0], errors


def decode_fragments(fragments: list[str]) -> tuple[list[str | bytes], list[LiteralError]]:
    """Return the literal values of the text parts of a string.

    `fragments` are the raw source pieces of one string literal. For an
    interpolation `"a \\(x) b"` they are `'"a \\('` and `') b"'`, and a plain
    literal is its own one fragment. Each piece's value comes back without
    its delimiters, with escapes decoded and multi-line indentation removed.
    """
    info = QuoteInfo(fragments[0])
    errors: list[LiteralError] = []
    last = len(fragments) - 1

    # Cut every fragment down to its body: (fragment index, body start, body).
    bodies: list[tuple[int, str]] = []
    for index, fragment in enumerate(fragments):
        start = info.open_length if index == 0 else 1
        if index == 0 and info.multiline:
            if fragment.startswith("\r\n", start):
                start += 2
            elif fragment.startswith("\n", start):
                start += 1
        if index == last:
            end = len(fragment) - len(info.closing) if fragment.endswith(info.closing) else len(fragment)
        else:
            end = len(fragment) - len(info.escape) - 1
        end = max(start, end)
        bodies.append((start, fragment[start:end]))

    for index, (start, body) in enumerate(bodies):
        if "\\" in body:
            _check_escapes(body, index, start, info, errors)

    texts = [body.replace("\r", "") if "\r" in body else body for _, body in bodies]
    if info.multiline:
        texts = _strip_indentation(texts, fragments, info, errors)

    values = [
        _decode_body(text, info, errors, index, len(fragments[index])) for index, text in enumerate(texts)
    ]
    return values, errors


def _strip_indentation(
    texts: list[str], fragments: list[str], info: QuoteInfo, errors: list[LiteralError]
) -> list[str]:
    """Remove the closing line and the closing quote's indentation from every line."""
    final = texts[-1]
    newline = final.rfind("\n")
    if newline >= 0:
        indentation = final[newline + 1 :]
        texts[-1] = final[:newline]
    else:
        # Only possible when the content is empty, or for a literal that
        # was not terminated; both have nothing left to strip.
        indentation = final if len(texts) == 1 else ""
        texts[-1] = "" if len(texts) == 1 else final
    if indentation.strip(" \t"):
        indentation = ""

    stripped = []
    for index, text in enumerate(texts):
        lines = text.split("\n")
        # A fragment after an interpolation continues a line mid-way.
        first_line_starts = index == 0
        for number, line in enumerate(lines):
            if number == 0 and not first_line_starts:
                continue
            if line.startswith(indentation):
                lines[number] = line[len(indentation) :]
            elif line:
                lines[number] = line.lstrip(" \t")
                message = (
                    f"invalid multi-line string: every line must start with the indentation "
                    f"of the closing {info.closing} ({indentation!r})"
                )
                errors.append((index, 0, len(fragments[index]), message))
        stripped.append("\n".join(lines))
    return stripped


def _check_escapes(body: str, index: int, offset: int, info: QuoteInfo, errors: list[LiteralError]) -> None:
    for m in _escape_pattern(info.hashes).finditer(body):
        start = offset + m.start()
        end = offset + m.end()
        unicode_long, unicode_short, hex_byte, octal = m.group(1), m.group(2), m.group(3), m.group(4)
        continuation, other = m.group(5), m.group(6)
        if unicode_long or unicode_short:
            if int(unicode_long or unicode_short, 16) > 0x10FFFF:
                errors.append((index, start, end, "escape sequence is an invalid Unicode code point"))
        elif hex_byte or octal:
            if not info.is_bytes:
                kind = "hexadecimal" if hex_byte else "octal"
                errors.append((index, start, end, f"{kind} escape not allowed in a string literal; use \\u"))
            elif octal and int(octal, 8) > 255:
                errors.append((index, start, end, "octal escape value above 255"))
        elif continuation:
            if not info.multiline:
                errors.append((index, start, end, "escape sequence not terminated"))
        elif other is None:
            errors.append((index, start, end, "escape sequence not terminated"))
        elif other not in _SIMPLE_ESCAPES and other != info.quote:
            errors.append((index, start, end, f"unknown escape sequence \\{other}"))


def _decode_body(
    text: str, info: QuoteInfo, errors: list[LiteralError], index: int, length: int
) -> str | bytes:
    if "\\" not in text:
        if info.is_bytes:
            return text.encode("utf-8", "surrogatepass")
        return _join_surrogates(text, errors, index, length)

    pieces: list[bytes] | list[str] = []
    position = 0
    for m in _escape_pattern(info.hashes).finditer(text):
        literal = text[position : m.start()]
        position = m.end()
        decoded = _decode_escape(m, info)
        if info.is_bytes:
            pieces.append(literal.encode("utf-8", "surrogatepass"))
            pieces.append(decoded if isinstance(decoded, bytes) else decoded.encode("utf-8", "surrogatepass"))
        else:
            pieces.append(literal)
            pieces.append(decoded.decode("latin-1") if isinstance(decoded, bytes) else decoded)
    tail = text[position:]
    if info.is_bytes:
        pieces.append(tail.encode("utf-8", "surrogatepass"))
        return b"".join(pieces)
    pieces.append(tail)
    return _join_surrogates("".join(pieces), errors, index, length)


def _decode_escape(m: re.Match[str], info: QuoteInfo) -> str | bytes:
    unicode_long, unicode_short, hex_byte, octal, continuation, other = m.groups()
    code = unicode_long or unicode_short
    if code:
        value = int(code, 16)
        return chr(value) if value <= 0x10FFFF else "\ufffd"
    if hex_byte:
        return bytes([int(hex_byte, 16)])
    if octal:
        return bytes([int(octal, 8) & 0xFF])
    if continuation:
        return ""
    if other is None:
        return ""
    if other in _SIMPLE_ESCAPES:
        return _SIMPLE_ESCAPES[other]
    if other == info.quote:
        return other
    # Unknown escapes were reported by `_check_escapes`; keep their text.
    return m.group()


def _join_surrogates(text: str, errors: list[LiteralError], index: int, length: int) -> str:
    if not _SURROGATE.search(text):
        return text
    try:
        return text.encode("utf-16-le", "surrogatepass").decode("utf-16-le")
    except UnicodeDecodeError:
        errors.append((index, 0, length, "invalid string: unmatched surrogate pair"))
        return text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")


def quote_string(value: str) -> str:
    """Return a double-quoted CUE literal for `value`."""
    # JSON's escapes are a subset of CUE's; only `\(` needs care, and JSON
    # already doubles the backslash.
    return json.dumps(value, ensure_ascii=False)


def quote_bytes(value: bytes) -> str:
    """Return a single-quoted CUE bytes literal for `value`."""
    out = ["'"]
    text = value.decode("utf-8", "surrogateescape")
    for char in text:
        code = ord(char)
        if 0xDC80 <= code <= 0xDCFF:  # an undecodable byte, kept by surrogateescape
            out.append(f"\\x{code - 0xDC00:02x}")
        elif char == "'" or char == "\\":
            out.append("\\" + char)
        elif char == "\n":
            out.append("\\n")
        elif char == "\t":
            out.append("\\t")
        elif code < 0x20 or code == 0x7F:
            out.append(f"\\x{code:02x}")
        else:
            out.append(char)
    out.append("'")
    return "".join(out)
