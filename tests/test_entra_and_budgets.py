"""Entra ID callers mapped to consumers, and currency budgets turned into monthly token quotas."""

from __future__ import annotations

import math

from lxml import etree

from tests.support import DELETE, parse, problems, with_value
from tools.harness import Recording
from tools.rawxml import to_wellformed


def entra_fragment(recording: Recording) -> etree._Element:
    fragments = recording.of_type("azure-native:apimanagement:PolicyFragment")
    [found] = [f for f in fragments if f.get("id") == "entra-consumers"]
    return etree.fromstring(to_wellformed(found.get("value")).encode())


def product_limit(recording: Recording, product_id: str) -> etree._Element:
    policies = recording.of_type("azure-native:apimanagement:ProductPolicy")
    [policy] = [p for p in policies if p.get("productId") == product_id]
    return etree.fromstring(to_wellformed(policy.get("value")).encode()).find("inbound/azure-openai-token-limit")


# -- Entra ID callers ----------------------------------------------------------------------------------


def test_every_caller_of_the_entra_api_must_present_a_token_for_the_gateway(prod: Recording) -> None:
    # Unconditional: whether a key sent to a subscription-optional API is ignored or not, no token, no call.
    fragment = entra_fragment(prod)
    assert fragment[0].tag == "validate-azure-ad-token"
    token = fragment.find("validate-azure-ad-token")
    assert token.get("tenant-id") == "11111111-2222-4333-8444-555555555555"
    assert token.get("failed-validation-httpcode") == "401"
    assert [a.text for a in token.iter("audience")] == [
        "api://genai-gateway-prod",
        "2d4f6a8c-1b3e-4c5d-9e7f-a1b2c3d4e5f6",
    ]
    assert [a.text for a in token.iter("application-id")] == ["6f1c2d3e-4a5b-4c6d-8e7f-0a1b2c3d4e5f"]


def test_token_application_decides_the_consumer_and_its_limits(prod: Recording) -> None:
    consumer = entra_fragment(prod).find("choose/when")
    assert "6f1c2d3e-4a5b-4c6d-8e7f-0a1b2c3d4e5f" in consumer.get("condition")
    variables = {v.get("name"): v.get("value") for v in consumer.findall("set-variable")}
    assert variables == {"consumer-id": "customer-support", "consumer-tier": "high"}
    limit = consumer.find("azure-openai-token-limit")
    key_limit = product_limit(prod, "consumer-customer-support")
    for attribute in ("tokens-per-minute", "token-quota", "token-quota-period", "estimate-prompt-tokens"):
        assert limit.get(attribute) == key_limit.get(attribute)


def test_entra_callers_share_the_token_counter_of_their_subscription(prod: Recording) -> None:
    consumer = entra_fragment(prod).find("choose/when")
    subscription = [
        s for s in prod.of_type("azure-native:apimanagement:Subscription") if s.get("sid") == "customer-support-key"
    ]
    assert subscription and consumer.find("azure-openai-token-limit").get("counter-key") == "customer-support-key"


def test_entra_callers_get_their_consumers_allow_list(prod: Recording) -> None:
    allow = entra_fragment(prod).find("choose/when/choose/when")
    assert 'GetValueOrDefault("deployment-name", "")' in allow.get("condition")
    assert '"gpt-5.4", "text-embedding-3-small"' in allow.get("condition")
    assert allow.find("return-response/set-status").get("code") == "403"


def test_unmapped_applications_are_refused(prod: Recording) -> None:
    otherwise = entra_fragment(prod).find("choose/otherwise")
    assert otherwise.find("return-response/set-status").get("code") == "403"


def test_entra_check_runs_right_after_the_request_fragment_in_the_entra_api(prod: Recording) -> None:
    policy = prod.one("azure-native:apimanagement:ApiPolicy", "policies-entra-api-policy").get("value")
    root = etree.fromstring(to_wellformed(policy).encode())
    included = [e.get("fragment-id") for e in root.find("inbound").iter("include-fragment")]
    assert included[:2] == ["openai-request", "entra-consumers"]


def test_dev_has_no_entra_callers(dev: Recording) -> None:
    ids = {f.get("id") for f in dev.of_type("azure-native:apimanagement:PolicyFragment")}
    assert "entra-consumers" not in ids


def test_client_app_ids_need_entra_enabled(prod_config: dict) -> None:
    [line] = problems(with_value(prod_config, "entraId.enabled", False))
    assert line == (
        "genai-gateway:entraId.enabled: false: must be true: consumers customer-support list entraClientAppIds"
    )


def test_entra_needs_a_tenant(prod_config: dict) -> None:
    [line] = problems(with_value(prod_config, "entraId.tenantId", DELETE))
    assert line == "genai-gateway:entraId.tenantId: (missing): required when entraId.enabled is true"


def test_entra_needs_an_audience(prod_config: dict) -> None:
    [line] = problems(with_value(prod_config, "entraId.audiences", []))
    assert line == "genai-gateway:entraId.audiences: []: at least one audience is required when entraId.enabled is true"


def test_client_app_id_must_be_a_guid(prod_config: dict) -> None:
    [line] = problems(with_value(prod_config, "consumers.0.entraClientAppIds.0", "my-app"))
    assert line.startswith(
        "genai-gateway:consumers['customer-support'].entraClientAppIds[0]: "
        "'my-app': must be an application"
    )


def test_one_application_calls_as_one_consumer(prod_config: dict) -> None:
    config = with_value(prod_config, "consumers.1.entraClientAppIds", ["6f1c2d3e-4a5b-4c6d-8e7f-0a1b2c3d4e5f"])
    assert any("an application calls as one consumer only" in line for line in problems(config))


# -- currency budgets -----------------------------------------------------------------------------------


def test_budget_becomes_a_monthly_token_quota_by_the_documented_formula(prod: Recording) -> None:
    # 100 USD / (0.75 * 2.75 + 0.25 * 16.50 USD per million tokens): gpt-5.4 on Data Zone deployments (the
    # price table), the dearer of its models.
    blended_per_token = (0.75 * 2.75 + 0.25 * 16.50) / 1_000_000
    expected = math.floor(100 / blended_per_token)
    limit = product_limit(prod, "consumer-customer-support")
    assert (limit.get("token-quota"), limit.get("token-quota-period")) == (str(expected), "Monthly")


def test_derived_quota_is_exported_for_app_teams(prod: Recording) -> None:
    consumer = prod.outputs["consumers"]["customer-support"]
    assert consumer["budgetTokenQuota"] == consumer["tokenQuota"] == 16161616


def test_an_explicit_quota_caps_the_budget(prod_config: dict) -> None:
    config = with_value(prod_config, "consumers.0.tokenQuota", 1000)
    config = with_value(config, "consumers.0.tokenQuotaPeriod", "Monthly")
    from components.settings.gateway import effective_quota

    settings = parse(config)
    quota = effective_quota(settings.consumers[0], settings)
    assert (quota.tokens, quota.period, quota.from_budget) == (1000, "Monthly", 16161616)


def test_budget_currency_must_match_the_price_table(prod_config: dict) -> None:
    [line] = problems(with_value(prod_config, "consumers.0.monthlyBudget.currency", "EUR"))
    assert line.startswith(
        "genai-gateway:consumers['customer-support'].monthlyBudget.currency: "
        "'EUR': must be the pricing currency"
    )


def test_budget_needs_a_price_for_every_model_the_consumer_calls(prod_config: dict) -> None:
    # In a currency the price table is not in, every model needs the stack's own price.
    config = with_value(prod_config, "pricing.currency", "EUR")
    config = with_value(config, "consumers.0.monthlyBudget.currency", "EUR")
    config = with_value(config, "pricing.models", {"gpt-5.4": {"inputPerMillion": 2.5, "outputPerMillion": 15.0}})
    lines = problems(config)
    assert lines and all("no price for model 'text-embedding-3-small'" in line for line in lines)
    assert all("the price table is in USD; set genai-gateway:pricing.models.text-embedding-3-small" in line
               for line in lines)


def test_budget_needs_a_price_table(prod_config: dict) -> None:
    config = dict(prod_config)
    del config["pricing"]
    [line] = problems(config)
    assert line.startswith(
        "genai-gateway:consumers['customer-support'].monthlyBudget: 100.0: "
        "needs genai-gateway:pricing"
    )


def test_budget_quota_is_monthly(prod_config: dict) -> None:
    config = with_value(prod_config, "consumers.0.tokenQuota", 1000)
    config = with_value(config, "consumers.0.tokenQuotaPeriod", "Daily")
    [line] = problems(config)
    assert line == (
        "genai-gateway:consumers['customer-support'].tokenQuotaPeriod: 'Daily': "
        "a monthly budget needs tokenQuotaPeriod Monthly or none"
    )
