"""The guardrail pack works on its own, as the CLI packs it for `pulumi policy publish` and runs it elsewhere."""

from __future__ import annotations

import ast
import importlib.metadata
import json
import shutil
import subprocess
import sys
from pathlib import Path

from policies.rules import PACK_NAME, POLICIES
from tools.stack_config import PROJECT_DIR

PACK_DIR = PROJECT_DIR / "policies"

# Runs the pack folder as `python -m pulumi.policy` does (runpy.run_path on the folder), with PolicyPack
# replaced by a recorder so no analyzer server starts, in isolated mode: no PYTHONPATH, no current folder.
RUN_PACK = """
import json, runpy, sys
import pulumi_policy
seen = {}
class Recorder:
    def __init__(self, **kwargs):
        seen.update(kwargs)
pulumi_policy.PolicyPack = Recorder
runpy.run_path(sys.argv[1], run_name="__main__")
import importlib, pathlib, pkgutil
rules = sys.modules["rules"]
files = [
    str(value)
    for info in pkgutil.iter_modules(rules.__path__, "rules.")
    for value in vars(importlib.import_module(info.name)).values()
    if isinstance(value, pathlib.Path)
]
print(json.dumps({
    "name": seen["name"],
    "policies": [p.name for p in seen["policies"]],
    "path": sys.path,
    "files": files,
    "missing": [f for f in files if not pathlib.Path(f).exists()],
}))
"""


def _copy_pack(tmp_path: Path) -> Path:
    target = tmp_path / "published" / "pack"
    shutil.copytree(PACK_DIR, target, ignore=shutil.ignore_patterns("__pycache__", "venv", "config"))
    return target


def test_the_pack_folder_alone_builds_every_policy_without_the_repository(tmp_path: Path) -> None:
    pack = _copy_pack(tmp_path)
    result = subprocess.run(
        [sys.executable, "-I", "-c", RUN_PACK, str(pack)],
        cwd=tmp_path, capture_output=True, text=True, timeout=120, check=False,
    )
    assert result.returncode == 0, result.stderr
    built = json.loads(result.stdout.strip().splitlines()[-1])
    assert built["name"] == PACK_NAME
    assert built["policies"] == [p.name for p in POLICIES]
    assert not any(str(PROJECT_DIR) == entry for entry in built["path"])
    # Data files are found next to the rules in the copy, not in the project.
    assert all(f.startswith(str(pack)) for f in built["files"]) and built["missing"] == []


def test_the_pack_imports_only_the_standard_library_its_own_rules_and_its_requirements() -> None:
    requirements = {
        line.split(">")[0].split("=")[0].split("<")[0].strip().lower()
        for line in (PACK_DIR / "requirements.txt").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    }
    distributions = importlib.metadata.packages_distributions()
    own = {"rules"}
    for source in PACK_DIR.rglob("*.py"):
        if "venv" in source.parts:
            continue
        for node in ast.walk(ast.parse(source.read_text())):
            if isinstance(node, ast.Import):
                modules = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                modules = [node.module]
            else:
                continue
            for module in modules:
                top = module.split(".")[0]
                if top in sys.stdlib_module_names or top in own or top == "__future__":
                    continue
                providers = {d.lower().replace("_", "-") for d in distributions.get(top, [])}
                assert providers & requirements, f"{source.relative_to(PROJECT_DIR)} imports {module}"


def test_the_pack_never_changes_sys_path() -> None:
    # A sys.path change to reach code outside the folder is what breaks once the CLI packs it.
    for source in PACK_DIR.rglob("*.py"):
        if "venv" in source.parts:
            continue
        tree = ast.parse(source.read_text())
        attributes = {
            (n.value.id, n.attr)
            for n in ast.walk(tree)
            if isinstance(n, ast.Attribute) and isinstance(n.value, ast.Name)
        }
        assert ("sys", "path") not in attributes, source


def test_every_file_the_rules_read_lies_inside_the_pack() -> None:
    import importlib
    import pkgutil

    import policies.rules as package

    paths = [
        (f"{info.name}.{name}", value)
        for info in pkgutil.iter_modules(package.__path__, "policies.rules.")
        for name, value in vars(importlib.import_module(info.name)).items()
        if isinstance(value, Path)
    ]
    for name, path in paths:
        assert path.resolve().is_relative_to(PACK_DIR), f"{name} = {path} is outside the pack"
        assert path.exists(), f"{name} = {path} does not exist"
