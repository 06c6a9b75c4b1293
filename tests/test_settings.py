"""Stack settings: a wrong setting stops the program before any resource exists, naming key, value and allowed."""

from __future__ import annotations

import json

import pytest

from components.settings import PROJECT, SettingsError, load_settings
from tests.support import DELETE, declarations, only, parse, problems, with_value
from tools.harness import run_stack


def test_both_stacks_parse_into_settings(dev_config: dict, prod_config: dict) -> None:
    assert parse(dev_config).apim.sku == "Developer"
    assert parse(prod_config).apim.sku == "Premium"


def test_misspelled_key_is_named_with_the_nearest_allowed_key(dev_config: dict) -> None:
    config = with_value(dev_config, "apim.publisherEmial", "x@contoso.example")
    line = only(problems(config))
    assert line.startswith(f"{PROJECT}:apim.publisherEmial: unknown key")
    assert "did you mean 'publisherEmail'" in line


def test_unknown_top_level_key_lists_the_allowed_keys(dev_config: dict) -> None:
    line = only(problems({**dev_config, "apimm": {"sku": "Developer"}}))
    assert line.startswith(f"{PROJECT}:apimm: unknown key")
    assert "allowed keys:" in line and "network" in line


def test_wrong_type_names_key_and_value(dev_config: dict) -> None:
    line = only(problems(with_value(dev_config, "apim.capacity", "two")))
    assert line.startswith(f"{PROJECT}:apim.capacity: 'two': ")
    assert "integer" in line


def test_number_out_of_range_states_the_bound(dev_config: dict) -> None:
    line = only(problems(with_value(dev_config, "observability.logRetentionDays", 7)))
    assert line == f"{PROJECT}:observability.logRetentionDays: 7: input should be greater than or equal to 30"


def test_enum_value_lists_the_allowed_values(dev_config: dict) -> None:
    line = only(problems(with_value(dev_config, "apim.sku", "Basic")))
    assert "'Developer', 'Premium' or 'StandardV2'" in line


@pytest.mark.parametrize("cidr", ["10.20.0.0/33", "10.20.0.1/16", "10.20.300.0/16", "not-a-network"])
def test_invalid_cidr_is_rejected(dev_config: dict, cidr: str) -> None:
    line = only(problems(with_value(dev_config, "network.addressSpace", cidr)))
    assert line.startswith(f"{PROJECT}:network.addressSpace: {cidr!r}: ")
    assert "IPv4 network" in line


def test_subnet_outside_the_address_space_is_rejected(dev_config: dict) -> None:
    line = only(problems(with_value(dev_config, "network.subnets.privateEndpoints", "10.99.2.0/24")))
    assert line == (
        f"{PROJECT}:network.subnets.privateEndpoints: '10.99.2.0/24': must lie inside addressSpace 10.20.0.0/16"
    )


def test_overlapping_subnets_are_rejected(dev_config: dict) -> None:
    line = only(problems(with_value(dev_config, "network.subnets.privateEndpoints", "10.20.1.128/25")))
    assert "network.subnets.privateEndpoints: '10.20.1.128/25': overlaps subnets.apim (10.20.1.0/24)" in line


def test_standard_v2_cannot_use_classic_internal_injection(dev_config: dict) -> None:
    config = with_value(dev_config, "apim.sku", "StandardV2")
    config = with_value(config, "apim.networkMode", "Internal")
    line = only(problems(config))
    assert line.startswith(f"{PROJECT}:apim.networkMode: 'Internal': not supported by sku StandardV2")
    assert "allowed: Integration" in line


def test_developer_cannot_use_v2_outbound_integration(dev_config: dict) -> None:
    line = only(problems(with_value(dev_config, "apim.networkMode", "Integration")))
    assert "not supported by sku Developer (allowed: External, Internal)" in line


def test_v2_integration_subnet_must_be_at_least_a_slash_27(dev_config: dict) -> None:
    config = with_value(dev_config, "apim.sku", "StandardV2")
    config = with_value(config, "apim.networkMode", "Integration")
    config = with_value(config, "network.subnets.apim", "10.20.1.0/28")
    line = only(problems(config))
    assert line.startswith(f"{PROJECT}:network.subnets.apim: '10.20.1.0/28': VNet integration")


def test_missing_required_key_is_named(dev_config: dict) -> None:
    line = only(problems(with_value(dev_config, "apim.publisherName", DELETE)))
    assert line == f"{PROJECT}:apim.publisherName: (missing): required key"


def test_missing_top_level_section_is_named(dev_config: dict) -> None:
    config = dict(dev_config)
    del config["network"]
    assert f"{PROJECT}:network: (missing): required key" in problems(config)


def test_developer_sku_has_a_single_unit(dev_config: dict) -> None:
    line = only(problems(with_value(dev_config, "apim.capacity", 2)))
    assert line == f"{PROJECT}:apim.capacity: 2: sku Developer allows 1 to 1 units"


def test_zones_need_premium(dev_config: dict) -> None:
    line = only(problems(with_value(dev_config, "apim.zones", ["1", "2"])))
    assert line.startswith(f"{PROJECT}:apim.zones: ") and "need sku Premium" in line


def test_premium_units_must_spread_evenly_across_zones(prod_config: dict) -> None:
    line = only(problems(with_value(prod_config, "apim.capacity", 3)))
    assert line.startswith(f"{PROJECT}:apim.capacity: 3: must be a multiple of the number of zones (2)")


def test_ingress_needs_its_own_subnet(prod_config: dict) -> None:
    line = only(problems(with_value(prod_config, "network.subnets.appGateway", DELETE)))
    assert line.startswith(f"{PROJECT}:network.subnets.appGateway: (missing): required when ingress.enabled")


def test_ingress_fronts_only_an_internal_gateway(prod_config: dict) -> None:
    line = only(problems(with_value(prod_config, "apim.networkMode", "External")))
    assert line.startswith(f"{PROJECT}:ingress.enabled: true: the WAF ingress fronts an Internal gateway")


def test_ingress_needs_a_listener_certificate(prod_config: dict) -> None:
    line = only(problems(with_value(prod_config, "ingress.certificateSecretId", DELETE)))
    assert line == f"{PROJECT}:ingress.certificateSecretId: (missing): required when ingress.enabled is true"


def test_listener_certificate_must_be_a_versionless_key_vault_secret_id(prod_config: dict) -> None:
    versioned = "https://kv-contoso-platform.vault.azure.net/secrets/genai-gateway-tls/0123456789abcdef0123456789abcdef"
    line = only(problems(with_value(prod_config, "ingress.certificateSecretId", versioned)))
    assert line.startswith(f"{PROJECT}:ingress.certificateSecretId: ")
    assert line.endswith(
        ": must be the versionless id of a Key Vault secret: https://<vault>.vault.azure.net/secrets/<secret name>, "
        "without a version, so that the listener follows certificate rotation"
    )


def test_listener_certificate_must_live_in_the_named_vault(prod_config: dict) -> None:
    other = "https://kv-elsewhere.vault.azure.net/secrets/genai-gateway-tls"
    line = only(problems(with_value(prod_config, "ingress.certificateSecretId", other)))
    assert "must be a secret of the vault named by keyVaultId (kv-contoso-platform)" in line


def test_every_problem_is_reported_at_once(dev_config: dict) -> None:
    config = with_value(dev_config, "apim.capacity", "two")
    config = with_value(config, "network.addressSpace", "10.20.0.0/33")
    assert len(problems(config)) == 2


def test_secret_values_never_appear_in_errors(dev_config: dict) -> None:
    flat = {f"{PROJECT}:{k}": v if isinstance(v, str) else json.dumps(v) for k, v in dev_config.items()}
    flat[f"{PROJECT}:apim"] = json.dumps({**dev_config["apim"], "publisherEmail": "hunter2-not-an-email"})
    with pytest.raises(SettingsError) as error:
        load_settings(flat, secret_keys=[f"{PROJECT}:apim"])
    assert "hunter2" not in str(error.value)
    assert f"{PROJECT}:apim.publisherEmail: [secret]:" in str(error.value)


def test_bad_settings_stop_the_program_before_any_resource_is_declared(
    dev_config: dict, monkeypatch: pytest.MonkeyPatch
) -> None:
    declared = declarations(monkeypatch)
    with pytest.raises(SettingsError) as error:
        run_stack("dev", overrides={"apim": {**dev_config["apim"], "sku": "Basic"}})
    assert f"{PROJECT}:apim.sku: 'Basic'" in str(error.value)
    assert declared == []


def test_secret_values_never_appear_in_cross_field_errors(prod_config: dict) -> None:
    flat = {f"{PROJECT}:{k}": v if isinstance(v, str) else json.dumps(v) for k, v in prod_config.items()}
    ingress = {**prod_config["ingress"], "certificateSecretId": "https://kv-hunter2.vault.azure.net/secrets/tls"}
    flat[f"{PROJECT}:ingress"] = json.dumps(ingress)
    with pytest.raises(SettingsError) as error:
        load_settings(flat, secret_keys=[f"{PROJECT}:ingress"])
    assert "hunter2" not in str(error.value)
    assert f"{PROJECT}:ingress.certificateSecretId: [secret]: must be a secret of the vault" in str(error.value)


def test_the_engine_environment_does_not_leak_into_an_offline_run(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PULUMI_CONFIG", json.dumps({f"{PROJECT}:bogus": "1"}))
    assert run_stack("dev").stack == "dev"


def _flat(config: dict) -> dict[str, str]:
    return {f"{PROJECT}:{k}": v if isinstance(v, str) else json.dumps(v) for k, v in config.items()}


def test_key_under_a_misspelled_namespace_is_an_unknown_key_with_the_nearest_one(dev_config: dict) -> None:
    flat = {**_flat(dev_config), "genai-gatway:semanticCache": json.dumps({"enabled": True})}
    with pytest.raises(SettingsError) as error:
        load_settings(flat)
    line = only([str(p) for p in error.value.problems])
    assert line.startswith("genai-gatway:semanticCache: unknown key: ")
    assert "did you mean 'genai-gateway:semanticCache'?" in line


def test_keys_of_other_namespaces_are_left_to_their_owners(dev_config: dict) -> None:
    flat = {**_flat(dev_config), "azure-native:location": "swedencentral", "pulumi:tags": "{}"}
    assert load_settings(flat).location == "swedencentral"


def test_cross_field_rules_still_run_when_a_type_error_is_found_elsewhere(dev_config: dict) -> None:
    config = with_value(dev_config, "apim.capacity", "two")
    config = with_value(config, "consumers.2.tokensPerMinute", 40000)
    lines = problems(config)
    assert (
        f"{PROJECT}:apim.capacity: 'two': "
        f"input should be a valid integer, unable to parse string as an integer"
    ) in lines
    over_budget = f"{PROJECT}:consumers['team-gamma'].tokensPerMinute: 40000: must not exceed"
    assert any(line.startswith(over_budget) for line in lines)
    assert len(lines) == 2


def test_a_field_that_failed_validation_is_not_also_judged_at_its_default(prod_config: dict) -> None:
    # zones would default to [], and a capacity of 2 without zones is fine: only the type error is reported.
    lines = problems(with_value(prod_config, "apim.zones", "1,2"))
    assert [line.split(":")[1] for line in lines] == ["apim.zones"]


def test_a_cross_field_rule_on_a_list_next_to_a_type_error_in_another_item(dev_config: dict) -> None:
    config = with_value(dev_config, "openai.accounts.1.deployments.0.capacity", "ten")
    config = with_value(config, "routing.pools.0.members", [{"account": "paygo-9"}])
    lines = problems(config)
    assert lines[0].startswith(f"{PROJECT}:openai.accounts['paygo-1'].deployments['gpt-5.4'].capacity: 'ten': ")
    assert lines[1].startswith(f"{PROJECT}:routing.pools['text-embedding-3-small'].members['paygo-9'].account: ")
    assert len(lines) == 2


def test_errors_name_consumers_by_their_name(dev_config: dict) -> None:
    line = only(problems(with_value(dev_config, "consumers.0.tier", "gold")))
    assert line.startswith(f"{PROJECT}:consumers['team-alpha'].tier: 'gold': ")


def test_errors_name_accounts_by_their_name(dev_config: dict) -> None:
    line = only(problems(with_value(dev_config, "openai.accounts.0.location", "Sweden Central")))
    assert line.startswith(f"{PROJECT}:openai.accounts['ptu-1'].location: 'Sweden Central': ")


def test_items_sharing_a_name_are_named_by_their_position(dev_config: dict) -> None:
    config = with_value(dev_config, "consumers.1.name", "team-alpha")
    assert f"{PROJECT}:consumers: 'team-alpha': consumer names must be unique" in problems(config)
