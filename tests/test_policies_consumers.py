"""GatewayPolicies, consumers: every consumer is a published product requiring a subscription on both key APIs, a
request without a consumer is refused, keys are exported only as secrets, and app teams get their base URLs.
"""

from __future__ import annotations

from components.gateway_fragments import FRAGMENTS
from tests.policies_support import API, KEY_APIS, PRODUCT, fragment_xml
from tools.harness import Recording, Secret


def test_requests_without_a_consumer_are_refused(stack: Recording) -> None:
    when = fragment_xml(stack, FRAGMENTS.consumer_required).find("choose/when")
    # The all-access and API-scoped subscriptions skip product policies, which set consumer-id.
    assert when.get("condition") == '@(!context.Variables.ContainsKey("consumer-id"))'
    assert when.find("return-response/set-status").get("code") == "403"


def test_every_consumer_has_a_published_product_requiring_a_subscription(stack: Recording) -> None:
    consumers = stack.outputs["consumers"]
    products = {p.get("productId"): p for p in stack.of_type(PRODUCT)}
    assert set(products) == {c["productId"] for c in consumers.values()}
    for product in products.values():
        assert product.get("subscriptionRequired") is True
        assert product.get("approvalRequired") is False
        assert product.get("state") == "published"


def test_every_product_is_linked_to_both_key_apis_and_has_a_subscription(stack: Recording) -> None:
    apis = sorted(stack.one(API, name).id for name in KEY_APIS.values())
    for product in stack.of_type(PRODUCT):
        links = [lk for lk in stack.of_type("azure-native:apimanagement:ProductApiLink") if lk.parent == product.urn]
        assert sorted(lk.get("apiId") for lk in links) == apis
        subscriptions = stack.of_type("azure-native:apimanagement:Subscription")
        [subscription] = [s for s in subscriptions if s.parent == product.urn]
        assert subscription.get("scope") == product.id
        assert subscription.get("state") == "active"


def test_dev_has_three_team_consumers_and_prod_two_and_each_a_smoke_consumer(dev: Recording, prod: Recording) -> None:
    assert len(dev.of_type(PRODUCT)) == 3 + 1 and len(prod.of_type(PRODUCT)) == 2 + 1
    assert "consumer-smoke" in {p.get("productId") for p in dev.of_type(PRODUCT) + prod.of_type(PRODUCT)}


def test_subscription_keys_are_exported_only_as_secrets(stack: Recording) -> None:
    keys = {k: v for k, v in stack.outputs.items() if k.startswith("consumerKey-")}
    assert all(isinstance(v, Secret) for v in keys.values())
    assert set(keys) == {f"consumerKey-{name}" for name in stack.outputs["consumers"]}
    plain = repr({k: v for k, v in stack.outputs.items() if k not in keys})
    for key in keys.values():
        assert key.value not in plain


def test_app_teams_get_the_openai_base_url_and_deployments(dev: Recording, prod: Recording) -> None:
    assert dev.outputs["openaiBaseUrl"] == dev.outputs["gatewayUrl"] + "/openai"
    assert prod.outputs["openaiBaseUrl"] == "https://genai.contoso.example/openai"
    # The v1 base URL as OpenAI(base_url=...) takes it: the SDK appends "chat/completions" and the like.
    assert dev.outputs["openaiV1BaseUrl"] == dev.outputs["gatewayUrl"] + "/openai/v1/"
    assert prod.outputs["openaiV1BaseUrl"] == "https://genai.contoso.example/openai/v1/"
    assert dev.outputs["deployments"] == ["gpt-5.4", "text-embedding-3-small"]


def test_entra_callers_get_their_own_base_url(dev: Recording, prod: Recording) -> None:
    assert prod.outputs["entraOpenaiBaseUrl"] == "https://genai.contoso.example/entra/openai"
    assert prod.outputs["entraOpenaiV1BaseUrl"] == "https://genai.contoso.example/entra/openai/v1/"
    assert "entraOpenaiBaseUrl" not in dev.outputs and "entraOpenaiV1BaseUrl" not in dev.outputs
