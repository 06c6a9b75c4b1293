"""Guardrails, consumers (policies/rules/consumers.py): every OpenAI API calls its backends with the managed identity
and never forwards the caller's key, every consumer's product has a token limit and authenticates its callers,
and no subscription key is set as an input.
"""

from __future__ import annotations

from policies import rules
from tests.guardrail_support import DELETE, assert_fails, changed, check, find, without
from tools.harness import Recording, Secret
from tools.violations import Violation


def test_api_policy_managed_identity(prod: Recording) -> None:
    rule, policy = "api-policy-managed-identity", "policies-api-policy"
    value = find(prod, rules.API_POLICY, policy).get("value")
    unbalanced = value.replace('<include-fragment fragment-id="openai-load-balancing" />', "")
    broken = changed(prod, rules.API_POLICY, policy, value=unbalanced)
    violations = check(broken, rule)
    assert_fails(violations, rule, "mandatory", "does not authenticate to Azure OpenAI with a managed identity", policy)
    assert_fails(violations, rule, "mandatory", "forwards the caller's 'api-key' header", policy)
    # Every API (dated and v1, key and Entra ID callers) includes the fragment: a broken fragment breaks them all.
    both = {f"policies-{kind}api{surface}-policy" for kind in ("", "entra-") for surface in ("", "-v1")}

    def fails_for_both(violations: list[Violation], phrase: str) -> None:
        assert_fails(violations, rule, "mandatory", phrase)
        matching = [v for v in violations if v.policy == rule and phrase in v.message]
        assert {v.urn.rsplit("::", 1)[-1] for v in matching if v.urn} == both

    fragment = next(f for f in prod.of_type(rules.POLICY_FRAGMENT) if f.get("id") == "openai-load-balancing")
    keeps_key = fragment.get("value").replace('<set-header name="api-key" exists-action="delete" />', "")
    broken = changed(prod, rules.POLICY_FRAGMENT, fragment.name, value=keeps_key)
    fails_for_both(check(broken, rule), "forwards the caller's 'api-key' header")

    wrong_audience = fragment.get("value").replace(
        "https://cognitiveservices.azure.com", "https://management.azure.com"
    )
    broken = changed(prod, rules.POLICY_FRAGMENT, fragment.name, value=wrong_audience)
    fails_for_both(check(broken, rule), "with a managed identity")

    broken = without(prod, rules.API_POLICY, policy)
    assert_fails(check(broken, rule), rule, "mandatory", "has no ApiPolicy", "policies-api")


def test_product_token_limit(dev: Recording) -> None:
    rule, product = "product-token-limit", "policies-consumer-team-alpha"
    policy = find(dev, rules.PRODUCT_POLICY, f"{product}-policy")
    unlimited = "\n".join(line for line in policy.get("value").splitlines() if "token-limit" not in line)
    broken = changed(dev, rules.PRODUCT_POLICY, policy.name, value=unlimited)
    assert_fails(check(broken, rule), rule, "mandatory", "has no token limit", product)
    broken = without(dev, rules.PRODUCT_POLICY, policy.name)
    assert_fails(check(broken, rule), rule, "mandatory", "has no ProductPolicy", product)


def test_consumer_auth_required(dev: Recording) -> None:
    rule, product = "consumer-auth-required", "policies-consumer-team-beta"
    broken = changed(dev, rules.PRODUCT, product, subscriptionRequired=False)
    assert_fails(check(broken, rule), rule, "mandatory", "does not require a subscription", product)
    broken = changed(dev, rules.API, "policies-api", subscriptionRequired=DELETE)
    assert_fails(check(broken, rule), rule, "mandatory", "does not require a subscription", "policies-api")


def test_consumer_auth_accepts_entra_id_instead_of_a_subscription(dev: Recording) -> None:
    product = "policies-consumer-team-beta"
    policy = find(dev, rules.PRODUCT_POLICY, f"{product}-policy")
    entra = policy.get("value").replace(
        "<base />", '<base />\n<validate-azure-ad-token tenant-id="contoso.example" />', 1
    )
    keyless = changed(
        changed(dev, rules.PRODUCT, product, subscriptionRequired=False), rules.PRODUCT_POLICY, policy.name, value=entra
    )
    assert check(keyless, "consumer-auth-required") == []


def test_subscription_keys_not_inline(dev: Recording) -> None:
    rule, subscription = "subscription-keys-not-inline", "policies-consumer-team-gamma-subscription"
    broken = changed(dev, rules.SUBSCRIPTION, subscription, primaryKey=Secret("0123456789abcdef0123456789abcdef"))
    assert_fails(check(broken, rule), rule, "mandatory", "sets primaryKey as an input", subscription)
