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
        ("accounts.1.key", "ptu", "accounts[].key", "account keys must be unique"),
        ("pools.0.members.1.account", "ptu", "pools[0].members[].account", "each account at most once"),
        ("pools.0.deployment", 'gpt"5', "pools[0].deployment", "letters, digits, hyphens"),
        ("consumers.0.deployments", [], "consumers[0].deployments", "at least one deployment"),
        ("consumers.0.tokens_per_minute", 0, "consumers[0].tokens_per_minute", "at least 1"),
        ("consumers.0.quota", {"from_budget": 10}, "consumers[0].quota", "give tokens and period"),
        ("consumers.0.entra_client_app_ids", ["not-a-guid"], "consumers[0].entra_client_app_ids[0]", "a GUID"),
        ("consumers.0.entra_client_app_ids", ["00000000-0000-0000-0000-000000000001"],
         "consumers[0].entra_client_app_ids", "needs entra_id"),
        ("entra_id", {"tenant_id": "contoso", "audiences": ["api://gw"]}, "entra_id.tenant_id", "a GUID"),
        ("entra_id", {"tenant_id": "00000000-0000-0000-0000-000000000001", "audiences": ["api://gw"]}, "entra_id",
         "no consumer lists entra_client_app_ids"),
        ("routing.circuit_breaker.interval", "60s", "routing.circuit_breaker.interval", "ISO 8601 duration"),
        ("routing.circuit_breaker.status_code_ranges", [{"min": 500, "max": 599}],
         "routing.circuit_breaker.status_code_ranges", "must cover 429"),
        ("routing.aliases", {"chat": "gpt-4o"}, "routing.aliases.chat", "a deployment with a pool: gpt-5.4"),
        ("routing.aliases", {"gpt-5.4": "gpt-5.4"}, "routing.aliases.gpt-5.4", "must not shadow a deployment"),
        ("usage_logger_name", "<usage>", "usage_logger_name", "an APIM logger id"),
        ("token_limits.low.share_of_unused", 1.5, "token_limits.low.share_of_unused", "from 0 to 1"),
        ("app_gateway_subnet", "10.0.2.0/33", "app_gateway_subnet", "an IPv4 CIDR"),
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


def test_optional_routing_defaults_to_the_breaker_the_stacks_use() -> None:
    args: Any = valid()
    del args["routing"]
    model = gateway_model(args)
    assert model.breaker["failure_count"] == 3 and model.breaker["trip_duration"] == "PT1M"
    assert model.usage_logger_name == "usage-eventhub"


def _vault_args(**delivery: Any) -> Any:
    return {
        "name_prefix": "gw", "environment": "dev", "name_suffix": "abcde", "location": "swedencentral",
        "resource_group_name": "rg", "private_endpoint_subnet_id": "subnet", "private_dns_zone_id": "zone",
        "deliveries": [{"consumer": "team-alpha", "key": "k", "reader_principal_id": "p", **delivery}],
    }


@pytest.mark.parametrize(
    ("delivery", "allowed"),
    [
        ({"consumer": "Team-Alpha"}, "lower-case letters, digits and dashes"),
        ({"reader_principal_type": "Robot"}, "must be one of ServicePrincipal, User, Group"),
    ],
)
def test_a_key_delivery_the_vault_cannot_hold_is_refused_before_the_vault_is_declared(
    delivery: dict[str, str], allowed: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from components.consumer_keys import ConsumerKeyVault

    declared = _mocked(monkeypatch)
    with pytest.raises(ValueError, match=allowed):
        ConsumerKeyVault("keys", _vault_args(**delivery))
    assert declared == []


def test_gateway_policies_refuse_bad_input_before_declaring_any_resource(monkeypatch: pytest.MonkeyPatch) -> None:
    from components.gateway_policies import GatewayPolicies

    declared = _mocked(monkeypatch)
    with pytest.raises(GatewayInputError, match=r"consumers\[0\]\.tier = 'gold'"):
        GatewayPolicies("policies", broken("consumers.0.tier", "gold"))
    assert declared == []


def _mocked(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The mock engine, and the names of the Azure resources constructed from now on.

    Recorded as each is constructed (the mock engine itself only hears of them later, asynchronously)."""
    import pulumi

    from tools.azure_mocks import AzureMocks

    declared: list[str] = []
    original = pulumi.CustomResource.__init__

    def spy(self: pulumi.CustomResource, t: str, name: str, *args: Any, **kwargs: Any) -> None:
        declared.append(name)
        original(self, t, name, *args, **kwargs)

    monkeypatch.setattr(pulumi.CustomResource, "__init__", spy)
    pulumi.runtime.set_mocks(AzureMocks("inputs"), project="genai-gateway", stack="inputs", preview=False)
    return declared


def test_the_declaration_spy_sees_a_valid_gateway_declare_its_resources(monkeypatch: pytest.MonkeyPatch) -> None:
    from components.gateway_policies import GatewayPolicies

    declared = _mocked(monkeypatch)
    GatewayPolicies("policies", valid())
    assert "policies-openai-ptu" in declared and "policies-consumer-team-alpha" in declared
