"""Policy expressions run as real C#: compiled by tools/csharp (the lint's compiler and context model), executed
by a long-lived Mono process (ApimRuntime.cs) that implements the context interfaces from a snapshot.

No C# is interpreted in Python: Python only sends the compiled method's name and the request's snapshot, and
reads back the typed value.
"""

from __future__ import annotations

import hashlib
import json
import os
import queue
import shutil
import subprocess
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tools.csharp import compiler

from .context import decode

HOST_SOURCES = (Path(__file__).with_name("ApimRuntime.cs"), Path(__file__).with_name("ApimHost.cs"))
# Snapshot parts that change between expressions of one request; the rest is sent only when it changes.
DYNAMIC = ("elapsedMs", "response", "lastError", "variables")
BUILD_DIR = Path(__file__).resolve().parents[2] / "build" / "emulator"


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


class ExpressionHost:
    """One Mono process evaluating compiled expressions; thread-safe (one request at a time on the pipe)."""

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
        self._last_static: str | None = None
        self._process = subprocess.Popen(
            ["mono", "--optimize=all", str(exe), str(compiled.assembly)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env,
        )
        ready = self._read()
        if not ready.get("ready"):
            raise ExpressionError(f"the C# host did not start: {ready}")

    def _read(self) -> dict[str, Any]:
        assert self._process.stdout is not None
        line = self._process.stdout.readline()
        if not line:
            stderr = self._process.stderr.read().decode(errors="replace") if self._process.stderr else ""
            raise ExpressionError(f"the C# host stopped: {stderr[-800:]}")
        answer: dict[str, Any] = json.loads(line)
        return answer

    def evaluate(self, key: str, snapshot: dict[str, Any]) -> tuple[Any, list[str]]:
        """The expression's value (decoded) and which bodies it consumed ("request", "response")."""
        method = self.methods[key]
        static = json.dumps({k: v for k, v in snapshot.items() if k not in DYNAMIC}, separators=(",", ":"))
        dynamic = json.dumps({k: snapshot[k] for k in DYNAMIC}, separators=(",", ":"))
        with self._lock:
            assert self._process.stdin is not None
            # The host keeps the last static part: resend it only when it changed.
            if static == self._last_static:
                message = f'{{"method":"{method}","d":{dynamic}}}\n'
            else:
                message = f'{{"method":"{method}","s":{static},"d":{dynamic}}}\n'
                self._last_static = static
            self._process.stdin.write(message.encode())
            self._process.stdin.flush()
            answer = self._read()
        if not answer.get("ok"):
            if "no context snapshot" in str(answer.get("error")):
                self._last_static = None
            raise ExpressionError(str(answer.get("error")))
        return decode(answer["value"]), list(answer.get("consumed", []))

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
    """Several hosts (one per core by default), so concurrent requests do not queue for one Mono process."""

    def __init__(self, compiled: Compiled, size: int | None = None) -> None:
        count = size if size is not None else max(1, min(4, os.cpu_count() or 1))
        self.hosts = [ExpressionHost(compiled) for _ in range(count)]
        self._free: queue.SimpleQueue[ExpressionHost] = queue.SimpleQueue()
        for host in self.hosts:
            self._free.put(host)

    def evaluate(self, key: str, snapshot: dict[str, Any]) -> tuple[Any, list[str]]:
        host = self._free.get()
        try:
            return host.evaluate(key, snapshot)
        finally:
            self._free.put(host)

    def close(self) -> None:
        for host in self.hosts:
            host.close()
