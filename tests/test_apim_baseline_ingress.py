"""ApimBaseline, WAF ingress (prod only): an Application Gateway WAF_v2 in Prevention mode in front of the internal
gateway, with the Key Vault certificate read by its own identity, TLS 1.2, a status probe, and streamed responses.
"""

from __future__ import annotations

from components.access import ROLE_DEFINITIONS
from tests.apim_baseline_support import AGW, IDENTITY, ROLE, apim_of
from tools.harness import Recording


def test_waf_policy_blocks_in_prevention_mode_with_owasp_3_2(prod: Recording) -> None:
    waf = prod.one("azure-native:network:WebApplicationFirewallPolicy")
    assert waf.get("policySettings.state") == "Enabled"
    assert waf.get("policySettings.mode") == "Prevention"
    assert waf.get("policySettings.requestBodyCheck") is True
    assert waf.get("managedRules.managedRuleSets") == [{"ruleSetType": "OWASP", "ruleSetVersion": "3.2"}]


def test_app_gateway_is_waf_v2_linked_to_the_policy(prod: Recording) -> None:
    agw = prod.one(AGW)
    assert agw.get("sku") == {"name": "WAF_v2", "tier": "WAF_v2"}
    assert agw.get("firewallPolicy.id") == prod.one("azure-native:network:WebApplicationFirewallPolicy").id
    assert agw.get("autoscaleConfiguration") == {"minCapacity": 2, "maxCapacity": 10}
    assert agw.get("zones") == ["1", "2", "3"]


def test_https_listener_uses_the_key_vault_certificate_and_tls_1_2(prod: Recording) -> None:
    agw = prod.one(AGW)
    assert agw.get("sslCertificates.0.keyVaultSecretId") == (
        "https://kv-contoso-platform.vault.azure.net/secrets/genai-gateway-tls"
    )
    assert agw.get("sslPolicy") == {"policyType": "Predefined", "policyName": "AppGwSslPolicy20220101S"}
    listener = agw.get("httpListeners.0")
    assert (listener["protocol"], listener["hostName"]) == ("Https", "genai.contoso.example")
    assert listener["sslCertificate"]["id"].endswith("/sslCertificates/listener-certificate")
    assert agw.get("frontendPorts") == [{"name": "https", "port": 443}]


def test_app_gateway_reads_the_certificate_with_its_own_identity(prod: Recording) -> None:
    agw = prod.one(AGW)
    identity = prod.one(IDENTITY, "gateway-ingress-identity")
    assert agw.get("identity.userAssignedIdentities") == [identity.id]
    role = prod.one(ROLE, "gateway-ingress-keyvault-role-key-vault-secrets-user")
    # Only the listener certificate, not every secret of the platform vault.
    assert role.get("scope").endswith(
        "/providers/Microsoft.KeyVault/vaults/kv-contoso-platform/secrets/genai-gateway-tls"
    )
    # The role definition id is in the vault's subscription, not the deploying one.
    assert role.get("roleDefinitionId") == (
        "/subscriptions/11111111-2222-4333-8444-555555555555/providers/Microsoft.Authorization/roleDefinitions/"
        + ROLE_DEFINITIONS["Key Vault Secrets User"]
    )
    assert prod.depends_on(agw, role)


def test_app_gateway_forwards_to_the_apim_gateway_with_a_status_probe(prod: Recording) -> None:
    agw = prod.one(AGW)
    service = apim_of(prod).get("serviceName")
    assert agw.get("backendAddressPools.0.backendAddresses") == [{"fqdn": f"{service}.azure-api.net"}]
    settings = agw.get("backendHttpSettingsCollection.0")
    assert (settings["port"], settings["protocol"], settings["pickHostNameFromBackendAddress"]) == (443, "Https", True)
    probe = agw.get("probes.0")
    assert (probe["protocol"], probe["path"]) == ("Https", "/status-0123456789abcdef")
    assert probe["match"] == {"statusCodes": ["200-399"]}


def test_app_gateway_has_its_own_standard_public_ip(prod: Recording) -> None:
    agw = prod.one(AGW)
    pip = prod.by_id(agw.get("frontendIPConfigurations.0.publicIPAddress.id"))
    assert pip.name == "gateway-ingress-pip"
    assert (pip.get("sku.name"), pip.get("publicIPAllocationMethod")) == ("Standard", "Static")


def test_app_gateway_waits_for_the_private_dns_records(prod: Recording) -> None:
    agw = prod.one(AGW)
    for record in prod.of_type("azure-native:privatedns:PrivateRecordSet"):
        assert prod.depends_on(agw, record)


def test_dev_has_no_ingress(dev: Recording) -> None:
    assert not dev.of_type(AGW) and not dev.of_type("azure-native:network:WebApplicationFirewallPolicy")


def test_public_base_url_is_the_app_gateway_host_in_prod_and_the_gateway_in_dev(
    dev: Recording, prod: Recording
) -> None:
    assert prod.outputs["gatewayUrl"] == "https://genai.contoso.example"
    assert dev.outputs["gatewayUrl"] == f"https://{apim_of(dev).get('serviceName')}.azure-api.net"


def test_app_gateway_streams_responses_and_buffers_requests_for_the_waf(prod: Recording) -> None:
    assert prod.one(AGW).get("globalConfiguration") == {
        "enableRequestBuffering": True,
        "enableResponseBuffering": False,
    }
