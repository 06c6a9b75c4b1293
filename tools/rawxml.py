"""APIM `rawxml` policy documents as well-formed XML.

With `format: rawxml`, API Management accepts policy expressions as written: `@(...)` and `@{...}` may
hold `<`, `>`, `&` (generics, comparisons, `&&`) and the attribute's own quote character. To read such a
document with an XML parser, escape exactly those characters inside each expression, as APIM does before
it parses the XML. Everything outside expressions must already be well-formed.
"""

from __future__ import annotations

from dataclasses import dataclass

_ESCAPES = {"&": "&amp;", "<": "&lt;", ">": "&gt;"}
_CLOSERS = {"(": ")", "{": "}"}


@dataclass(frozen=True)
class Expression:
    start: int  # offset of "@" in the raw document
    end: int  # offset just past the closing bracket
    code: str  # the C# between the brackets
    multi_statement: bool  # @{ ... } rather than @( ... )


def expressions(raw: str) -> list[Expression]:
    """Every policy expression of the raw document, in order."""
    found = []
    i = 0
    while i < len(raw) - 1:
        if raw[i] == "@" and raw[i + 1] in _CLOSERS and _starts_expression(raw, i):
            end = _matching(raw, i + 1)
            if end is None:
                break
            found.append(Expression(i, end + 1, raw[i + 2 : end], raw[i + 1] == "{"))
            i = end + 1
        else:
            i += 1
    return found


def to_wellformed(raw: str) -> str:
    out = []
    cursor = 0
    for expr in expressions(raw):
        out.append(raw[cursor : expr.start])
        quote = _attribute_quote(raw, expr.start)
        text = raw[expr.start : expr.end]
        escaped = "".join(_ESCAPES.get(c, c) for c in text)
        if quote == '"':
            escaped = escaped.replace('"', "&quot;")
        elif quote == "'":
            escaped = escaped.replace("'", "&apos;")
        out.append(escaped)
        cursor = expr.end
    out.append(raw[cursor:])
    return "".join(out)


def _starts_expression(raw: str, at: int) -> bool:
    """An expression fills a whole attribute value or element text; `@` elsewhere (e-mail) is text."""
    before = raw[:at].rstrip()
    return not before or before[-1] in "\"'>"


def _attribute_quote(raw: str, at: int) -> str | None:
    if at >= 2 and raw[at - 1] in "\"'" and raw[at - 2] == "=":
        return raw[at - 1]
    return None


def _matching(raw: str, open_at: int) -> int | None:
    """The offset of the bracket closing raw[open_at], skipping C# string and character literals."""
    opener, closer = raw[open_at], _CLOSERS[raw[open_at]]
    depth = 0
    i = open_at
    while i < len(raw):
        c = raw[i]
        if c == '"':
            verbatim = i > 0 and raw[i - 1] == "@" and i - 1 != open_at - 1
            i = _string_end(raw, i, verbatim)
        elif c == "'":
            i = _char_end(raw, i)
        elif c == opener:
            depth += 1
        elif c == closer:
            depth -= 1
            if depth == 0:
                return i
        i += 1
    return None


def _string_end(raw: str, i: int, verbatim: bool) -> int:
    i += 1
    while i < len(raw):
        if verbatim and raw[i] == '"' and raw[i + 1 : i + 2] == '"':
            i += 2
            continue
        if not verbatim and raw[i] == "\\":
            i += 2
            continue
        if raw[i] == '"':
            return i
        i += 1
    return i


def _char_end(raw: str, i: int) -> int:
    close = raw.find("'", i + 2 if raw[i + 1 : i + 2] == "\\" else i + 1)
    return close if close != -1 and close - i <= 8 else i
