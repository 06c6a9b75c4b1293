"""Helpers for the guardrail tests: one rule evaluated on a recorded stack, and recordings changed to break it.

Each rule test changes a copy of a real recording (never the session's `dev`/`prod` recordings themselves) and
expects the rule to fail it with its level from the stack's pack config and a message naming the resource.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

from policies import rules
from policies.rules import ALL_RULES
from tests.support import DELETE
from tools.guardrails import evaluate, load_pack_config
from tools.harness import RecordedResource, Recording, Secret
from tools.violations import Violation

RULES = {rule.name: rule for rule in ALL_RULES}
PROD_ONLY = ("prod-zone-redundancy", "prod-waf-prevention", "prod-protect-stateful", "prod-no-simulated-ptu")


def check(recording: Recording, rule: str, config: dict[str, Any] | None = None) -> list[Violation]:
    """The violations of one rule, under the stack's pack config unless `config` is given."""
    pack_config = load_pack_config(recording.stack) if config is None else config
    return evaluate(recording, pack_config, [RULES[rule]])


def find(recording: Recording, token: str, name: str | None = None) -> RecordedResource:
    """The resource of type `token` named `name` (the first of its type when no name is given)."""
    found = [r for r in recording.of_type(token) if name is None or r.name == name]
    assert found, f"no {token} {name or ''} in stack {recording.stack}"
    return found[0]


def set_path(inputs: dict[str, Any], path: str, value: Any) -> None:
    """Set (or delete, with DELETE) a dotted path of recorded inputs; secrets along the way are entered."""
    *parents, last = path.split(".")
    node: Any = inputs
    for part in parents:
        node = node.value if isinstance(node, Secret) else node
        node = node[int(part)] if part.isdigit() else node.setdefault(part, {})
    node = node.value if isinstance(node, Secret) else node
    key: Any = int(last) if last.isdigit() else last
    if value is DELETE:
        del node[key]
    else:
        node[key] = value


def changed(recording: Recording, token: str, name: str | None = None, **paths: Any) -> Recording:
    """A deep copy of the recording with inputs of one resource changed (`a__b` stands for `a.b`)."""
    copied = copy.deepcopy(recording)
    resource = find(copied, token, name)
    for path, value in paths.items():
        set_path(resource.inputs, path.replace("__", "."), value)
    return copied


def edited(recording: Recording, edit: Callable[[Recording], None]) -> Recording:
    copied = copy.deepcopy(recording)
    edit(copied)
    return copied


def without(recording: Recording, token: str, name: str | None = None) -> Recording:
    """A deep copy without one resource and its descendants."""
    copied = copy.deepcopy(recording)
    gone = find(copied, token, name)
    doomed = {gone.urn, *(r.urn for r in copied.descendants(gone))}
    copied.resources = [r for r in copied.resources if r.urn not in doomed]
    return copied


def with_key_vault(recording: Recording, **properties: Any) -> Recording:
    """A copy with a locked-down Key Vault and `properties` (no stack declares one since Content Safety is keyless)."""
    copied = copy.deepcopy(recording)
    vault_properties: dict[str, Any] = {
        "tenantId": "11111111-2222-4333-8444-555555555555",
        "sku": {"family": "A", "name": "standard"},
        "enableRbacAuthorization": True,
        "publicNetworkAccess": "Disabled",
        "networkAcls": {"defaultAction": "Deny", "bypass": "AzureServices", "ipRules": [], "virtualNetworkRules": []},
        "enableSoftDelete": True,
        "softDeleteRetentionInDays": 90,
        "enablePurgeProtection": True,
        **properties,
    }
    copied.resources.append(
        RecordedResource(
            urn=f"urn:pulumi:{recording.stack}::genai-gateway::{rules.KEY_VAULT}::test-vault",
            type=rules.KEY_VAULT,
            name="test-vault",
            parent=None,
            custom=True,
            inputs={"vaultName": "kv-test", "resourceGroupName": "rg", "location": "swedencentral",
                    "properties": vault_properties},
            dependencies=[],
            property_dependencies={},
            protect=True,
        )
    )
    return copied


def assert_fails(violations: list[Violation], rule: str, level: str, phrase: str, resource: str | None = None) -> None:
    matching = [v for v in violations if v.policy == rule and phrase in v.message]
    assert matching, f"no {rule} violation saying {phrase!r}; got {[v.message for v in violations]}"
    assert {v.level for v in matching} == {level}
    if resource is not None:
        assert all(resource in v.message for v in matching), "the message names the resource"
        assert all(v.urn and v.urn.endswith(f"::{resource}") for v in matching), "the violation points at it"
