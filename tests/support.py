"""Helpers for tests: a stack's configuration as data, changed one key at a time."""

from __future__ import annotations

import copy
import functools
import json
from typing import Any

import pytest

from components.settings import PROJECT, GatewaySettings, SettingsError, load_settings
from tools import azure_mocks
from tools.harness import Recording, run_stack
from tools.stack_config import load_stack_config


@functools.cache
def stack_recording(stack: str) -> Recording:
    """The stack's program run once per test session under the mock engine (the `dev`/`prod` fixtures)."""
    return run_stack(stack)


@functools.cache
def _plan_json(stack: str) -> str:
    from tools.plan import plan_document

    return json.dumps(plan_document(stack_recording(stack), []))


def stack_plan(stack: str) -> dict[str, Any]:
    """The plan document of this session's run of the stack (a fresh copy): never a plan file left behind."""
    plan: dict[str, Any] = json.loads(_plan_json(stack))
    return plan


def raw_config(stack: str) -> dict[str, Any]:
    """The stack's config as `{top-level key: decoded value}`, ready to mutate."""
    flat, _ = load_stack_config(stack)
    prefix = f"{PROJECT}:"
    result: dict[str, Any] = {}
    for key, text in flat.items():
        if key.startswith(prefix):
            try:
                result[key[len(prefix):]] = json.loads(text)
            except ValueError:
                result[key[len(prefix):]] = text
    return result


def with_value(config: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    """A copy with `a.b.0.c` set to value (or removed when value is DELETE)."""
    changed = copy.deepcopy(config)
    *parents, last = path.split(".")
    node: Any = changed
    for part in parents:
        node = node[int(part)] if part.isdigit() else node.setdefault(part, {})
    if value is DELETE:
        del node[int(last) if last.isdigit() else last]
    elif last.isdigit():
        node[int(last)] = value
    else:
        node[last] = value
    return changed


DELETE = object()


def only(lines: list[str]) -> str:
    """The one problem line a test expects."""
    assert len(lines) == 1, lines
    return lines[0]


def parse(config: dict[str, Any]) -> GatewaySettings:
    flat = {f"{PROJECT}:{k}": v if isinstance(v, str) else json.dumps(v) for k, v in config.items()}
    return load_settings(flat)


def problems(config: dict[str, Any]) -> list[str]:
    """The error lines the program would stop with (empty when the settings are valid)."""
    try:
        parse(config)
    except SettingsError as error:
        return [str(p) for p in error.problems]
    return []


def declarations(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The names of the resources the mock engine is asked to create from now on (the test's monkeypatch undoes it)."""
    declared: list[str] = []
    original = azure_mocks.AzureMocks.new_resource

    def spy(self: azure_mocks.AzureMocks, args: object) -> object:
        declared.append(getattr(args, "name", "?"))
        return original(self, args)  # type: ignore[arg-type]

    monkeypatch.setattr(azure_mocks.AzureMocks, "new_resource", spy)
    return declared
