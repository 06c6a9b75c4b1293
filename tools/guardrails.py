"""Offline evaluation of the guardrail pack (policies/rules/) on a recorded stack.

`python -m tools.plan` calls `guardrail_violations(recording)` (through `tools.violations.collect`); the rules
are the same `pulumi_policy` objects the Pulumi CLI runs with `--policy-pack policies`. What this module
hands them is built the way the engine and the analyzer server build it:

- Properties: the recorded inputs (camelCase at every level, as the provider receives them) are marshalled
  as the engine sends them to an analyzer: a secret (`tools.harness.Secret`) as the secret signature object,
  a value only known after deployment (`tools.harness.Unknown`, and the values the mocks fabricate, which
  the plan prints as `[computed]`) as the engine's unknown sentinel. That goes through a protobuf `Struct`
  (numbers become floats) and pulumi_policy's own `deserialize_properties` + `unknown_checking_proxy`, so a
  validator sees secrets unwrapped to their plain value (the analyzer server drops the secret marker) and
  gets `UnknownValueError` when it reads an unknown.
- Options: `PolicyResourceOptions` with the recorded `protect` and `parent` (the stack's URN for a top-level
  resource, as the engine reports it); the recording has no ignoreChanges, aliases, custom timeouts or
  provider, so those are empty.
- Stack validation: one `PolicyResource` per recorded resource, with `parent`, `dependencies` and
  `property_dependencies` linked to the other `PolicyResource` objects (links to resources outside the list,
  such as the root stack, are dropped, as the analyzer server does). The CLI passes stack policies the
  resources' outputs; azure-native outputs echo the inputs, and offline the inputs are what is known.
- Configuration: the stack's level set, chosen by its declared `environment` and reconciled as the CLI
  reconciles `--policy-pack-config` (`tools/guardrail_config.py`).
- Evaluation follows the analyzer server: `disabled` policies are skipped, `remediate` reports as mandatory,
  `UnknownValueError` becomes an advisory "can't run policy during preview", `not_applicable` is ignored.

`PLAN_ONLY_RULES` (no secret in a plain stack output) run here only, on `Recording.outputs` with secrets
wrapped in `pulumi_policy.Secret` and fabricated values kept (so a leaked key is recognised by its value):
pulumi-policy's stack validation does not receive stack outputs.

`python -m tools.guardrails [--markdown]` prints every rule with its level per stack.
"""

from __future__ import annotations

import argparse
import asyncio
import inspect
import sys
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from google.protobuf import json_format, struct_pb2
from pulumi_policy import (
    EnforcementLevel,
    Policy,
    PolicyCustomTimeouts,
    PolicyResource,
    PolicyResourceOptions,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)
from pulumi_policy import Secret as PolicySecret
from pulumi_policy.deserialize import SPECIAL_SECRET_SIG, SPECIAL_SIG_KEY, deserialize_properties
from pulumi_policy.policy import _NotApplicableError
from pulumi_policy.proxy import UNKNOWN_STRING_VALUE, UnknownValueError, unknown_checking_proxy

from policies.rules import ALL_RULES, PACK_NAME, PlanOnlyRule, PlanResource, Rule

# Re-exported: the configuration API is used through this module too.
from .guardrail_config import (
    GuardrailConfigError,
    level_set,
    load_pack_config,
    reconcile,
    shown_path,
    stack_environment,
)
from .harness import RecordedResource, Recording, Secret, Unknown
from .stack_config import PROJECT_DIR, known_stacks
from .violations import Violation

__all__ = ["GuardrailConfigError", "evaluate", "guardrail_violations", "levels_used", "load_pack_config", "reconcile"]


# -- what the engine hands a policy --------------------------------------------------------------------
def _is_computed(value: str, computed: Iterable[str]) -> bool:
    return any(c in value for c in computed)


def wire_value(value: Any, computed: Iterable[str] = ()) -> Any:
    """A recorded value as the engine marshals it for an analyzer (secrets signed, unknowns as the sentinel)."""
    if isinstance(value, Secret):
        return {SPECIAL_SIG_KEY: SPECIAL_SECRET_SIG, "value": wire_value(value.value, computed)}
    if isinstance(value, Unknown):
        return UNKNOWN_STRING_VALUE
    if isinstance(value, dict):
        return {k: wire_value(v, computed) for k, v in value.items()}
    if isinstance(value, list):
        return [wire_value(v, computed) for v in value]
    if isinstance(value, str) and _is_computed(value, computed):
        return UNKNOWN_STRING_VALUE
    return value


def engine_props(inputs: Mapping[str, Any], computed: Iterable[str] = ()) -> Mapping[str, Any]:
    """Properties as a validator sees them: through a protobuf Struct, deserialized and unknown-checked."""
    struct = struct_pb2.Struct()
    struct.update(wire_value(dict(inputs), computed))
    return unknown_checking_proxy(deserialize_properties(json_format.MessageToDict(struct)))


def resource_options(resource: RecordedResource, root: str) -> PolicyResourceOptions:
    return PolicyResourceOptions(
        protect=resource.protect,
        ignore_changes=[],
        delete_before_replace=None,
        aliases=[],
        custom_timeouts=PolicyCustomTimeouts(0, 0, 0),
        additional_secret_outputs=[],
        parent=resource.parent or root,
    )


def policy_resources(recording: Recording) -> list[PolicyResource]:
    """Every recorded resource as a stack policy receives it, parents and dependencies linked."""
    root = recording.stack_urn
    by_urn: dict[str, PolicyResource] = {}
    for r in recording.resources:
        by_urn[r.urn] = PolicyResource(
            r.type, engine_props(r.inputs, recording.computed), r.urn, r.name, resource_options(r, root),
            None, None, [], {},
        )
    for r in recording.resources:
        resource = by_urn[r.urn]
        resource.parent = by_urn.get(r.parent) if r.parent else None
        resource.dependencies = [by_urn[d] for d in r.dependencies if d in by_urn]
        resource.property_dependencies = {
            k: [by_urn[d] for d in urns if d in by_urn] for k, urns in r.property_dependencies.items()
        }
    return list(by_urn.values())


def plan_outputs(value: Any) -> Any:
    """Stack outputs for plan-only rules: secrets as `pulumi_policy.Secret`, `Unknown` as the unknown sentinel.

    Values the mocks fabricate stay as recorded, so a key that leaks into a plain output is recognised.
    """
    if isinstance(value, Secret):
        return PolicySecret(plan_outputs(value.value))
    if isinstance(value, Unknown):
        return UNKNOWN_STRING_VALUE
    if isinstance(value, dict):
        return {k: plan_outputs(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plan_outputs(v) for v in value]
    return value


def plan_resources(recording: Recording) -> list[PlanResource]:
    """The recorded resources for plan-only rules on resources: known ids and names, secrets wrapped."""
    return [
        PlanResource(
            urn=r.urn, type=r.type, name=r.name, parent=r.parent, custom=r.custom, id=r.id,
            inputs=plan_outputs(r.inputs), dependencies=tuple(r.dependencies),
            property_dependencies={k: tuple(v) for k, v in r.property_dependencies.items()},
        )
        for r in recording.resources
    ]


# -- evaluation ------------------------------------------------------------------------------------------
def _reported_level(level: str) -> str:
    return EnforcementLevel.MANDATORY.value if level == EnforcementLevel.REMEDIATE.value else level


def evaluate(
    recording: Recording,
    config: Mapping[str, Any] | None = None,
    rules: Sequence[Rule] | None = None,
) -> list[Violation]:
    """Violations of `rules` (default: the whole pack and the plan-only rules) under pack `config`."""
    rules = list(rules) if rules is not None else ALL_RULES
    settings = reconcile(rules, config or {}, source="pack config")
    evaluation = _Evaluation(recording)
    for rule in rules:
        level, rule_config = settings[rule.name]
        if level != EnforcementLevel.DISABLED.value:
            evaluation.run(rule, _reported_level(level), rule_config)
    return evaluation.violations


class _Evaluation:
    """One run of the pack over a recording, as the analyzer server runs it (properties built once)."""

    def __init__(self, recording: Recording) -> None:
        self.recording = recording
        self.root = recording.stack_urn
        self.violations: list[Violation] = []
        self._props: dict[str, Mapping[str, Any]] = {}
        self._resources: list[PolicyResource] | None = None

    def props(self, resource: RecordedResource) -> Mapping[str, Any]:
        if resource.urn not in self._props:
            self._props[resource.urn] = engine_props(resource.inputs, self.recording.computed)
        return self._props[resource.urn]

    def resources(self) -> list[PolicyResource]:
        if self._resources is None:
            self._resources = policy_resources(self.recording)
        return self._resources

    def run(self, rule: Rule, level: str, rule_config: dict[str, Any]) -> None:
        if isinstance(rule, ResourceValidationPolicy):
            for r in self.recording.resources:
                args = ResourceValidationArgs(
                    r.type, self.props(r), r.urn, r.name, resource_options(r, self.root), None, dict(rule_config), {}
                )
                # A resource policy's violations always belong to the resource validated (the engine ignores urn).
                self._call(rule, level, args, r.urn)
        elif isinstance(rule, StackValidationPolicy):
            self._call(rule, level, StackValidationArgs(self.resources(), dict(rule_config), {}), None)
        elif isinstance(rule, PlanOnlyRule):
            plan_rule = rule

            def report(message: str, urn: str | None = None) -> None:
                self._add(plan_rule, level, message, urn)

            if plan_rule.reads == "resources":
                plan_rule.validate(plan_resources(self.recording), report)
            else:
                plan_rule.validate(plan_outputs(self.recording.outputs), report)
        else:
            raise TypeError(f"{rule!r} is not a resource, stack or plan-only rule")

    def _add(self, rule: Rule, level: str, message: str, urn: str | None) -> None:
        self.violations.append(Violation(rule.name, level, urn or None, message))

    def _call(self, rule: Policy, level: str, args: Any, resource_urn: str | None) -> None:
        def report(message: str, urn: str | None = None) -> None:
            self._add(rule, level, message, resource_urn or urn)

        try:
            result = rule.validate(args, report)  # type: ignore[attr-defined]
            if inspect.isawaitable(result):
                asyncio.run(_awaited(result))
        except UnknownValueError as error:
            # The analyzer server reports this as advisory, whatever the policy's level.
            self._add(
                rule,
                EnforcementLevel.ADVISORY.value,
                f"can't run policy '{rule.name}' from policy pack '{PACK_NAME}' during preview: {error.message}",
                resource_urn,
            )
        except _NotApplicableError:
            pass


async def _awaited(awaitable: Any) -> Any:
    return await awaitable


def guardrail_violations(recording: Recording) -> list[Violation]:
    """The pack's violations under the stack's level set; an invalid or missing configuration is one violation."""
    try:
        return evaluate(recording, load_pack_config(recording.stack, recording.environment))
    except GuardrailConfigError as error:
        return [Violation("guardrails-config", "mandatory", None, f"{error}; fix the file (see policies/rules/)")]


def levels_used(recording: Recording) -> str:
    """The plan's note on which level set the guardrails ran under."""
    try:
        return level_set(recording.stack, recording.environment).describe()
    except GuardrailConfigError as error:
        return f"guardrail levels: none ({error})"


# -- documentation ---------------------------------------------------------------------------------------
def levels_by_stack(stacks: Sequence[str]) -> dict[str, dict[str, str]]:
    rules = ALL_RULES
    per_stack = {s: reconcile(rules, load_pack_config(s), s) for s in stacks}
    return {rule.name: {s: per_stack[s][rule.name][0] for s in stacks} for rule in rules}


def markdown_table(stacks: Sequence[str]) -> str:
    levels = levels_by_stack(stacks)
    header = "| rule | " + " | ".join(stacks) + " | checks | remediation |"
    lines = [header, "|" + "---|" * (len(stacks) + 3)]
    for rule in ALL_RULES:
        cells = [f"`{rule.name}`", *(levels[rule.name][s] for s in stacks), rule.description,
                 rule.remediation_steps or ""]
        escaped = (c.replace("|", "\\|").replace("<", "&lt;").replace(">", "&gt;") for c in cells)
        lines.append("| " + " | ".join(escaped) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.guardrails", description="The guardrail pack's rules.")
    parser.add_argument("--markdown", action="store_true", help="print the rules as a Markdown table")
    parser.add_argument(
        "--config-for", metavar="STACK", help="print the pack config file for STACK (for --policy-pack-config)"
    )
    parser.add_argument("--project-dir", type=Path, default=PROJECT_DIR, help="folder of Pulumi.<stack>.yaml")
    args = parser.parse_args(argv)
    if args.config_for:
        try:
            environment = stack_environment(args.config_for, args.project_dir)
            chosen = level_set(args.config_for, environment)
            load_pack_config(args.config_for, environment)
        except GuardrailConfigError as error:
            print(f"error: {error}", file=sys.stderr)
            return 2
        print(shown_path(chosen.path))
        return 0
    stacks = known_stacks()
    if args.markdown:
        print(markdown_table(stacks))
        return 0
    for name, levels in levels_by_stack(stacks).items():
        print(f"{name:36} " + "  ".join(f"{s}={levels[s]:9}" for s in stacks))
    return 0


if __name__ == "__main__":
    sys.exit(main())
