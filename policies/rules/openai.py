"""Azure OpenAI model deployments: no retired model version, notice of what retires soon, and a private endpoint
created only once the account has applied its deployments.

The dates are data, not code: `policies/data/model-lifecycle.json` lists model versions with their
deprecation (no longer offered to new customers) and retirement (deployments stop answering) dates per
deployment type, each with its source and the date it was read. The file is found next to the pack's own
modules, so the pack works the same from the project, from `pulumi preview --policy-pack policies` and once
the CLI has packed `policies/` for publishing.

Both rules take the date they judge by as configuration (`asOf`, an ISO date) so tests are stable; without
it they use today's date, as a plan or a preview should.
"""

from __future__ import annotations

import datetime
import functools
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pulumi_policy import PolicyConfigSchema, PolicyResource, ResourceValidationArgs

from .base import (
    ADVISORY,
    COGNITIVE_ACCOUNT,
    DEPLOYMENT,
    MANDATORY,
    PRIVATE_ENDPOINT,
    Stack,
    get,
    label,
    resource_policy,
    stack_policy,
    text,
)
from .network import _targets

LIFECYCLE_FILE = Path(__file__).resolve().parent.parent / "data" / "model-lifecycle.json"
# How the file is named in messages: relative to the pack, wherever the pack lives.
LIFECYCLE_FILE_LABEL = "policies/data/model-lifecycle.json"
ANY_TYPE = "*"
DEFAULT_WARN_DAYS = 90


@dataclass(frozen=True)
class Dates:
    deprecation: datetime.date | None
    retirement: datetime.date | None


@dataclass(frozen=True)
class ModelVersion:
    model: str
    version: str
    lifecycle: str
    by_type: Mapping[str, Dates]
    source: str

    def dates(self, deployment_type: str) -> Dates:
        for key, dates in self.by_type.items():
            if key.lower() == deployment_type.lower():
                return dates
        return self.by_type.get(ANY_TYPE, Dates(None, None))


class LifecycleFileError(ValueError):
    """The lifecycle file is missing or malformed."""


def _date(value: Any, where: str) -> datetime.date | None:
    if value is None:
        return None
    try:
        return datetime.date.fromisoformat(str(value))
    except ValueError:
        raise LifecycleFileError(f"{LIFECYCLE_FILE_LABEL}: {where}: {value!r} is not an ISO date") from None


def parse_lifecycle(document: Mapping[str, Any]) -> dict[tuple[str, str], ModelVersion]:
    """(model name, version) -> its lifecycle; a malformed entry is an error naming it."""
    sources = document.get("sources")
    if not isinstance(sources, Mapping):
        raise LifecycleFileError(f"{LIFECYCLE_FILE_LABEL}: 'sources' must map source names to their references")
    table: dict[tuple[str, str], ModelVersion] = {}
    for i, entry in enumerate(document.get("models") or []):
        where = f"models[{i}]"
        model, version = entry.get("model"), entry.get("version")
        if not isinstance(model, str) or not isinstance(version, str) or not model or not version:
            raise LifecycleFileError(f"{LIFECYCLE_FILE_LABEL}: {where}: needs a model name and a version string")
        if entry.get("source") not in sources:
            raise LifecycleFileError(f"{LIFECYCLE_FILE_LABEL}: {where}: source {entry.get('source')!r} is not listed")
        _date(entry.get("read"), f"{where}.read")
        types = entry.get("deploymentTypes")
        if not isinstance(types, Mapping) or not types:
            raise LifecycleFileError(f"{LIFECYCLE_FILE_LABEL}: {where}: deploymentTypes must map a type (or '*')")
        by_type = {
            name: Dates(
                _date(dates.get("deprecation"), f"{where}.{name}.deprecation"),
                _date(dates.get("retirement"), f"{where}.{name}.retirement"),
            )
            for name, dates in types.items()
        }
        key = (model.lower(), version.lower())
        if key in table:
            raise LifecycleFileError(f"{LIFECYCLE_FILE_LABEL}: {where}: {model} {version} is listed twice")
        table[key] = ModelVersion(model, version, str(entry.get("lifecycle") or ""), by_type, entry["source"])
    return table


@functools.cache
def lifecycle_table(path: Path = LIFECYCLE_FILE) -> dict[tuple[str, str], ModelVersion]:
    try:
        document = json.loads(path.read_text())
    except (OSError, ValueError) as error:
        raise LifecycleFileError(f"{LIFECYCLE_FILE_LABEL}: can't be read: {error}") from None
    return parse_lifecycle(document)


def as_of(cfg: Mapping[str, Any]) -> datetime.date:
    """The date to judge by: the `asOf` setting, or today (UTC)."""
    value = text(cfg.get("asOf"))
    if value:
        try:
            return datetime.date.fromisoformat(value)
        except ValueError:
            raise LifecycleFileError(f"asOf {value!r} is not an ISO date (YYYY-MM-DD)") from None
    return datetime.datetime.now(datetime.UTC).date()


def _deployed(args: ResourceValidationArgs) -> tuple[str, str, str]:
    props = args.props
    return (
        text(get(props, "properties.model.name")),
        text(get(props, "properties.model.version")),
        text(get(props, "sku.name")),
    )


_AS_OF = {
    "type": "string",
    "default": "",
    "description": "The date (YYYY-MM-DD) to judge by; empty: today. Tests set it so they do not age.",
}


@resource_policy(
    "model-retired",
    "No model deployment uses a model version Azure has retired for its deployment type: a retired deployment "
    "answers every request with an error.",
    (DEPLOYMENT,),
    f"Move the deployment to a current model version (openai.accounts[].deployments[].model in the stack "
    f"config); {LIFECYCLE_FILE_LABEL} lists each version's retirement date and its source.",
    level=MANDATORY,
    schema=PolicyConfigSchema({"asOf": _AS_OF}),
)
def model_retired(args: ResourceValidationArgs, cfg: dict[str, Any]) -> Iterator[str]:
    name, version, sku = _deployed(args)
    try:
        entry, today = lifecycle_table().get((name.lower(), version.lower())), as_of(cfg)
    except LifecycleFileError as error:
        yield f"{label(args.resource_type, args.name)}: its model lifecycle can't be checked: {error}."
        return
    if entry is None:
        return
    retirement = entry.dates(sku).retirement
    if retirement is not None and retirement <= today:
        yield (f"{label(args.resource_type, args.name)} deploys {name} {version} ({sku}), retired on "
               f"{retirement.isoformat()} ({LIFECYCLE_FILE_LABEL}, source '{entry.source}'): move it to a current "
               "model version.")


@resource_policy(
    "model-lifecycle",
    "Every model deployment uses a version the lifecycle table knows, that is still offered to new customers and "
    "that does not retire within the notice period.",
    (DEPLOYMENT,),
    f"Plan the move to a newer model version before the retirement date; for a version the table does not know, "
    f"add it to {LIFECYCLE_FILE_LABEL} with its dates, the source and the date you read it.",
    level=ADVISORY,
    schema=PolicyConfigSchema(
        {
            "asOf": _AS_OF,
            "warnDays": {
                "type": "integer",
                "minimum": 0,
                "default": DEFAULT_WARN_DAYS,
                "description": "Report a deployment whose model version retires within this many days.",
            },
        }
    ),
)
def model_lifecycle(args: ResourceValidationArgs, cfg: dict[str, Any]) -> Iterator[str]:
    name, version, sku = _deployed(args)
    what = label(args.resource_type, args.name)
    try:
        entry, today = lifecycle_table().get((name.lower(), version.lower())), as_of(cfg)
    except LifecycleFileError as error:
        yield f"{what}: its model lifecycle can't be checked: {error}."
        return
    if entry is None:
        yield (f"{what} deploys {name} {version}, which {LIFECYCLE_FILE_LABEL} does not list: add the version with "
               "its deprecation and retirement dates per deployment type, the source and the date read.")
        return
    dates = entry.dates(sku)
    if dates.retirement is not None and dates.retirement <= today:
        return  # model-retired reports it
    if dates.retirement is not None and (dates.retirement - today).days <= int(cfg["warnDays"]):
        yield (f"{what} deploys {name} {version} ({sku}), which retires on {dates.retirement.isoformat()}, in "
               f"{(dates.retirement - today).days} day(s): move it to a newer version before then.")
    if (dates.deprecation is not None and dates.deprecation <= today) or entry.lifecycle.lower() == "deprecated":
        since = f" since {dates.deprecation.isoformat()}" if dates.deprecation else ""
        yield (f"{what} deploys {name} {version}, deprecated{since}: Azure no longer offers it to new customers, "
               "so a subscription that never used it may not be able to create it.")


@stack_policy(
    "private-endpoint-after-deployments",
    "A Cognitive Services account's private endpoint is created after its model deployments: Azure refuses it "
    "while the account still applies a deployment (AccountProvisioningStateInvalid).",
    "Create the account's deployments one after another and give its private endpoint depends_on the last one "
    "(components/private_openai.py passes it to components/private_link.py private_endpoint). Sources: "
    "hashicorp/terraform-provider-azurerm#31712, Azure/bicep-registry-modules#5957.",
)
def private_endpoint_after_deployments(stack: Stack, cfg: dict[str, Any]) -> Iterator[tuple[str, str | None]]:
    deployments = stack.of_type(DEPLOYMENT)
    for account in stack.of_type(COGNITIVE_ACCOUNT):
        own = [d for d in deployments if Stack.linked(d, "accountName", account, "accountName")]
        if not own:
            continue
        for pe in stack.of_type(PRIVATE_ENDPOINT):
            if not _targets(pe, account):
                continue
            waited = _waits_for(pe)
            missing = sorted(d.name for d in own if d not in waited)
            if missing:
                yield (f"{label(pe.resource_type, pe.name)} targets {label(account.resource_type, account.name)} but "
                       f"does not wait for its deployment(s) {', '.join(missing)}: Azure refuses a private endpoint "
                       "while the account applies a deployment; add the last deployment to its depends_on.", pe.urn)


def _waits_for(resource: PolicyResource) -> list[PolicyResource]:
    """Every resource `resource` depends on, directly or transitively."""
    seen: list[PolicyResource] = []
    todo = list(resource.dependencies)
    while todo:
        current = todo.pop()
        if any(current is s for s in seen):
            continue
        seen.append(current)
        todo.extend(current.dependencies)
    return seen

