"""GatewayPolicies, backends and pools: one backend per Azure OpenAI account behind a circuit breaker that honours
Retry-After, and one pool per deployment name that serves PTU first and spills over to pay-as-you-go.
"""

from __future__ import annotations

from components.settings.gateway import MAX_POOL_MEMBERS
from tests.policies_support import ACCOUNT, backend_of_account, deployment_names, members, pools, singles
from tools.harness import Recording


def test_every_openai_account_has_a_single_backend_at_its_endpoint(stack: Recording) -> None:
    accounts = [a for a in stack.of_type(ACCOUNT) if a.get("kind") == "OpenAI"]
    assert len(singles(stack)) == len(accounts)
    for account in accounts:
        subdomain = account.get("properties.customSubDomainName")
        backend = backend_of_account(stack, account.name.removeprefix("openai-").removesuffix("-account"))
        assert backend.get("url") == f"https://{subdomain}.openai.azure.com/openai"
        assert backend.get("protocol") == "http"


def test_every_openai_backend_has_exactly_one_breaker_rule_honouring_retry_after(stack: Recording) -> None:
    for backend in singles(stack):
        [rule] = backend.get("circuitBreaker.rules")
        assert rule["acceptRetryAfter"] is True
        ranges = rule["failureCondition"]["statusCodeRanges"]
        assert {"min": 429, "max": 429} in ranges and {"min": 500, "max": 599} in ranges
        assert rule["failureCondition"]["interval"] == "PT1M"
        assert rule["tripDuration"] == "PT1M"


def test_breaker_trips_on_the_configured_failure_count(dev: Recording, prod: Recording) -> None:
    assert {b.get("circuitBreaker.rules.0.failureCondition.count") for b in singles(dev)} == {1}
    assert {b.get("circuitBreaker.rules.0.failureCondition.count") for b in singles(prod)} == {3}


def test_backends_validate_the_tls_certificate(stack: Recording) -> None:
    for backend in singles(stack):
        assert backend.get("tls") == {"validateCertificateChain": True, "validateCertificateName": True}


def test_every_deployment_name_has_one_pool(stack: Recording) -> None:
    assert set(pools(stack)) == {f"pool-{d}" for d in deployment_names(stack)}


def test_pools_carry_no_url_or_protocol_and_at_most_30_members(stack: Recording) -> None:
    for pool in pools(stack).values():
        assert pool.get("url") is None and pool.get("protocol") is None
        assert 1 <= len(pool.get("pool.services")) <= MAX_POOL_MEMBERS


def test_pool_members_are_full_arm_ids_of_single_backends(stack: Recording) -> None:
    ids = {b.id for b in singles(stack)}
    for pool in pools(stack).values():
        for service in pool.get("pool.services"):
            assert service["id"] in ids
            assert "/providers/Microsoft.ApiManagement/service/" in service["id"]


def test_priority_pool_serves_ptu_first_and_spills_to_paygo(dev: Recording) -> None:
    assert members(dev, "pool-gpt-5.4") == {"ptu-1": (1, 1), "paygo-1": (2, 1), "paygo-2": (2, 1)}


def test_priority_pool_weights_paygo_accounts_among_themselves(prod: Recording) -> None:
    assert members(prod, "pool-gpt-5.4") == {"ptu-1": (1, 100), "paygo-1": (2, 70), "paygo-2": (2, 30)}


def test_round_robin_pool_has_one_priority_and_equal_weights(dev: Recording) -> None:
    assert set(members(dev, "pool-text-embedding-3-small").values()) == {(1, 1)}


def test_weighted_pool_has_one_priority_and_the_given_weights(prod: Recording) -> None:
    assert members(prod, "pool-text-embedding-3-small") == {"paygo-1": (1, 50), "paygo-2": (1, 50)}
