"""Policy expressions run as real C#: compiled by tools/csharp (the lint's compiler and context model), executed
by long-lived Mono processes (ApimRuntime.cs) that implement the context interfaces from the request's parts.

No C# is interpreted in Python: Python only sends the compiled method's name and what changed in the request's
context since that host last saw it (ApimSession.cs keeps the rest), and reads back the typed value.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tools.csharp import compiler

from .values import Variables, decode, encode

HOST_SOURCES = tuple(Path(__file__).with_name(name) for name in ("ApimRuntime.cs", "ApimSession.cs", "ApimHost.cs"))
BUILD_DIR = Path(__file__).resolve().parents[2] / "build" / "emulator"
_ENCODER = json.JSONEncoder(separators=(",", ":"))
_DECODER = json.JSONDecoder()


class ExpressionError(Exception):
    """An expression failed at run time (APIM reports it as an error of the policy holding it)."""


def is_expression(text: str | None) -> bool:
    if text is None:
        return False
    stripped = text.strip()
    return len(stripped) >= 3 and stripped[0] == "@" and stripped[1] in "({"


@dataclass(frozen=True)
class Compiled:
    assembly: Path
    methods: dict[str, str]


def compile_all(expressions: dict[str, tuple[str, str]]) -> Compiled:
    """Compiles key -> (code, returns); raises with every compile error (the plan's lint should have caught them)."""
    if not compiler.mcs_available():
        raise ExpressionError("the emulator needs Mono's C# compiler and Json.NET: " + compiler.INSTALL_HINT)
    items = [compiler.Expression(key=k, code=code, returns=returns) for k, (code, returns) in expressions.items()]
    result = compiler.compile_expressions(items)
    if result.errors or result.assembly is None:
        lines = [f"{e.key}:{e.line}:{e.column}: {e.message}" for e in result.errors[:10]]
        raise ExpressionError("policy expressions do not compile:\n" + "\n".join(lines))
    return Compiled(result.assembly, dict(result.methods))


def _host_exe(assembly: Path) -> Path:
    """The host compiled against this expressions assembly (it carries the Apim.Policies interfaces)."""
    digest = hashlib.sha256(b"".join(p.read_bytes() for p in HOST_SOURCES) + assembly.read_bytes()).hexdigest()[:20]
    BUILD_DIR.mkdir(parents=True, exist_ok=True)
    exe = BUILD_DIR / f"host-{digest}.exe"
    if exe.exists():
        return exe
    newtonsoft = compiler.newtonsoft_dll()
    mcs = shutil.which("mcs")
    if newtonsoft is None or mcs is None:
        raise ExpressionError("the emulator needs Mono's C# compiler and Json.NET: " + compiler.INSTALL_HINT)
    partial = exe.with_suffix(f".{os.getpid()}.tmp")
    done = subprocess.run(
        [
            mcs,
            "-langversion:7",
            "-target:exe",
            "-warn:0",
            "-nologo",
            f"-r:{newtonsoft}",
            "-r:System.Core.dll",
            "-r:System.Xml.Linq.dll",
            f"-r:{assembly}",
            f"-out:{partial}",
            *(str(p) for p in HOST_SOURCES),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise ExpressionError(f"the emulator's C# host does not compile: {(done.stdout + done.stderr)[-800:]}")
    partial.replace(exe)
    return exe


@dataclass
class _Sent:
    """What one host holds of one request's session: the parts and variables as last sent."""

    parts: dict[str, Any] = field(default_factory=dict)
    variables: dict[str, tuple[type, Any]] = field(default_factory=dict)
    source: Variables | None = None  # the Variables last sent from, and its version then
    version: int = -1


class ExpressionHost:
    """One Mono process evaluating compiled expressions; thread-safe (one request at a time on the pipe).

    The host keeps each request's context for the request's lifetime (ApimSession.cs); each message carries
    only the parts and variables that differ from what this host last received for that request."""

    MAX_SESSIONS = 256  # a bound on sessions of requests that never called finish (a caller's bug, not a leak)

    def __init__(self, compiled: Compiled) -> None:
        self.methods = compiled.methods
        exe = _host_exe(compiled.assembly)
        newtonsoft = compiler.newtonsoft_dll()
        assert newtonsoft is not None
        env = dict(os.environ)
        env["MONO_PATH"] = os.pathsep.join(
            p for p in (str(newtonsoft.parent), str(compiled.assembly.parent), env.get("MONO_PATH", "")) if p
        )
        self._lock = threading.Lock()
        self._sessions: dict[str, _Sent] = {}
        self._drops: list[str] = []
        self._process = subprocess.Popen(
            ["mono", "--optimize=all", str(exe), str(compiled.assembly)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env,
        )
        ready = self._read()
        if ready != '{"ready":true}':
            raise ExpressionError(f"the C# host did not start: {ready}")

    def _read(self) -> str:
        assert self._process.stdout is not None
        line = self._process.stdout.readline()
        if not line:
            stderr = self._process.stderr.read().decode(errors="replace") if self._process.stderr else ""
            raise ExpressionError(f"the C# host stopped: {stderr[-800:]}")
        return line.decode().rstrip("\n")

    @staticmethod
    def _answer(line: str) -> tuple[bool, Any, list[str]]:
        """(ok, the value or the error, consumed bodies) from an answer line (ApimSession.cs)."""
        if line.startswith("0\t"):
            return False, _DECODER.decode(line[2:]), []
        if not line.startswith("1\t"):
            return False, f"the C# host answered {line[:200]!r}", []
        kind, consumed, text = line[2:].split("\t", 2)
        value: Any
        if kind == "string" and "\\" not in text:
            value = text[1:-1]  # a JSON string without escapes is its own text between the quotes
        elif kind == "int":
            value = int(text)
        elif kind == "bool":
            value = text == "true"
        else:
            value = decode({"t": kind, "v": _DECODER.decode(text)})
        return True, value, consumed.split(",") if consumed else []

    @staticmethod
    def _changed_variables(sent: _Sent, variables: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
        """The variables set (encoded) and removed since `sent`."""
        if isinstance(variables, Variables) and sent.source is variables:
            if variables.version == sent.version:
                return {}, []
            names = [n for n, version in variables.changed.items() if version > sent.version]
        else:
            names = list(variables) + [n for n in sent.variables if n not in variables]
        changed: dict[str, Any] = {}
        removed: list[str] = []
        seen = sent.variables
        for name in names:
            if name not in variables:
                if seen.pop(name, None) is not None:
                    removed.append(name)
                continue
            value = variables[name]
            was = seen.get(name)
            # The type too: True == 1 in Python, but a bool and an int are different .NET values.
            if was is None or was[0] is not type(value) or was[1] != value:
                changed[name] = encode(value)
                seen[name] = (type(value), value)
        if isinstance(variables, Variables):
            sent.source, sent.version = variables, variables.version
        return changed, removed

    def evaluate(
        self, key: str, request: str, parts: dict[str, Any], variables: dict[str, Any], elapsed_ms: float
    ) -> tuple[Any, list[str]]:
        """The expression's value (decoded) and which bodies it consumed ("request", "response"), for the
        request `request` (its id) whose context is `parts` (RequestState.parts) and `variables`."""
        method = self.methods[key]
        if "\t" in request or "\n" in request:
            raise ExpressionError(f"a request id cannot hold a tab or a line break: {request!r}")
        with self._lock:
            message: dict[str, Any] = {}
            if self._drops:
                message["drop"], self._drops = self._drops, []
            sent = self._sessions.get(request)
            if sent is None:
                if len(self._sessions) >= self.MAX_SESSIONS:
                    oldest = next(iter(self._sessions))
                    del self._sessions[oldest]
                    message.setdefault("drop", []).append(oldest)
                sent = self._sessions[request] = _Sent()
                message["new"] = True
            for name, part in parts.items():
                if name not in sent.parts or (sent.parts[name] is not part and sent.parts[name] != part):
                    message[name] = sent.parts[name] = part
            changed, removed = self._changed_variables(sent, variables)
            if changed:
                message["v"] = changed
            if removed:
                message["x"] = removed
            line = f"{method}\t{request}\t{float(elapsed_ms)!r}\t{_ENCODER.encode(message) if message else ''}\n"
            assert self._process.stdin is not None
            self._process.stdin.write(line.encode())
            self._process.stdin.flush()
            ok, value, consumed = self._answer(self._read())
            if not ok:
                # The host may hold part of this message: the request's next message starts its session afresh.
                del self._sessions[request]
        if not ok:
            raise ExpressionError(str(value))
        return value, consumed

    @property
    def sessions(self) -> frozenset[str]:
        """The requests whose context this host holds."""
        with self._lock:
            return frozenset(self._sessions)

    def holds(self, request: str) -> bool:
        return request in self._sessions

    def finish(self, request: str) -> None:
        """The request ended: its session is dropped (with this host's next message)."""
        with self._lock:
            if self._sessions.pop(request, None) is not None:
                self._drops.append(request)

    def close(self) -> None:
        if self._process.poll() is None:
            assert self._process.stdin is not None
            self._process.stdin.close()
            try:
                self._process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
        for stream in (self._process.stdout, self._process.stderr):
            if stream is not None:
                stream.close()


class HostPool:
    """Several hosts (one per core by default), so concurrent requests do not queue for one Mono process.

    A request's expressions go to the host that already holds its context when that host is free (it then
    receives only what changed), else to the host freed last."""

    def __init__(self, compiled: Compiled, size: int | None = None) -> None:
        count = size if size is not None else max(1, min(4, os.cpu_count() or 1))
        self.hosts = [ExpressionHost(compiled) for _ in range(count)]
        self._free = list(self.hosts)  # the host freed last at the end
        self._available = threading.Condition()

    def _take(self, request: str) -> ExpressionHost:
        with self._available:
            while not self._free:
                self._available.wait()
            for index in range(len(self._free) - 1, -1, -1):
                if self._free[index].holds(request):
                    return self._free.pop(index)
            return self._free.pop()

    def evaluate(
        self, key: str, request: str, parts: dict[str, Any], variables: dict[str, Any], elapsed_ms: float
    ) -> tuple[Any, list[str]]:
        host = self._take(request)
        try:
            return host.evaluate(key, request, parts, variables, elapsed_ms)
        finally:
            with self._available:
                self._free.append(host)
                self._available.notify()

    def finish(self, request: str) -> None:
        for host in self.hosts:
            host.finish(request)

    def close(self) -> None:
        for host in self.hosts:
            host.close()
