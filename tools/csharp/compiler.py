"""Compile APIM policy expressions with Mono's C# compiler against the typed context model (ApimContext.cs).

Every expression becomes one static method of a single generated class,

    namespace Apim.Policies.Compiled { public static class PolicyExpressions {
        public static <returns> <method>(IContext context) { return (<expression>); }   // @( ... )
        public static <returns> <method>(IContext context) { <statements> }             // @{ ... }
    } }

compiled in one `mcs -langversion:7 -target:library` run together with ApimContext.cs and Json.NET, so a whole
plan costs one compiler start. The reference describes expressions as C# 7 with an implicit `context`, and its
examples use the allowed .NET types unqualified (`Regex`, `Encoding`):
https://learn.microsoft.com/azure/api-management/api-management-policy-expressions

Each expression's code is preceded by a `#line 1 "<n>"` directive, so the compiler reports positions within
the expression itself (line 1 is the line of `@`, columns count from `@`). Errors on the generated wrapper (a
multi-statement body without `return` on every path) are mapped to the expression's first line.

Results are cached by content hash (this file, the model, the compiler flags, the generated unit) under
build/csharp/: `<hash>.dll` (when it compiled), `<hash>.json` (the errors) and `<hash>.cs` (the generated unit,
to read). Method names depend only on the expression's key. Named values `{{name}}` must be substituted by the
caller.
"""

from __future__ import annotations

import glob
import hashlib
import json
import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

MODEL = Path(__file__).with_name("ApimContext.cs")
CACHE_DIR = Path(__file__).resolve().parents[2] / "build" / "csharp"
LANGVERSION = "7"
MODEL_NAMESPACE = "Apim.Policies"
NAMESPACE = "Apim.Policies.Compiled"
CLASS = "PolicyExpressions"
ROUNDS = 3

# What an expression sees unqualified, as APIM provides it: expressions write `Regex`, `Encoding`, `JObject`,
# `XElement`, LINQ and Json.NET extension methods without namespaces. Namespaces most of whose types the
# reference's table allows are imported; from the others only the allowed types are aliased (importing all of
# System.Xml would make `Formatting` ambiguous with Newtonsoft.Json.Formatting). Which types an expression may
# use at all is checked separately, against the table (tools/csharp_expressions.py).
USINGS = (
    "System",
    "System.Collections.Generic",
    "System.Linq",
    "System.Security.Cryptography",
    "System.Security.Cryptography.X509Certificates",
    "System.Text",
    "System.Text.RegularExpressions",
    "System.Xml.Linq",
    "Newtonsoft.Json.Linq",
)
ALIASES = (
    "Newtonsoft.Json.Formatting",
    "Newtonsoft.Json.JsonConvert",
    "System.IO.StringReader",
    "System.IO.StringWriter",
    "System.Net.IPAddress",
    "System.Net.WebUtility",
    "System.Xml.XmlNodeType",
)
REFERENCES = ("System.dll", "System.Core.dll", "System.Xml.dll", "System.Xml.Linq.dll")
NEWTONSOFT_CANDIDATES = (
    "/usr/lib/cli/Newtonsoft.Json-*/Newtonsoft.Json.dll",  # Debian/Ubuntu libnewtonsoft-json5.0-cil
    "/usr/lib/mono/*/Newtonsoft.Json.dll",
    "/usr/local/lib/mono/*/Newtonsoft.Json.dll",
    "/opt/homebrew/lib/mono/*/Newtonsoft.Json.dll",
)
INSTALL_HINT = (
    "install Mono's C# compiler and Json.NET: Debian/Ubuntu `sudo apt-get install -y mono-mcs "
    "libnewtonsoft-json5.0-cil`; macOS `brew install mono` and set NEWTONSOFT_JSON_DLL to a Newtonsoft.Json.dll"
)

_DIAGNOSTIC = re.compile(r"^(?P<file>.*?)\((?P<line>\d+),(?P<column>\d+)\): error (?P<code>CS\d+): (?P<message>.*)$")
_BARE_ERROR = re.compile(r"^(?:error|.*: error) (?P<code>CS\d+): (?P<message>.*)$")
_NOT_IDENTIFIER = re.compile(r"[^A-Za-z0-9_]+")


@dataclass(frozen=True)
class Expression:
    key: str  # stable id chosen by the caller
    code: str  # the expression exactly as written in the document, including "@(...)" or "@{...}"
    returns: str  # C# return type the attribute needs ("bool", "int", "string", "object", ...)


@dataclass(frozen=True)
class CompileError:
    key: str | None  # the expression's key; None for an error outside any expression
    line: int  # 1-based within the expression (line 1 holds the `@`); 0 when the compiler gives no position
    column: int  # 1-based within that line, counting from the `@` on line 1
    message: str  # the compiler's message, with its code: "CS1061: Type `...' does not contain ..."


@dataclass(frozen=True)
class CompileResult:
    errors: list[CompileError]
    assembly: Path | None  # None when there are errors
    methods: dict[str, str]  # key -> C# method name in Apim.Policies.Compiled.PolicyExpressions

    @property
    def ok(self) -> bool:
        return not self.errors


class CompilerMissing(RuntimeError):
    """mcs or Json.NET is not installed."""


def newtonsoft_dll() -> Path | None:
    given = os.environ.get("NEWTONSOFT_JSON_DLL")
    if given:
        return Path(given) if Path(given).is_file() else None
    for pattern in NEWTONSOFT_CANDIDATES:
        found = sorted(glob.glob(pattern))
        if found:
            return Path(found[-1])
    return None


def mcs_available() -> bool:
    """Mono's C# compiler and Json.NET are both installed."""
    return shutil.which("mcs") is not None and newtonsoft_dll() is not None


def method_name(key: str) -> str:
    """A C# identifier for the expression `key`, the same for the same key in every run."""
    readable = _NOT_IDENTIFIER.sub("_", key).strip("_")[:48]
    return f"E_{readable}_{hashlib.sha256(key.encode()).hexdigest()[:10]}"


def split(code: str) -> tuple[str, bool]:
    """The C# inside `@(...)` or `@{...}` and whether it is a multi-statement body."""
    text = code.strip()
    if len(text) < 3 or text[0] != "@" or text[1] not in "({" or text[-1] != {"(": ")", "{": "}"}[text[1]]:
        raise ValueError(f"not a policy expression (expected @(...) or @{{...}}): {code[:60]!r}")
    return text[2:-1], text[1] == "{"


@dataclass(frozen=True)
class _Unit:
    source: str
    methods: dict[str, str]
    spans: list[tuple[int, int, str]]  # generated lines [first, last] of each method, key
    files: dict[str, str]  # #line file name -> key
    ends: dict[str, tuple[int, int]]  # key -> (line, column) of the closing bracket as written


def generate(expressions: Sequence[Expression]) -> _Unit:
    """The generated C# compilation unit (deterministic for the same expressions in the same order)."""
    lines = ["// Generated by tools/csharp/compiler.py from policy expressions; do not edit."]
    lines += [f"using {u};" for u in USINGS]
    lines += [f"using {a.rsplit('.', 1)[1]} = {a};" for a in ALIASES]
    lines += [f"namespace {NAMESPACE}", "{", f"    public static class {CLASS}", "    {"]
    methods: dict[str, str] = {}
    spans: list[tuple[int, int, str]] = []
    files: dict[str, str] = {}
    ends: dict[str, tuple[int, int]] = {}  # key -> (line, column) just past the code, where `)` / `}` is
    for index, expression in enumerate(expressions):
        if expression.key in methods:
            raise ValueError(f"duplicate expression key {expression.key!r}")
        name = method_name(expression.key)
        methods[expression.key] = name
        inner, multi = split(expression.code)
        leading = expression.code[: len(expression.code) - len(expression.code.lstrip())]
        # Pad the first line so columns count from the `@` as written: "@(" / "@{" are two characters.
        first_indent = " " * (len(leading.rsplit("\n", 1)[-1]) + 2)
        file_id = f"expression-{index}"
        files[file_id] = expression.key
        start = len(lines) + 1
        lines.append(f"        public static {expression.returns} {name}(IContext context)")
        lines.append("        {")
        if not multi:
            lines.append("            return (")
        first_line = 1 + leading.count("\n")
        lines.append(f'#line {first_line} "{file_id}"')
        body = (first_indent + inner).split("\n")
        lines.extend(body)
        ends[expression.key] = (len(body) + first_line - 1, len(body[-1]) + 1)
        if not multi:  # on its own line: the code's last line may end with a // comment
            lines.append(");")
        lines.append("#line default")
        lines.append("        }")
        spans.append((start, len(lines), expression.key))
    lines += ["    }", "}", ""]
    return _Unit("\n".join(lines), methods, spans, files, ends)


def _flags(newtonsoft: Path) -> list[str]:
    return [
        f"-langversion:{LANGVERSION}",
        "-target:library",
        "-warn:0",
        f"-r:{newtonsoft}",
        *(f"-r:{r}" for r in REFERENCES),
    ]


def _parse(output: str, unit: _Unit, generated_name: str) -> list[CompileError]:
    errors: list[CompileError] = []
    seen: set[tuple[str | None, int, int, str]] = set()
    for raw in output.splitlines():
        line = raw.strip()
        match = _DIAGNOSTIC.match(line)
        key: str | None = None
        if match:
            file, row, column = match.group("file"), int(match.group("line")), int(match.group("column"))
            # mcs's hint after an unknown member is about assemblies, which an expression cannot add.
            message = f"{match.group('code')}: {match.group('message')}".replace(
                " Are you missing an assembly reference?", ""
            )
            if Path(file).name in unit.files:
                key = unit.files[Path(file).name]
                if (row, column) > unit.ends[key]:  # the wrapper's `);` after the code: the closing `)`
                    row, column = unit.ends[key]
            elif Path(file).name == generated_name:
                key = next((k for first, last, k in unit.spans if first <= row <= last), None)
                row, column = (1, 1) if key is not None else (row, column)
        else:
            bare = _BARE_ERROR.match(line)
            if not bare:
                continue
            row, column, message = 0, 0, f"{bare.group('code')}: {bare.group('message')}"
        for name in unit.methods.values():  # the wrapper's method name means nothing to the document's author
            wrapper = f"{NAMESPACE}.{CLASS}.{name}({MODEL_NAMESPACE}.IContext)"
            message = message.replace(f"`{wrapper}'", "the expression").replace(wrapper, "the expression")
        item = (key, row, column, message)
        if item not in seen:
            seen.add(item)
            errors.append(CompileError(key, row, column, message))
    return errors


def compile_expressions(expressions: Sequence[Expression], *, output: Path | None = None) -> CompileResult:
    """Compile all expressions as one assembly. `output`: where to put the assembly (default: the cache path
    build/csharp/<hash>.dll); no assembly when any expression fails. Raises CompilerMissing when mcs or Json.NET
    is not installed.

    mcs stops after syntax errors (and some resolution errors) without checking the other methods, so after a
    failed run the expressions that failed are left out and the rest compiled again (at most ROUNDS runs), to
    report every failing expression of a plan at once."""
    newtonsoft = newtonsoft_dll()
    mcs = shutil.which("mcs")
    if mcs is None or newtonsoft is None:
        raise CompilerMissing(f"the C# compiler is not available: {INSTALL_HINT}")
    flags = _flags(newtonsoft)
    methods = generate(expressions).methods
    remaining = list(expressions)
    errors: list[CompileError] = []
    dll: Path | None = None
    for _ in range(ROUNDS):
        round_errors, dll = _compile_once(mcs, flags, remaining)
        errors.extend(round_errors)
        failed = {e.key for e in round_errors if e.key is not None}
        if not round_errors or not failed or len(failed) == len(remaining):
            break
        remaining = [e for e in remaining if e.key not in failed]
    if errors or dll is None:
        return CompileResult(errors, None, methods)
    if output is not None:
        output.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(dll, output)
        dll = output
    return CompileResult([], dll, methods)


def _compile_once(mcs: str, flags: list[str], expressions: Sequence[Expression]) -> tuple[list[CompileError], Path]:
    unit = generate(expressions)
    digest = hashlib.sha256()
    # This file is part of the key: a change in how errors are read invalidates cached results.
    for part in (
        Path(__file__).read_text(encoding="utf-8"),
        json.dumps(flags),
        MODEL.read_text(encoding="utf-8"),
        unit.source,
    ):
        digest.update(part.encode())
        digest.update(b"\0")
    content_hash = digest.hexdigest()[:32]
    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    dll, record = CACHE_DIR / f"{content_hash}.dll", CACHE_DIR / f"{content_hash}.json"
    errors = _cached(record, dll)
    if errors is None:
        errors = _run(mcs, flags, unit, content_hash, dll, record)
    return errors, dll


def _cached(record: Path, dll: Path) -> list[CompileError] | None:
    try:
        data = json.loads(record.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    errors = [CompileError(**e) for e in data["errors"]]
    if not errors and not dll.is_file():
        return None
    return errors


def _run(mcs: str, flags: list[str], unit: _Unit, content_hash: str, dll: Path, record: Path) -> list[CompileError]:
    with tempfile.TemporaryDirectory(dir=CACHE_DIR, prefix=".compile-") as work:
        source = Path(work) / f"{content_hash}.cs"
        source.write_text(unit.source, encoding="utf-8")
        target = Path(work) / f"{content_hash}.dll"
        completed = subprocess.run(
            [mcs, *flags, f"-out:{target}", str(MODEL), str(source)],
            capture_output=True,
            text=True,
            check=False,
            cwd=work,
        )
        errors = _parse(completed.stdout + "\n" + completed.stderr, unit, source.name)
        if completed.returncode != 0 and not errors:
            errors = [CompileError(None, 0, 0, (completed.stdout + completed.stderr).strip()[-500:] or "mcs failed")]
        if not errors:
            os.replace(target, dll)
        shutil.copyfile(source, CACHE_DIR / f"{content_hash}.cs")
    tmp = record.with_suffix(f".json.{os.getpid()}")
    tmp.write_text(json.dumps({"errors": [asdict(e) for e in errors]}, indent=1), encoding="utf-8")
    os.replace(tmp, record)
    return errors
