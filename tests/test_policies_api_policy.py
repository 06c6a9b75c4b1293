"""GatewayPolicies, the API policy: every OpenAI API includes the same raw-XML fragments, each in its section, after
the request is resolved and around the parent scopes' policies, and waits for the fragments it includes.
"""

from __future__ import annotations

import pytest

from components.gateway_fragments import FRAGMENTS
from tests.policies_support import API, API_POLICY, FRAGMENT, KEY_APIS, document
from tools.harness import Recording


def test_every_fragment_is_raw_xml_with_a_fragment_root(stack: Recording) -> None:
    fragments = stack.of_type(FRAGMENT)
    entra = {FRAGMENTS.entra_token, FRAGMENTS.entra_consumers}
    expected = set(vars(FRAGMENTS).values()) - (entra if stack.stack == "dev" else set())
    assert {f.get("id") for f in fragments} >= expected
    for f in fragments:
        assert f.get("format") == "rawxml"
        assert document(f).tag == "fragment"


@pytest.mark.parametrize(
    ("section", "fragment_ids"),
    [
        (
            "inbound",
            [
                FRAGMENTS.request,
                FRAGMENTS.consumer_required,
                FRAGMENTS.adaptive_token_limit,
                FRAGMENTS.token_usage_metrics,
                FRAGMENTS.load_balancing,
            ],
        ),
        ("backend", [FRAGMENTS.stored_response, FRAGMENTS.spillover_retry]),
        ("outbound", [FRAGMENTS.response, FRAGMENTS.usage_record]),
        ("on-error", [FRAGMENTS.errors]),
    ],
)
@pytest.mark.parametrize("surface", sorted(KEY_APIS))
def test_api_policy_includes_each_fragment_in_its_section(
    dev: Recording, section: str, fragment_ids: list, surface: str
) -> None:
    policy = document(dev.one(API_POLICY, f"{KEY_APIS[surface]}-policy"))
    included = [e.get("fragment-id") for e in policy.find(section).iter("include-fragment")]
    assert included == fragment_ids


def test_every_api_carries_the_same_policy_but_for_its_surface_and_path(stack: Recording) -> None:
    dated, v1 = (stack.one(API_POLICY, f"{KEY_APIS[s]}-policy").get("value") for s in ("dated", "v1"))
    assert '<set-variable name="openai-api" value="dated" />' in dated
    assert v1 == dated.replace('value="dated"', 'value="v1"').replace('value="/openai"', 'value="/openai/v1"')


def test_api_policy_resolves_the_request_before_the_product_policy_runs(stack: Recording) -> None:
    for resource in stack.of_type(API_POLICY):
        api = next(a for a in stack.of_type(API) if a.urn == resource.parent)
        inbound = list(document(resource).find("inbound"))
        if api.get("subscriptionRequired") is False:  # Entra ID callers: their token check comes first
            assert inbound.pop(2).get("fragment-id") == FRAGMENTS.entra_token
        assert [e.tag for e in inbound][:4] == ["set-variable", "set-variable", "include-fragment", "base"]
        assert inbound[0].get("name") == "openai-api"
        assert (inbound[1].get("name"), inbound[1].get("value")) == ("openai-api-path", "/" + api.get("path"))
        assert inbound[2].get("fragment-id") == FRAGMENTS.request


def test_api_policy_inherits_the_parent_scopes_except_in_backend(stack: Recording) -> None:
    for resource in stack.of_type(API_POLICY):
        policy = document(resource)
        assert policy.find("inbound").find("base") is not None
        for section in ("outbound", "on-error"):
            assert policy.find(section)[0].tag == "base"
        # The spill-over fragment forwards the request; <base /> would forward it a second time.
        assert policy.find("backend").find("base") is None


def test_api_policy_waits_for_its_fragments(stack: Recording) -> None:
    for policy in stack.of_type("azure-native:apimanagement:ApiPolicy"):
        for f in stack.of_type(FRAGMENT):
            if f.get("id") not in (FRAGMENTS.entra_token, FRAGMENTS.entra_consumers) or "entra" in policy.name:
                assert stack.depends_on(policy, f)
