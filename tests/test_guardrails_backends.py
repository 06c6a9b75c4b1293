"""Guardrails, backends (policies/rules/backends.py): every Azure OpenAI backend has a circuit breaker that honours
Retry-After and trips on 429, pools have the shape Azure accepts, and every pool has somewhere to spill over.
"""

from __future__ import annotations

from policies import rules
from tests.guardrail_support import DELETE, assert_fails, changed, check, find
from tools.harness import Recording


def test_backend_circuit_breaker(dev: Recording) -> None:
    rule, backend = "backend-circuit-breaker", "policies-openai-ptu-1"
    broken = changed(dev, rules.BACKEND, backend, circuitBreaker=DELETE)
    assert_fails(check(broken, rule), rule, "mandatory", "has no circuit breaker", backend)
    broken = changed(dev, rules.BACKEND, backend, circuitBreaker__rules__0__acceptRetryAfter=False)
    assert_fails(check(broken, rule), rule, "mandatory", "acceptRetryAfter true", backend)
    broken = changed(
        dev,
        rules.BACKEND,
        backend,
        circuitBreaker__rules__0__failureCondition__statusCodeRanges=[{"min": 500, "max": 599}],
    )
    assert_fails(check(broken, rule), rule, "mandatory", "does not cover status 429", backend)
    rule_copy = find(dev, rules.BACKEND, backend).get("circuitBreaker.rules.0")
    broken = changed(dev, rules.BACKEND, backend, circuitBreaker__rules=[rule_copy, rule_copy])
    assert_fails(check(broken, rule), rule, "mandatory", "Azure supports exactly one", backend)


def test_backend_circuit_breaker_ignores_backends_that_are_not_azure_openai(dev: Recording) -> None:
    other = changed(
        dev, rules.BACKEND, "policies-openai-ptu-1", url="https://api.contoso.example", circuitBreaker=DELETE
    )
    assert check(other, "backend-circuit-breaker") == []


def test_backend_pool_shape(dev: Recording) -> None:
    rule, pool = "backend-pool-shape", "policies-pool-gpt-5.4"
    broken = changed(dev, rules.BACKEND, pool, pool__services=[])
    assert_fails(check(broken, rule), rule, "mandatory", "has no members", pool)
    member = find(dev, rules.BACKEND, pool).get("pool.services.0")
    many = [{**member, "id": f"{member['id']}-{i}"} for i in range(31)]
    broken = changed(dev, rules.BACKEND, pool, pool__services=many)
    assert_fails(check(broken, rule), rule, "mandatory", "at most 30", pool)
    broken = changed(dev, rules.BACKEND, pool, url="https://example.openai.azure.com/openai", protocol="http")
    assert_fails(check(broken, rule), rule, "mandatory", "a pool takes no url", pool)
    assert_fails(check(broken, rule), rule, "mandatory", "a pool takes no protocol", pool)
    broken = changed(dev, rules.BACKEND, pool, pool__services__0__priority=101)
    assert_fails(check(broken, rule), rule, "mandatory", "priority 101", pool)


def test_backend_pool_spillover_is_advisory_in_dev_and_mandatory_in_prod(dev: Recording, prod: Recording) -> None:
    rule, pool = "backend-pool-spillover", "policies-pool-gpt-5.4"
    for recording, level in ((dev, "advisory"), (prod, "mandatory")):
        member = find(recording, rules.BACKEND, pool).get("pool.services.0")
        broken = changed(recording, rules.BACKEND, pool, pool__services=[member])
        assert_fails(check(broken, rule), rule, level, "nowhere to spill over", pool)


def test_a_single_tier_pool_with_two_members_can_spill_over(prod: Recording) -> None:
    # The weighted embeddings pool has one priority group: a tripped member's share moves to the other.
    pool = find(prod, rules.BACKEND, "policies-pool-text-embedding-3-small")
    assert len({m["priority"] for m in pool.get("pool.services")}) == 1
    assert check(prod, "backend-pool-spillover") == []
