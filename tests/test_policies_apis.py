"""GatewayPolicies, the OpenAI APIs: imported from pinned GA specifications, key callers on APIs that always require
a subscription key in the api-key header, Entra ID callers on their own APIs that never do, metrics to
Application Insights.
"""

from __future__ import annotations

import re

import pytest

from components.gateway_fragments import FRAGMENTS
from components.openai_api import OPENAI_SPEC_URL, V1_SPEC_URL
from tests.policies_support import API, API_POLICY, KEY_APIS, document
from tools.harness import Recording


def test_api_is_imported_from_a_pinned_ga_spec(stack: Recording) -> None:
    for api in stack.of_type(API):
        assert api.get("format") == "openapi+json-link"
        # The v1 APIs from the v1 specification, the dated ones from the dated one.
        assert api.get("value") == (V1_SPEC_URL if api.get("path").endswith("/v1") else OPENAI_SPEC_URL)
    assert re.search(r"/azure-rest-api-specs/[0-9a-f]{40}/", OPENAI_SPEC_URL)
    assert "/inference/stable/2024-10-21/" in OPENAI_SPEC_URL


@pytest.mark.parametrize(("surface", "path"), [("dated", "openai"), ("v1", "openai/v1")])
def test_api_accepts_the_subscription_key_in_the_api_key_header(stack: Recording, surface: str, path: str) -> None:
    api = stack.one(API, KEY_APIS[surface])
    assert (api.get("path"), api.get("protocols")) == (path, ["https"])
    assert api.get("subscriptionKeyParameterNames.header") == "api-key"
    assert api.get("subscriptionKeyParameterNames.query") == "api-key"


@pytest.mark.parametrize("surface", sorted(KEY_APIS))
def test_key_callers_have_an_api_that_always_requires_a_key(stack: Recording, surface: str) -> None:
    # Whatever a key sent to a subscription-optional API means, key callers never call one.
    assert stack.one(API, KEY_APIS[surface]).get("subscriptionRequired") is True
    policy = document(stack.one(API_POLICY, f"{KEY_APIS[surface]}-policy"))
    included = [e.get("fragment-id") for e in policy.iter("include-fragment")]
    assert FRAGMENTS.entra_consumers not in included and FRAGMENTS.entra_token not in included


@pytest.mark.parametrize(("entra", "key", "path"), [
    ("policies-entra-api", "policies-api", "entra/openai"),
    ("policies-entra-api-v1", "policies-api-v1", "entra/openai/v1"),
])
def test_entra_callers_have_their_own_api_that_never_requires_a_key(
    dev: Recording, prod: Recording, entra: str, key: str, path: str
) -> None:
    assert {a.name for a in dev.of_type(API)} == set(KEY_APIS.values())
    api = prod.one(API, entra)
    assert (api.get("path"), api.get("subscriptionRequired")) == (path, False)
    policy = document(prod.one(API_POLICY, f"{entra}-policy"))
    key_policy = document(prod.one(API_POLICY, f"{key}-policy"))
    included = [e.get("fragment-id") for e in policy.iter("include-fragment")]
    key_included = [e.get("fragment-id") for e in key_policy.iter("include-fragment")]
    # The same fragments (and so the same counters) as the key API, plus the token check before the request
    # and the consumer check right after it.
    assert [f for f in included if f not in (FRAGMENTS.entra_token, FRAGMENTS.entra_consumers)] == key_included
    assert included.index(FRAGMENTS.entra_token) == included.index(FRAGMENTS.request) - 1 == 0
    assert included.index(FRAGMENTS.entra_consumers) == included.index(FRAGMENTS.request) + 1
    # Products (and so subscriptions) belong to the key APIs only.
    links = {lk.get("apiId") for lk in prod.of_type("azure-native:apimanagement:ProductApiLink")}
    assert links == {prod.one(API, name).id for name in KEY_APIS.values()}


def test_api_diagnostic_sends_metrics_to_application_insights(stack: Recording) -> None:
    logger = stack.one("azure-native:apimanagement:Logger", "gateway-appinsights-logger")
    for diagnostic in stack.of_type("azure-native:apimanagement:ApiDiagnostic"):
        assert diagnostic.get("loggerId") == logger.id
        assert diagnostic.get("metrics") is True
        assert diagnostic.get("frontend.request.body.bytes") == 0
