"""Guardrails, the offline evaluation (tools/guardrails.py): rules see the recorded resources the way the Pulumi
engine hands them over, in a first preview without ids as well as with them.

Inputs in camelCase with secrets unwrapped and unknowns guarded, parents, dependencies and options, and a value
unknown during preview reported as advisory, as the engine reports it.
"""

from __future__ import annotations

import copy
import re
from typing import Any

import pytest
from pulumi_policy.proxy import UnknownValueError

from policies import rules
from tests.guardrail_support import DELETE, assert_fails, changed, check, find, without
from tools.guardrails import engine_props, guardrail_violations, policy_resources
from tools.harness import Recording, Secret, Unknown


def test_validators_see_camel_case_inputs_with_secrets_unwrapped_and_unknowns_guarded() -> None:
    props = engine_props(
        {
            "properties": {"disableLocalAuth": True},
            "sku": {"capacity": 2},
            "key": Secret("s3cr3t"),
            "later": Unknown(),
            "fabricated": "id-123",
            "list": [1, Secret({"a": "b"})],
        },
        computed={"id-123"},
    )
    assert props["properties"]["disableLocalAuth"] is True
    assert props["sku"]["capacity"] == 2.0 and isinstance(props["sku"]["capacity"], float)
    assert props["key"] == "s3cr3t"  # the analyzer server drops the secret marker
    assert props["list"][1]["a"] == "b"
    for unknown in ("later", "fabricated"):
        with pytest.raises(UnknownValueError):
            props[unknown]


def test_stack_policies_see_parents_dependencies_and_options(prod: Recording) -> None:
    resources = {r.urn: r for r in policy_resources(prod)}
    recorded = find(prod, rules.ZONE_GROUP, "openai-ptu-1-pe-dns")
    zone_group = resources[recorded.urn]
    assert recorded.parent is not None and zone_group.parent is resources[recorded.parent]
    assert zone_group.parent.resource_type == rules.PRIVATE_ENDPOINT
    assert {d.urn for d in zone_group.dependencies} == {d for d in recorded.dependencies if d in resources}
    assert zone_group.property_dependencies["privateEndpointName"] == [zone_group.parent]
    apim = resources[find(prod, rules.APIM).urn]
    assert apim.parent is not None and apim.opts.parent == apim.parent.urn  # the baseline component
    assert apim.opts.protect is True


def as_in_a_first_preview(recording: Recording) -> Recording:
    """The stack as `pulumi preview` of a new stack sees it: ARM ids and endpoints are not known yet."""
    derived = re.compile(r"^/subscriptions/[^/]+/resourceGroups/|\.(openai|cognitiveservices)\.azure\.com")

    def blank(value: Any) -> Any:
        if isinstance(value, Secret):
            return Secret(blank(value.value))
        if isinstance(value, dict):
            return {k: blank(v) for k, v in value.items()}
        if isinstance(value, list):
            return [blank(v) for v in value]
        return Unknown() if isinstance(value, str) and derived.search(value) else value

    copied = copy.deepcopy(recording)
    for resource in copied.resources:
        resource.inputs = blank(resource.inputs)
    return copied


def test_stack_policies_link_resources_without_ids_as_in_a_first_preview(stack: Recording) -> None:
    # Private endpoint -> account, policy -> API/product, subnet -> NSG, backend -> account: followed through
    # parents and property dependencies, so every rule still runs and finds the same as on known ids.
    preview = as_in_a_first_preview(stack)
    endpoint = find(preview, rules.PRIVATE_ENDPOINT, "openai-ptu-1-pe")
    assert isinstance(endpoint.get("privateLinkServiceConnections.0.privateLinkServiceId"), Unknown)
    assert guardrail_violations(preview) == guardrail_violations(stack)
    broken = changed(preview, rules.BACKEND, "policies-openai-ptu-1", circuitBreaker=DELETE)
    assert_fails(
        check(broken, "backend-circuit-breaker"),
        "backend-circuit-breaker",
        "mandatory",
        "has no circuit breaker",
        "policies-openai-ptu-1",
    )
    broken = without(preview, rules.ZONE_GROUP, "openai-ptu-1-pe-dns")
    assert_fails(
        check(broken, "openai-private-endpoint"),
        "openai-private-endpoint",
        "mandatory",
        "has no DNS zone group",
        "openai-ptu-1",
    )


def test_a_value_unknown_during_preview_is_reported_as_advisory(dev: Recording) -> None:
    unknown_role = changed(dev, rules.ROLE_ASSIGNMENT, roleDefinitionId=Unknown())
    [violation] = check(unknown_role, "role-assignment-least-privilege")
    assert violation.level == "advisory" and "can't run policy 'role-assignment-least-privilege'" in violation.message


def test_rules_see_the_stack_as_parent_of_top_level_resources_and_real_parents_below(prod: Recording) -> None:
    from tools.guardrails import policy_resources

    resources = {r.urn: r for r in policy_resources(prod)}
    component = prod.one("genai-gateway:baseline:ApimBaseline")
    apim = prod.one("azure-native:apimanagement:ApiManagementService")
    assert resources[component.urn].opts.parent == prod.stack_urn
    assert resources[apim.urn].opts.parent == component.urn
    assert resources[apim.urn].parent is resources[component.urn]
    # URNs carry the parent's type chain, as the engine builds them.
    assert (
        apim.urn.split("::")[2] == "genai-gateway:baseline:ApimBaseline$azure-native:apimanagement:ApiManagementService"
    )
