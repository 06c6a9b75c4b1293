"""Reads `Pulumi.<stack>.yaml` into the flat config map the Pulumi engine hands a program."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

from components.settings import PROJECT

# What a `secure:` value becomes offline: the plan never sees (or needs) the decrypted secret.
SECRET_PLACEHOLDER = "offline-placeholder-for-a-secret"

PROJECT_DIR = Path(__file__).resolve().parent.parent


class StackFileError(Exception):
    """The stack file cannot be read as Pulumi stack configuration."""


def stack_file(stack: str, project_dir: Path = PROJECT_DIR) -> Path:
    return project_dir / f"Pulumi.{stack}.yaml"


def known_stacks(project_dir: Path = PROJECT_DIR) -> list[str]:
    return sorted(p.name[len("Pulumi.") : -len(".yaml")] for p in project_dir.glob("Pulumi.*.yaml"))


def load_stack_config(stack: str, project_dir: Path = PROJECT_DIR) -> tuple[dict[str, str], list[str]]:
    """Flat `namespace:key` -> string (objects as JSON text) and the keys that hold secrets."""
    path = stack_file(stack, project_dir)
    if not path.exists():
        raise FileNotFoundError(f"no stack file {path.name}; known stacks: {', '.join(known_stacks(project_dir))}")
    try:
        document = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as error:
        raise StackFileError(f"{path.name} is not valid YAML: {error}") from None
    if not isinstance(document, dict) or not isinstance(document.get("config") or {}, dict):
        raise StackFileError(f"{path.name}: expected a mapping with a `config:` mapping of keys to values")
    config: dict[str, str] = {}
    secret_keys: list[str] = []
    for key, value in (document.get("config") or {}).items():
        full_key = key if ":" in key else f"{PROJECT}:{key}"
        value, secret = _without_secrets(value)
        config[full_key] = flatten(value)
        if secret:
            secret_keys.append(full_key)
    return config, secret_keys


def esc_environments(stack: str, project_dir: Path = PROJECT_DIR) -> list[str]:
    """The Pulumi ESC environments a stack file imports (`environment:`), which only Pulumi Cloud resolves.

    https://www.pulumi.com/docs/esc/guides/pulumi-iac/: the `environment` block lists environment names,
    merged in order; their `values.pulumiConfig` becomes stack configuration when the CLI runs.
    """
    path = stack_file(stack, project_dir)
    try:
        document = yaml.safe_load(path.read_text()) or {}
    except (OSError, yaml.YAMLError):
        return []
    imports = document.get("environment") if isinstance(document, dict) else None
    if isinstance(imports, str):
        return [imports]
    if isinstance(imports, dict):  # the older `environment: {imports: [...]}` form
        imports = imports.get("imports")
    return [str(name) for name in imports] if isinstance(imports, list) else []


def flatten(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)


def _without_secrets(value: Any) -> tuple[Any, bool]:
    if isinstance(value, dict):
        if set(value) == {"secure"}:
            return SECRET_PLACEHOLDER, True
        found = False
        result = {}
        for k, v in value.items():
            result[k], secret = _without_secrets(v)
            found = found or secret
        return result, found
    if isinstance(value, list):
        items = [_without_secrets(v) for v in value]
        return [v for v, _ in items], any(s for _, s in items)
    return value, False
