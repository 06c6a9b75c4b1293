"""GatewayPolicies, token limits: each consumer's tokens per minute and quota from settings, its deployment allow-list,
and the adaptive allowance its tier draws from the gateway's global budget, with the gateway's own headers.
"""

from __future__ import annotations

import re

from components.gateway_fragments import FRAGMENTS
from tests.policies_support import document, fragment, fragment_xml
from tools.harness import Recording


def test_adaptive_allowance_is_counted_per_consumer_by_a_token_limit_policy(stack: Recording) -> None:
    xml = fragment_xml(stack, FRAGMENTS.adaptive_token_limit)
    # A token-limit policy counts a streamed request's completion itself; rate-limit-by-key's increment-count is
    # evaluated when outbound ends, before a stream's completion is known.
    assert not list(xml.iter("rate-limit-by-key"))
    limits = list(xml.iterfind("choose/when/azure-openai-token-limit"))
    assert len(limits) == 2
    for limit in limits:
        assert limit.get("counter-key") == '@("adaptive-" + (string)context.Variables["consumer-id"])'
        assert limit.get("remaining-tokens-variable-name") == "adaptive-remaining-tokens"


def test_consumer_token_limit_is_keyed_on_the_subscription(stack: Recording) -> None:
    for policy in stack.of_type("azure-native:apimanagement:ProductPolicy"):
        # azure-openai-token-limit: documented for chat completions, embeddings and responses alike.
        limit = document(policy).find("inbound/azure-openai-token-limit")
        assert limit.get("counter-key") == "@(context.Subscription.Id)"
        assert limit.get("estimate-prompt-tokens") == "true"
        assert limit.get("retry-after-variable-name") == "token-limit-retry-after"


def test_gateway_headers_never_reuse_azure_openai_rate_limit_names(stack: Recording) -> None:
    documents = [document(p) for p in stack.of_type("azure-native:apimanagement:ProductPolicy")]
    if stack.stack == "prod":
        documents.append(fragment_xml(stack, FRAGMENTS.entra_consumers))
    for xml in documents:
        for limit in xml.iter("azure-openai-token-limit"):
            assert limit.get("remaining-tokens-header-name") == "x-gateway-remaining-tokens"
            assert limit.get("tokens-consumed-header-name") == "x-gateway-tokens-consumed"
            assert limit.get("remaining-quota-tokens-header-name") in (None, "x-gateway-remaining-quota-tokens")
            assert not [v for k, v in limit.attrib.items() if k.endswith("header-name") and "x-ratelimit" in v]


def test_consumer_limits_and_quotas_come_from_settings(dev: Recording) -> None:
    limits = {
        p.get("productId"): document(p).find("inbound/azure-openai-token-limit")
        for p in dev.of_type("azure-native:apimanagement:ProductPolicy")
    }
    alpha, beta = limits["consumer-team-alpha"], limits["consumer-team-beta"]
    assert alpha is not None and beta is not None
    assert (alpha.get("tokens-per-minute"), alpha.get("token-quota"), alpha.get("token-quota-period")) == (
        "20000",
        "5000000",
        "Monthly",
    )
    assert alpha.get("remaining-quota-tokens-header-name") == "x-gateway-remaining-quota-tokens"
    assert beta.get("tokens-per-minute") == "5000" and beta.get("token-quota") is None


def test_deployment_allow_list_answers_403_for_others(dev: Recording) -> None:
    policy = {p.get("productId"): p for p in dev.of_type("azure-native:apimanagement:ProductPolicy")}
    when = document(policy["consumer-team-beta"]).find("inbound/choose/when")
    assert '"text-embedding-3-small"' in when.get("condition") and "gpt-5.4" not in when.get("condition")
    assert when.find("return-response/set-status").get("code") == "403"


def test_adaptive_limit_has_a_global_budget_and_tier_shares(dev: Recording) -> None:
    xml = fragment_xml(dev, FRAGMENTS.adaptive_token_limit)
    budget = xml.find("azure-openai-token-limit")
    assert (budget.get("counter-key"), budget.get("tokens-per-minute")) == ("gateway-global-budget", "30000")
    assert budget.get("remaining-tokens-variable-name") == "global-remaining-tokens"
    tiers = {}
    for when in xml.find("choose").iter("when"):
        [tier] = re.findall(r'== "(\w+)"\)', when.get("condition"))
        allowance = when.find("set-variable[@name='adaptive-token-allowance']")
        tiers[tier] = (when.find("azure-openai-token-limit"), allowance)
    assert set(tiers) == {"high", "low"}
    # dev: global 30000; high base 8000 share 0.5, low base 2000 share 0.1. The counter's ceiling is the largest
    # allowance a tier can reach, a literal: the reference does not say tokens-per-minute takes an expression.
    assert tiers["high"][0].get("tokens-per-minute") == str(8000 + 15000)
    assert tiers["low"][0].get("tokens-per-minute") == str(2000 + 3000)
    assert "8000 + (long)(unused * 0.5)" in tiers["high"][1].get("value")
    assert "2000 + (long)(unused * 0.1)" in tiers["low"][1].get("value")


def test_adaptive_allowance_is_clamped(dev: Recording) -> None:
    xml = fragment_xml(dev, FRAGMENTS.adaptive_token_limit)
    for when in xml.find("choose").iter("when"):
        allowance = when.find("set-variable[@name='adaptive-token-allowance']").get("value")
        # The unused global budget never counts below zero, and the allowance stays within [base, ceiling].
        unused = 'Math.Max(0, (context.Variables.ContainsKey("global-remaining-tokens") ? Convert.ToInt32('
        assert unused in allowance
        ceiling = when.find("azure-openai-token-limit").get("tokens-per-minute")
        assert re.search(rf"Math\.Max\(\d+, Math\.Min\({ceiling}, allowance\)\)", allowance)


def test_adaptive_numbers_never_go_through_a_typed_get_value_or_default(stack: Recording) -> None:
    # A literal set-variable holds a string and a policy's variable may hold another numeric type, so a typed
    # GetValueOrDefault would throw: every number is read with ContainsKey and Convert.
    text = fragment(stack, FRAGMENTS.adaptive_token_limit).get("value")
    assert not re.search(r'GetValueOrDefault\("(global-remaining|adaptive-)[^"]*", (0|ceiling|int\.MaxValue)\)', text)
    assert 'Convert.ToInt32(context.Variables["adaptive-token-ceiling"])' in text


def test_consumer_over_its_adaptive_allowance_gets_429_with_retry_after(dev: Recording) -> None:
    xml = fragment_xml(dev, FRAGMENTS.adaptive_token_limit)
    [check] = [w for w in xml.iterfind("choose/when") if "adaptive-tokens-used" in w.get("condition")]
    response = check.find("return-response")
    assert response.find("set-status").get("code") == "429"
    assert 0 <= int(response.find("set-header[@name='Retry-After']/value").text) <= 60
    assert "AdaptiveTokenLimitExceeded" in response.find("set-body").text


def test_consumer_tier_reaches_the_adaptive_limit(dev: Recording) -> None:
    tiers = {
        p.get("productId"): document(p).find("inbound/set-variable[@name='consumer-tier']").get("value")
        for p in dev.of_type("azure-native:apimanagement:ProductPolicy")
    }
    assert tiers == {
        "consumer-team-alpha": "high",
        "consumer-team-beta": "low",
        "consumer-team-gamma": "low",
        "consumer-smoke": "low",
    }
