"""Installs what the policy lint's compile step needs: `python3 -m tools.bootstrap [--optional]`.

Mono's C# compiler and Json.NET, from Debian's packages (`mono-mcs`, `libnewtonsoft-json5.0-cil`). When they
are missing and `apt-get` can be run (as root, as CI runs, or with password-less sudo), runs `apt-get update`
and installs them; anywhere else prints the one-line install hint and exits 1. `--optional` exits 0 instead
(the offline plan then says that expressions were only parsed, not compiled). Runs on the system Python before
any virtual environment exists, so it uses the standard library only.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Sequence

from .csharp.compiler import INSTALL_HINT, mcs_available, newtonsoft_dll

PACKAGES = ("mono-mcs", "libnewtonsoft-json5.0-cil")

Runner = Callable[[Sequence[str]], int]


def _run(command: Sequence[str]) -> int:
    print("+ " + " ".join(command), flush=True)
    return subprocess.run(list(command), check=False).returncode


def _apt_prefix() -> list[str] | None:
    """How to run apt-get here: directly as root, through password-less sudo, or not at all."""
    if shutil.which("apt-get") is None:
        return None
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        return []
    sudo = shutil.which("sudo")
    if sudo and subprocess.run([sudo, "-n", "true"], capture_output=True, check=False).returncode == 0:
        return [sudo, "-n"]
    return None


def ensure_compiler(
    *,
    available: Callable[[], bool] = mcs_available,
    apt_prefix: Callable[[], list[str] | None] = _apt_prefix,
    run: Runner = _run,
) -> tuple[bool, str]:
    """(installed, what happened)."""
    if available():
        return True, f"C# compiler: {shutil.which('mcs')} with {newtonsoft_dll()}"
    prefix = apt_prefix()
    if prefix is None:
        return False, f"the C# compiler for the policy lint is missing; {INSTALL_HINT}"
    env = ["env", "DEBIAN_FRONTEND=noninteractive"]
    if run([*prefix, *env, "apt-get", "update", "-q"]) != 0:
        return False, f"apt-get update failed; {INSTALL_HINT}"
    if run([*prefix, *env, "apt-get", "install", "-y", "-q", "--no-install-recommends", *PACKAGES]) != 0:
        return False, f"apt-get install {' '.join(PACKAGES)} failed; {INSTALL_HINT}"
    if not available():
        return False, f"installed {' '.join(PACKAGES)} but mcs or Newtonsoft.Json.dll is still not found"
    return True, f"installed {' '.join(PACKAGES)}: {shutil.which('mcs')} with {newtonsoft_dll()}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python3 -m tools.bootstrap", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--optional", action="store_true", help="exit 0 without the compiler (expressions are then only parsed)"
    )
    args = parser.parse_args(argv)
    ok, message = ensure_compiler()
    if ok:
        print(message)
        return 0
    print(("warning: " if args.optional else "error: ") + message, file=sys.stderr)
    return 0 if args.optional else 1


if __name__ == "__main__":
    sys.exit(main())
