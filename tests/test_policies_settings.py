"""GatewayPolicies, settings: routing pools, circuit breakers and consumers that the policies could not serve are
refused before any resource is declared, naming the key, the value and what is allowed.
"""

from __future__ import annotations

import pytest

from tests.support import problems, with_value


def test_pool_member_naming_an_unknown_account_is_rejected(prod_config: dict) -> None:
    [line] = problems(with_value(prod_config, "routing.pools.0.members.1.account", "paygo-9"))
    assert line.startswith(
        "genai-gateway:routing.pools['gpt-5.4'].members['paygo-9'"
        "].account: 'paygo-9': unknown account"
    )


def test_pool_member_lacking_the_deployment_is_rejected(prod_config: dict) -> None:
    [line] = problems(with_value(prod_config, "routing.pools.1.members.0.account", "ptu-1"))
    assert "'ptu-1': does not deploy 'text-embedding-3-small'" in line


@pytest.mark.parametrize(("field", "value"), [("weight", 101), ("weight", -1), ("priority", 101), ("priority", -1)])
def test_weights_and_priorities_outside_0_to_100_are_rejected(prod_config: dict, field: str, value: int) -> None:
    [line] = problems(with_value(prod_config, f"routing.pools.0.members.0.{field}", value))
    assert line.startswith(f"genai-gateway:routing.pools['gpt-5.4'].members['ptu-1'].{field}: {value}: ")


def test_more_than_30_pool_members_are_rejected(prod_config: dict) -> None:
    many = [{"account": "paygo-1"}] * 31
    lines = problems(with_value(prod_config, "routing.pools.1.members", many))
    assert (
        "genai-gateway:routing.pools['text-embedding-3-small'].members: "
        "31 members: a backend pool holds at most 30"
    ) in lines


def test_consumer_allowed_an_unknown_deployment_is_rejected(prod_config: dict) -> None:
    [line] = problems(with_value(prod_config, "consumers.1.deployments.0", "gpt-5"))
    assert line.startswith("genai-gateway:consumers['knowledge-search'].deployments[0]: 'gpt-5': unknown deployment")


def test_token_quota_without_a_period_is_rejected(prod_config: dict) -> None:
    config = with_value(prod_config, "consumers.1.tokenQuotaPeriod", None)
    [line] = problems(config)
    assert "tokenQuota and tokenQuotaPeriod are set together" in line


def test_consumer_without_a_token_limit_is_rejected(prod_config: dict) -> None:
    from tests.support import DELETE

    [line] = problems(with_value(prod_config, "consumers.0.tokensPerMinute", DELETE))
    assert line == "genai-gateway:consumers['customer-support'].tokensPerMinute: (missing): required key"


def test_duplicate_consumer_names_are_rejected(prod_config: dict) -> None:
    config = with_value(prod_config, "consumers.1.name", "customer-support")
    assert "genai-gateway:consumers: 'customer-support': consumer names must be unique" in problems(config)


def test_breaker_that_ignores_429_is_rejected(prod_config: dict) -> None:
    config = with_value(prod_config, "routing.circuitBreaker.statusCodeRanges", [{"min": 500, "max": 599}])
    [line] = problems(config)
    assert line.startswith("genai-gateway:routing.circuitBreaker.statusCodeRanges: ") and "must cover 429" in line
