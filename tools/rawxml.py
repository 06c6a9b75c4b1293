"""APIM `rawxml` policy documents as well-formed XML.

With `format: rawxml`, API Management accepts policy expressions as written: `@(...)` and `@{...}` may
hold `<`, `>`, `&` (generics, comparisons, `&&`) and the attribute's own quote character. To read such a
document with an XML parser, escape exactly those characters inside each expression, as APIM does before
it parses the XML. Everything outside expressions must already be well-formed.

Two readers: `to_wellformed` (escapes each expression, for tests that parse rendered documents) and `prepare`
(the policy lint's pre-pass, which also records each expression's code and line).

How expressions are found: APIM's `rawxml` format accepts expressions written as plain C#, so an attribute such
as `condition="@(context.Request.Headers.GetValueOrDefault("x","") != "")"` is not well-formed XML as written. A
pre-pass scans the raw text like APIM does: where an attribute value or an element's text starts with `@(` or
`@{`, it finds the matching bracket with a small C# lexer (strings, verbatim and interpolated strings, chars,
comments; XML entities such as `&quot;` are read as the character they stand for), records the expression's
code (entities decoded) and its line, and replaces it by a placeholder with the same number of line breaks.
lxml then parses the result, so line numbers stay those of the original document. Expressions already escaped
(`&quot;`, `&lt;`, `&amp;&amp;`) or wrapped in CDATA are handled the same way. Outside expressions the document
must be well-formed XML.
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass, field

_ESCAPES = {"&": "&amp;", "<": "&lt;", ">": "&gt;"}
_CLOSERS = {"(": ")", "{": "}"}
_BRACKETS = {"(": ")", "[": "]", "{": "}"}
_ENTITY = re.compile(r"&(lt|gt|amp|quot|apos|#[0-9]+|#x[0-9a-fA-F]+);")
_ENTITIES = {"lt": "<", "gt": ">", "amp": "&", "quot": '"', "apos": "'"}
_TAG_NAME = re.compile(r"[^\s/>]+")
_ATTRIBUTE_NAME = re.compile(r"[^\s=/>]+")
_SPACE = re.compile(r"\s*")
# What `prepare` leaves where an expression was: `@(__apim_expression_<n>__)`, with the expression's line breaks.
PLACEHOLDER = re.compile(r"@[({]__apim_expression_(\d+)__\s*[)}]")


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


# -- the policy lint's pre-pass: expressions recorded and replaced by placeholders -------------------


@dataclass(frozen=True)
class RawExpression:
    code: str  # between the delimiters, entities decoded
    multi_statement: bool
    line: int  # document line where the expression starts


@dataclass
class Prepared:
    text: str
    expressions: list[RawExpression] = field(default_factory=list)
    tag_lines: list[int] = field(default_factory=list)
    unclosed: list[int] = field(default_factory=list)  # lines of `@(`/`@{` without a matching bracket


def decode(text: str) -> str:
    def one(match: re.Match[str]) -> str:
        name = match.group(1)
        if name.startswith("#x"):
            return chr(int(name[2:], 16))
        if name.startswith("#"):
            return chr(int(name[1:]))
        return _ENTITIES[name]

    return _ENTITY.sub(one, text)


def _char(text: str, p: int) -> tuple[str, int]:
    """The character at p as XML means it (an entity reference counts as its character) and its width."""
    if text[p] == "&":
        match = _ENTITY.match(text, p)
        if match:
            return decode(match.group(0)), match.end() - p
    return text[p], 1


def _scan_code(text: str, p: int, closer: str) -> tuple[int, int]:
    """From just after an opening bracket, the (start, end) of the matching closer, or (-1, -1)."""
    n = len(text)
    while p < n:
        c, w = _char(text, p)
        if c == closer:
            return p, p + w
        if c in _BRACKETS:
            _, p = _scan_code(text, p + w, _BRACKETS[c])
        elif c in ")]}":
            return -1, -1
        elif c == '"':
            p = _scan_string(text, p + w, verbatim=False, interpolated=False)
        elif c == "'":
            p = _scan_char(text, p + w)
        elif c in "@$":
            q, verbatim, interpolated = p, False, False
            while q < n:
                d, dw = _char(text, q)
                if d == "@":
                    verbatim = True
                elif d == "$":
                    interpolated = True
                else:
                    break
                q += dw
            if q < n and _char(text, q)[0] == '"':
                p = _scan_string(text, q + _char(text, q)[1], verbatim, interpolated)
            else:
                p += w
        elif c == "/" and text.startswith("//", p):
            end = text.find("\n", p)
            p = n if end < 0 else end
        elif c == "/" and text.startswith("/*", p):
            end = text.find("*/", p + 2)
            p = -1 if end < 0 else end + 2
        else:
            p += w
        if p < 0:
            return -1, -1
    return -1, -1


def _scan_string(text: str, p: int, verbatim: bool, interpolated: bool) -> int:
    n = len(text)
    while p < n:
        c, w = _char(text, p)
        nxt = _char(text, p + w) if p + w < n else ("", 0)
        if interpolated and c == "{":
            if nxt[0] == "{":
                p += w + nxt[1]
                continue
            _, p = _scan_code(text, p + w, "}")
            if p < 0:
                return -1
            continue
        if verbatim and c == '"':
            if nxt[0] == '"':
                p += w + nxt[1]
                continue
            return p + w
        if not verbatim:
            if c == "\\":
                p += w + nxt[1]
                continue
            if c == '"':
                return p + w
            if c == "\n":
                return -1
        p += w
    return -1


def _scan_char(text: str, p: int) -> int:
    n = len(text)
    while p < n:
        c, w = _char(text, p)
        if c == "\\":
            p += w + (_char(text, p + w)[1] if p + w < n else 0)
            continue
        if c == "'":
            return p + w
        if c == "\n":
            return -1
        p += w
    return -1


class _Preparer:
    def __init__(self, source: str) -> None:
        self.source = source
        self.out: list[str] = []
        self.result = Prepared(text="")
        self._newlines = [i for i, c in enumerate(source) if c == "\n"]

    def line_at(self, position: int) -> int:
        return bisect.bisect_left(self._newlines, position) + 1

    def run(self) -> Prepared:
        source, n, i = self.source, len(self.source), 0
        while i < n:
            if source[i] != "<":
                j = source.find("<", i)
                j = n if j < 0 else j
                self.out.append(source[i:j])
                i = j
                continue
            for opener, closer in (("<!--", "-->"), ("<![CDATA[", "]]>"), ("<?", "?>"), ("</", ">"), ("<!", ">")):
                if source.startswith(opener, i):
                    end = source.find(closer, i + len(opener))
                    end = n if end < 0 else end + len(closer)
                    self.out.append(source[i:end])
                    i = end
                    break
            else:
                name = _TAG_NAME.match(source, i + 1)
                if name is None:
                    self.out.append("<")
                    i += 1
                    continue
                self.result.tag_lines.append(self.line_at(i))
                self.out.append(source[i : name.end()])
                i, closed = self._attributes(name.end())
                if not closed:
                    i = self._leading_expression(i, quote=None)
        self.result.text = "".join(self.out)
        return self.result

    def _attributes(self, p: int) -> tuple[int, bool]:
        source, n = self.source, len(self.source)
        while p < n:
            space = _SPACE.match(source, p)
            assert space is not None
            self.out.append(space.group(0))
            p = space.end()
            if source.startswith("/>", p):
                self.out.append("/>")
                return p + 2, True
            if p >= n:
                break
            if source[p] == ">":
                self.out.append(">")
                return p + 1, False
            name = _ATTRIBUTE_NAME.match(source, p)
            if name is None:  # stray character: keep it, lxml reports it
                self.out.append(source[p])
                p += 1
                continue
            self.out.append(name.group(0))
            p = name.end()
            space = _SPACE.match(source, p)
            assert space is not None
            self.out.append(space.group(0))
            p = space.end()
            if not source.startswith("=", p):
                continue
            self.out.append("=")
            space = _SPACE.match(source, p + 1)
            assert space is not None
            self.out.append(space.group(0))
            p = space.end()
            if p >= n or source[p] not in "\"'":
                continue
            quote = source[p]
            self.out.append(quote)
            p = self._leading_expression(p + 1, quote)
            close = source.find(quote, p)
            if close < 0:
                self.out.append(source[p:])
                return n, True
            self.out.append(source[p : close + 1])
            p = close + 1
        return n, True

    def _leading_expression(self, p: int, quote: str | None) -> int:
        """If the value or text at p starts with `@(` or `@{`, replace the expression by a placeholder."""
        source = self.source
        space = _SPACE.match(source, p)
        assert space is not None
        start = space.end()
        if not source.startswith(("@(", "@{"), start):
            return p
        opener = source[start + 1]
        closer_at, end = _scan_code(source, start + 2, _BRACKETS[opener])
        if end < 0 or (quote is not None and source.find(quote, end) < 0):
            self.result.unclosed.append(self.line_at(start))
            return p  # left as written: lxml or the C# check reports it
        raw = source[start:end]
        index = len(self.result.expressions)
        self.result.expressions.append(
            RawExpression(
                code=decode(source[start + 2 : closer_at]),
                multi_statement=opener == "{",
                line=self.line_at(start),
            )
        )
        self.out.append(source[p:start])
        self.out.append(f"@{opener}__apim_expression_{index}__" + "\n" * raw.count("\n") + _BRACKETS[opener])
        return end


def prepare(source: str) -> Prepared:
    return _Preparer(source).run()
