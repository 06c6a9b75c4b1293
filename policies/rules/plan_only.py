"""Rules on what pulumi-policy can't see (stack outputs), evaluated by the offline plan only."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from pulumi_policy import EnforcementLevel, ReportViolation, Secret

from .base import MANDATORY, _is_list, _is_unknown
from .references import check_references


# == plan-only rules ====================================================================================
@dataclass(frozen=True)
class PlanResource:
    """A resource as the offline plan recorded it: known ids and names, and the dependencies the engine would see."""

    urn: str
    type: str
    name: str
    parent: str | None
    custom: bool
    id: str | None
    # Inputs as the provider receives them, secrets wrapped in `pulumi_policy.Secret`.
    inputs: Mapping[str, Any]
    dependencies: Sequence[str] = ()
    property_dependencies: Mapping[str, Sequence[str]] = field(default_factory=dict)


@dataclass(frozen=True)
class PlanOnlyRule:
    """A rule on what pulumi-policy can't see; evaluated by the offline plan only.

    `reads` says what `validate(..., report_violation)` receives first:
    - "outputs": the stack outputs with secret values wrapped in `pulumi_policy.Secret` (values unknown before
      deployment as the engine's unknown sentinel): pulumi-policy's stack validation gets no outputs;
    - "resources": every recorded resource as a `PlanResource`: during a real preview the ids and names of new
      resources are unknown, so what refers to what can only be told from the plan's known values.
    """

    name: str
    description: str
    enforcement_level: EnforcementLevel
    remediation_steps: str
    validate: Callable[[Any, ReportViolation], None]
    reads: Literal["outputs", "resources"] = "outputs"


# Last word(s) of an output name that say it holds a secret ("tokens" is left out: tokensPerMinute, maxTokens).
_SECRET_WORDS = {"key", "keys", "secret", "secrets", "password", "passwords", "token", "credential", "credentials",
                 "sas", "connectionstring", "connectionstrings"}
_SECRET_PATTERNS = re.compile(
    r"AccountKey=|SharedAccessKey=|SharedAccessSignature|InstrumentationKey=|[?&]sig=|-----BEGIN [A-Z ]*PRIVATE KEY",
    re.IGNORECASE,
)


def _looks_secret(name: str) -> bool:
    """Whether an output name says it holds a secret: its last word is key, secret, password, token, ..."""
    words = re.findall(r"[A-Z]?[a-z0-9]+|[A-Z]+(?![a-z])", name)
    if not words:
        return False
    last = words[-1].lower()
    pair = "".join(w.lower() for w in words[-2:])
    return last in _SECRET_WORDS or pair in _SECRET_WORDS


def _check_outputs(outputs: Mapping[str, Any], report_violation: ReportViolation) -> None:
    secret_values: set[str] = set()

    def collect(value: Any, inside_secret: bool) -> None:
        if isinstance(value, Secret):
            collect(value.value, True)
        elif isinstance(value, Mapping):
            for v in value.values():
                collect(v, inside_secret)
        elif _is_list(value):
            for v in value:
                collect(v, inside_secret)
        elif inside_secret and isinstance(value, str) and len(value) >= 8 and not _is_unknown(value):
            secret_values.add(value)

    collect(outputs, False)

    def walk(value: Any, path: str, name: str) -> None:
        if isinstance(value, Secret):
            return
        if name and _looks_secret(name) and value not in (None, "", [], {}):
            report_violation(
                f"Stack output '{path}' is named like a secret but exported in plain text: wrap it in "
                "pulumi.Output.secret(...) (app teams read it with `pulumi stack output --show-secrets`).", None)
            return
        if isinstance(value, Mapping):
            for k, v in value.items():
                walk(v, f"{path}.{k}", str(k))
        elif _is_list(value):
            for i, v in enumerate(value):
                walk(v, f"{path}[{i}]", name)
        elif isinstance(value, str) and not _is_unknown(value) and (
            value in secret_values or _SECRET_PATTERNS.search(value)
        ):
            report_violation(
                f"Stack output '{path}' holds a secret value in plain text: export it with pulumi.Output.secret(...) "
                "or drop it from the outputs.", None)

    for key, value in outputs.items():
        walk(value, key, key)


PLAN_ONLY_RULES: list[PlanOnlyRule] = [
    PlanOnlyRule(
        name="no-secret-in-plain-output",
        description="No secret value in a plain stack output; subscription keys are exported as secrets only "
        "(checked by the offline plan: pulumi-policy does not see stack outputs).",
        enforcement_level=MANDATORY,
        remediation_steps="Export keys, connection strings and tokens with pulumi.Output.secret(...) (as "
        "the consumerKey-<name> outputs are), or leave them out of the outputs.",
        validate=_check_outputs,
    ),
    PlanOnlyRule(
        name="references-have-dependencies",
        description="Every reference from one resource to another (an ARM id, a service host name or a name in its "
        "inputs, a parent name such as serviceName or accountName, a fragment-id, backend-id, logger-id or "
        "{{named value}} in a policy document) is covered by a recorded dependency, directly or transitively, so "
        "`pulumi up` creates the target first (checked by the offline plan: in a preview the ids of new "
        "resources are unknown).",
        enforcement_level=MANDATORY,
        remediation_steps="Pass the target's output (resource.id, resource.name) instead of a plain string, or add "
        "the target to the resource's depends_on.",
        validate=check_references,
        reads="resources",
    ),
]
