"""The guardrail pack's configuration: which level set a stack runs under, read and reconciled as the CLI does.

Levels follow the stack's declared `environment`, never its file name: a stack's own file
(`policies/config/<stack>.json`) applies when it exists, else the level set of its environment
(`policies/config/environments/<environment>.json`). A stack's own file may add settings and raise levels,
never lower a rule below its environment's level, so no production stack can fall back to advisory.
The chosen file is reconciled like the CLI reconciles `--policy-pack-config`: each policy's schema defaults,
then an `all` enforcement level, then the policy's own entry; without an entry a policy keeps the level set
in the rules module. Offline the file is checked more strictly than the CLI does: an unknown policy or
property name, a bad level or a value of the wrong type is an error.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pulumi_policy import EnforcementLevel

from components.settings import PROJECT
from policies.rules import ALL_RULES, Rule

from .stack_config import PROJECT_DIR, StackFileError, load_stack_config

CONFIG_DIR = PROJECT_DIR / "policies" / "config"
LEVELS = {level.value for level in EnforcementLevel}


class GuardrailConfigError(ValueError):
    """The stack's policy pack configuration is invalid."""


ENVIRONMENTS_DIR = CONFIG_DIR / "environments"
_LEVEL_RANK = {"disabled": 0, "advisory": 1, "mandatory": 2, "remediate": 2}


def config_path(stack: str) -> Path:
    """The stack's own pack configuration (optional)."""
    return CONFIG_DIR / f"{stack}.json"


def environment_config_path(environment: str) -> Path:
    """The level set of an environment (one per allowed `environment` setting)."""
    return ENVIRONMENTS_DIR / f"{environment}.json"


def shown_path(path: Path) -> str:
    return str(path.relative_to(PROJECT_DIR)) if path.is_relative_to(PROJECT_DIR) else str(path)


@dataclass(frozen=True)
class LevelSet:
    """Which pack configuration a stack's guardrails run under, and why."""

    stack: str
    environment: str | None
    path: Path
    own: bool  # the stack's own file, checked against its environment's levels

    def describe(self) -> str:
        if self.own:
            floor = f", no level below environment {self.environment!r}" if self.environment else ""
            return f"guardrail levels: {shown_path(self.path)} (the stack's own{floor})"
        return (
            f"guardrail levels: {shown_path(self.path)} (the level set of environment {self.environment!r}; "
            f"the stack has no {shown_path(config_path(self.stack))})"
        )


def stack_environment(stack: str, project_dir: Path = PROJECT_DIR) -> str | None:
    """The `environment` a stack file declares (None when the file or the setting is missing)."""
    try:
        config, _ = load_stack_config(stack, project_dir)
    except (FileNotFoundError, StackFileError):
        return None
    value = config.get(f"{PROJECT}:environment")
    return value if isinstance(value, str) else None


def level_set(stack: str, environment: str | None) -> LevelSet:
    own = config_path(stack)
    if own.exists():
        return LevelSet(stack, environment, own, True)
    if environment is None:
        raise GuardrailConfigError(
            f"stack {stack!r} declares no environment and has no {shown_path(own)}: no guardrail levels apply"
        )
    path = environment_config_path(environment)
    if not path.exists():
        raise GuardrailConfigError(f"no level set for environment {environment!r}: add {shown_path(path)}")
    return LevelSet(stack, environment, path, False)


def read_config(path: Path) -> dict[str, Any]:
    try:
        document = json.loads(path.read_text() or "{}")
    except ValueError as error:
        raise GuardrailConfigError(f"{path.name}: not valid JSON: {error}") from None
    if not isinstance(document, dict):
        raise GuardrailConfigError(f"{path.name}: must be a JSON object of policy name -> level or settings")
    return document


def load_pack_config(stack: str, environment: str | None = None) -> dict[str, Any]:
    """The pack configuration a stack runs under (its environment read from its stack file when not given).

    A stack's own file that sets a rule below its environment's level is refused.
    """
    environment = environment if environment is not None else stack_environment(stack)
    chosen = level_set(stack, environment)
    raw = read_config(chosen.path)
    if chosen.own and environment is not None and environment_config_path(environment).exists():
        _check_floor(raw, read_config(environment_config_path(environment)), chosen, environment)
    return raw


def _check_floor(raw: Mapping[str, Any], floor: Mapping[str, Any], chosen: LevelSet, environment: str) -> None:
    source = shown_path(chosen.path)
    own = reconcile(ALL_RULES, raw, source)
    required = reconcile(ALL_RULES, floor, shown_path(environment_config_path(environment)))
    lowered = [
        f"{name}: {own[name][0]!r} is below {level!r}"
        for name, (level, _) in required.items()
        if _LEVEL_RANK[own[name][0]] < _LEVEL_RANK[level]
    ]
    if lowered:
        raise GuardrailConfigError(
            f"{source}: a stack of environment {environment!r} may not lower a guardrail below its environment's "
            f"level set ({shown_path(environment_config_path(environment))}): " + "; ".join(lowered)
        )


def _schema_properties(rule: Rule) -> dict[str, dict[str, Any]]:
    schema = getattr(rule, "config_schema", None)
    return dict(schema.properties) if schema is not None else {}


def _default_level(rule: Rule) -> str:
    level = rule.enforcement_level or EnforcementLevel.ADVISORY  # the pack's default level
    return level.value


_JSON_TYPES: dict[str, tuple[type[Any], ...]] = {
    "array": (list,),
    "boolean": (bool,),
    "integer": (int,),
    "number": (int, float),
    "string": (str,),
    "object": (dict,),
}


def _check_value(where: str, schema: Mapping[str, Any], value: Any) -> None:  # value: any JSON value
    expected = schema.get("type")
    types = _JSON_TYPES.get(str(expected), (object,))
    if not isinstance(value, types) or (expected in ("integer", "number") and isinstance(value, bool)):
        raise GuardrailConfigError(f"{where}: {value!r} is not of type {expected}")
    if "minimum" in schema and value < schema["minimum"]:
        raise GuardrailConfigError(f"{where}: {value!r} is below the minimum {schema['minimum']}")
    if expected == "array" and "items" in schema:
        for i, item in enumerate(value):
            _check_value(f"{where}[{i}]", schema["items"], item)


def reconcile(
    rules: Sequence[Rule], raw: Mapping[str, Any], source: str = "pack config"
) -> dict[str, tuple[str, dict[str, Any]]]:
    """Each rule's (enforcement level, configuration), as the CLI reconciles `--policy-pack-config`."""
    names = {rule.name: rule for rule in rules}
    known = {r.name for r in ALL_RULES} | set(names)
    entries: dict[str, tuple[str | None, dict[str, Any]]] = {}
    for key, value in raw.items():
        if key != "all" and key not in known:
            raise GuardrailConfigError(f"{source}: unknown policy {key!r} (known: {', '.join(sorted(known))})")
        if isinstance(value, str):
            level, props = value, {}
        elif isinstance(value, dict):
            props = dict(value)
            level = props.pop("enforcementLevel", None)
        else:
            raise GuardrailConfigError(f"{source}: {key}: {value!r} must be a level or an object")
        if level is not None and level not in LEVELS:
            raise GuardrailConfigError(f"{source}: {key}: {level!r} is not one of {', '.join(sorted(LEVELS))}")
        if key in names:
            schema = _schema_properties(names[key])
            for prop, prop_value in props.items():
                if prop not in schema:
                    raise GuardrailConfigError(
                        f"{source}: {key}.{prop}: unknown setting (settings: {', '.join(sorted(schema)) or 'none'})"
                    )
                _check_value(f"{source}: {key}.{prop}", schema[prop], prop_value)
        entries[key] = (level, props)

    all_level = entries.get("all", (None, {}))[0]
    result = {}
    for rule in rules:
        props = {k: v["default"] for k, v in _schema_properties(rule).items() if "default" in v}
        level = all_level or _default_level(rule)
        own_level, own_props = entries.get(rule.name, (None, {}))
        props.update(own_props)
        result[rule.name] = (own_level or level, props)
    return result
