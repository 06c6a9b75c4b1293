"""Keys for app teams: one secret output per consumer, and a Key Vault secret only the team's principal reads."""

from __future__ import annotations

import pytest

from components.access import ROLE_DEFINITIONS
from components.consumer_keys import secret_name
from tests.support import DELETE, only, problems, raw_config, with_value
from tools.harness import Recording, Secret, run_stack

VAULT = "azure-native:keyvault:Vault"
SECRET = "azure-native:keyvault:Secret"
ROLE = "azure-native:authorization:RoleAssignment"
ZONE = "azure-native:privatedns:PrivateZone"
ENDPOINT = "azure-native:network:PrivateEndpoint"
SECRETS_USER = ROLE_DEFINITIONS["Key Vault Secrets User"]


def key_outputs(stack: Recording) -> dict[str, object]:
    return {k.removeprefix("consumerKey-"): v for k, v in stack.outputs.items() if k.startswith("consumerKey-")}


def test_each_consumer_gets_its_own_secret_output_and_no_map_of_every_key(stack: Recording) -> None:
    outputs = key_outputs(stack)
    assert set(outputs) == set(stack.outputs["consumers"])
    assert all(isinstance(v, Secret) for v in outputs.values())
    assert "consumerKeys" not in stack.outputs
    assert len({v.value for v in outputs.values() if isinstance(v, Secret)}) == len(outputs)


def test_consumers_output_names_where_each_key_is(prod: Recording) -> None:
    support = prod.outputs["consumers"]["customer-support"]
    assert support["keyOutput"] == "consumerKey-customer-support"
    vault = prod.one(VAULT, "keys-vault").get("vaultName")
    assert support["keyVaultSecretUri"] == f"https://{vault}.vault.azure.net/secrets/consumer-key-customer-support"


def test_a_consumer_without_a_key_reader_has_no_key_vault_secret(dev: Recording) -> None:
    assert [s.get("secretName") for s in dev.of_type(SECRET)] == [secret_name("team-alpha")]
    assert dev.outputs["consumers"]["team-beta"].get("keyVaultSecretUri") is None


def test_the_secret_holds_that_consumers_key_as_a_secret(prod: Recording) -> None:
    secret = prod.one(SECRET, "keys-customer-support")
    properties = secret.inputs["properties"]
    assert isinstance(properties, Secret)
    assert properties.value["value"] == key_outputs(prod)["customer-support"].value  # type: ignore[attr-defined]


def test_only_the_teams_principal_reads_its_secret_and_only_that_secret(prod: Recording) -> None:
    for consumer, principal, kind in [
        ("customer-support", "3c9a8b7d-6e5f-4a1b-9c2d-7e8f9a0b1c2d", "Group"),
        ("knowledge-search", "8d7c6b5a-4f3e-4d2c-8b1a-0f9e8d7c6b5a", "ServicePrincipal"),
    ]:
        secret = prod.one(SECRET, f"keys-{consumer}")
        readers = [r for r in prod.of_type(ROLE) if r.get("principalId") == principal]
        assert len(readers) == 1, consumer
        [reader] = readers
        assert reader.get("scope") == secret.id
        assert reader.get("roleDefinitionId").endswith(f"/roleDefinitions/{SECRETS_USER}")
        assert reader.get("principalType") == kind


def test_no_team_is_granted_anything_on_the_vault_itself(prod: Recording) -> None:
    vault = prod.one(VAULT, "keys-vault")
    assert [r for r in prod.of_type(ROLE) if r.get("scope") == vault.id] == []


def test_the_vault_is_rbac_only_private_and_purge_protected(stack: Recording) -> None:
    vault = stack.one(VAULT, "keys-vault")
    assert vault.get("properties.enableRbacAuthorization") is True
    assert vault.get("properties.publicNetworkAccess") == "Disabled"
    assert vault.get("properties.networkAcls.defaultAction") == "Deny"
    assert vault.get("properties.networkAcls.ipRules") in (None, [])
    assert vault.get("properties.enablePurgeProtection") is True
    assert vault.get("properties.enabledForTemplateDeployment") is False


def test_the_vault_is_protected_in_prod_only(dev: Recording, prod: Recording) -> None:
    assert prod.one(VAULT, "keys-vault").protect and not dev.one(VAULT, "keys-vault").protect


def _endpoint_zone(stack: Recording) -> str:
    vault = stack.one(VAULT, "keys-vault")
    endpoint = stack.one(ENDPOINT, "keys-pe")
    [connection] = endpoint.get("privateLinkServiceConnections")
    assert (connection["privateLinkServiceId"], connection["groupIds"]) == (vault.id, ["vault"])
    [group] = [g for g in stack.of_type("azure-native:network:PrivateDnsZoneGroup") if g.parent == endpoint.urn]
    [config] = group.get("privateDnsZoneConfigs")
    return str(config["privateDnsZoneId"])


def test_without_a_platform_zone_the_vault_registers_in_a_zone_of_its_own(dev: Recording) -> None:
    [zone] = [z for z in dev.of_type(ZONE) if z.get("privateZoneName") == "privatelink.vaultcore.azure.net"]
    assert _endpoint_zone(dev) == zone.id


def test_with_a_platform_zone_the_vault_registers_there_and_declares_none(prod: Recording) -> None:
    platform = raw_config("prod")["consumerKeyVault"]["privateDnsZoneId"]
    assert _endpoint_zone(prod) == platform
    # No zone of the stack answers for *.vault.azure.net, so the App Gateway still resolves its certificate's vault.
    assert [z for z in prod.of_type(ZONE) if z.get("privateZoneName") == "privatelink.vaultcore.azure.net"] == []


def test_behind_the_waf_ingress_the_platform_zone_is_required(prod_config: dict) -> None:
    line = only(problems(with_value(prod_config, "consumerKeyVault", DELETE)))
    assert line.startswith("genai-gateway:consumerKeyVault.privateDnsZoneId: (missing): required when ingress.enabled")
    assert "customer-support, knowledge-search" in line


def test_the_platform_zone_must_be_a_vault_private_dns_zone_id(prod_config: dict) -> None:
    zones = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Network/privateDnsZones"
    other = f"{zones}/privatelink.blob.core.windows.net"
    line = only(problems(with_value(prod_config, "consumerKeyVault.privateDnsZoneId", other)))
    assert line.startswith("genai-gateway:consumerKeyVault.privateDnsZoneId: ")
    assert line.endswith(
        ": must be the Azure resource id of a privatelink.vaultcore.azure.net private DNS zone: /subscriptions/"
        "<subscription id>/resourceGroups/<resource group>/providers/Microsoft.Network/privateDnsZones/"
        "privatelink.vaultcore.azure.net"
    )


def test_a_stack_without_key_readers_declares_no_key_vault() -> None:
    consumers = [{k: v for k, v in c.items() if k != "keyVaultReader"} for c in raw_config("dev")["consumers"]]
    recording = run_stack("dev", {"consumers": consumers})
    assert recording.of_type("genai-gateway:keys:ConsumerKeyVault") == []
    assert set(key_outputs(recording)) == {"team-alpha", "team-beta", "team-gamma", "smoke"}


def test_a_key_reader_must_be_a_guid(dev_config: dict) -> None:
    line = only(problems(with_value(dev_config, "consumers.0.keyVaultReader.principalId", "team-alpha-group")))
    assert line.startswith("genai-gateway:consumers['team-alpha'].keyVaultReader.principalId: 'team-alpha-group': ")


@pytest.mark.parametrize("kind", ["Application", "group"])
def test_a_key_reader_type_is_group_service_principal_or_user(dev_config: dict, kind: str) -> None:
    line = only(problems(with_value(dev_config, "consumers.0.keyVaultReader.principalType", kind)))
    assert "keyVaultReader.principalType" in line and "'Group', 'ServicePrincipal' or 'User'" in line


def test_a_key_reader_names_its_principal_type(dev_config: dict) -> None:
    line = only(problems(with_value(dev_config, "consumers.0.keyVaultReader.principalType", DELETE)))
    assert line == "genai-gateway:consumers['team-alpha'].keyVaultReader.principalType: (missing): required key"
