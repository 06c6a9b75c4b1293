"""GatewayPolicies' plain inputs: what another program may pass, and the clear error for what cannot work.

A program that reuses the component (Python, or another Pulumi language through the package) has no stack
settings validation in front of it, so the component refuses inputs its policies cannot be rendered from,
naming the input, the value and what is allowed, before it declares anything.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest

from components.gateway_inputs import GatewayInputError, GatewayPoliciesArgs, gateway_model


def valid() -> GatewayPoliciesArgs:
    return {
        "resource_group_name": "rg",
        "apim_name": "apim",
        "apim_id": "/subscriptions/0/resourceGroups/rg/providers/Microsoft.ApiManagement/service/apim",
        "identity_client_id": "00000000-0000-0000-0000-000000000001",
        "app_insights_logger_id": "logger",
        "usage_logger_name": "usage-eventhub",
        "usage_logger_id": "usage-logger-id",
        "accounts": [
            {"key": "ptu", "tier": "ptu", "region": "swedencentral", "endpoint": "https://a.openai.azure.com/",
             "backend_url": "https://a.openai.azure.com/openai"},
            {"key": "paygo", "tier": "paygo", "region": "swedencentral", "endpoint": "https://b.openai.azure.com/",
             "backend_url": "https://b.openai.azure.com/openai"},
        ],
        "pools": [{"deployment": "gpt-5.4", "strategy": "priority", "members": [
            {"account": "ptu", "priority": 1, "weight": 1}, {"account": "paygo", "priority": 2, "weight": 1},
        ]}],
        "routing": {"circuit_breaker": {"failure_count": 3, "interval": "PT1M", "trip_duration": "PT1M",
                                        "status_code_ranges": [{"min": 429, "max": 429}]}},
        "token_limits": {"global_tokens_per_minute": 100_000,
                         "high": {"base_tokens_per_minute": 10_000, "share_of_unused": 0.5},
                         "low": {"base_tokens_per_minute": 1_000, "share_of_unused": 0.1}},
        "consumers": [{"name": "team-alpha", "tier": "high", "deployments": ["gpt-5.4"], "tokens_per_minute": 5000,
                       "quota": {"tokens": 1_000_000, "period": "Monthly"}}],
    }


def broken(path: str, value: Any) -> GatewayPoliciesArgs:
    args: Any = copy.deepcopy(valid())
    *parents, last = path.split(".")
    target = args
    for part in parents:
        target = target[int(part)] if part.isdigit() else target[part]
    target[int(last) if last.isdigit() else last] = value
    return args  # type: ignore[no-any-return]


def test_valid_inputs_give_the_model_the_templates_render() -> None:
    model = gateway_model(valid())
    assert [a.backend_id for a in model.accounts] == ["openai-ptu", "openai-paygo"]
    assert model.pools[0].backend_id == "pool-gpt-5.4"
    assert model.consumers[0].subscription_id == "team-alpha-key"
    assert model.consumers[0].display_name == "team-alpha"


def test_optional_inputs_default_to_the_private_choice() -> None:
    model = gateway_model(valid())
    assert model.log_client_ip is False and model.hash_client_ip is False
    assert model.entra_id is None and model.included == () and model.backend_timeout_seconds == 240


@pytest.mark.parametrize(
    ("path", "value", "key", "allowed"),
    [
        ("pools.0.members.0.account", "elsewhere", "pools[0].members[0].account", "one of the accounts: paygo, ptu"),
        ("pools.0.members.1.priority", 101, "pools[0].members[1].priority", "from 0 to 100"),
        ("pools.0.members", [], "pools[0].members", "at least one member"),
        ("consumers.0.deployments", ["gpt-4o"], "consumers[0].deployments", "every deployment needs a pool: gpt-5.4"),
        ("consumers.0.tier", "gold", "consumers[0].tier", "one of high, low"),
        ("consumers.0.name", "Team Alpha", "consumers[0].name", "lower-case letters, digits and dashes"),
        ("consumers.0.quota", {"tokens": 10}, "consumers[0].quota", "tokens and period go together"),
        ("consumers.0.quota", {"tokens": 10, "period": "Fortnightly"}, "consumers[0].quota.period",
         "one of Hourly, Daily, Weekly, Monthly, Yearly"),
        ("accounts.0.tier", "reserved", "accounts[0].tier", "one of ptu, paygo"),
        ("accounts.0.key", "PTU_1", "accounts[0].key", "lower-case letters, digits and dashes"),
        ("accounts", [], "accounts", "at least one account"),
        ("routing.backend_timeout_seconds", 600, "routing.backend_timeout_seconds", "from 30 to 240 seconds"),
        ("included_fragments", [{"fragment_id": "x", "section": "backend", "resource_id": "id"}],
         "included_fragments[0].section", "one of inbound, outbound"),
    ],
)
def test_an_input_the_policies_cannot_use_is_refused_with_its_name_the_value_and_what_is_allowed(
    path: str, value: Any, key: str, allowed: str
) -> None:
    with pytest.raises(GatewayInputError) as error:
        gateway_model(broken(path, value))
    message = str(error.value)
    assert message.startswith(f"GatewayPolicies: {key} = ")
    assert allowed in message
