"""ApimBaseline: the network and gateway foundation, asserted on the properties Azure receives."""

from __future__ import annotations

import pytest

from components.access import ROLE_DEFINITIONS, assignment_name
from components.apim_baseline import HARDENED_PROTOCOLS
from tests.support import raw_config
from tools.azure_mocks import identity_client_id
from tools.harness import RecordedResource, Recording, run_stack

APIM = "azure-native:apimanagement:ApiManagementService"
NSG = "azure-native:network:NetworkSecurityGroup"
SUBNET = "azure-native:network:Subnet"
PIP = "azure-native:network:PublicIPAddress"
IDENTITY = "azure-native:managedidentity:UserAssignedIdentity"
ROLE = "azure-native:authorization:RoleAssignment"
AGW = "azure-native:network:ApplicationGateway"


def rule(nsg: RecordedResource, name: str) -> dict:
    rules = {r["name"]: r for r in nsg.get("securityRules")}
    assert name in rules, f"{nsg.name} has no rule {name}; has {sorted(rules)}"
    return rules[name]


def apim_of(recording: Recording) -> RecordedResource:
    return recording.one(APIM)


def gateway_identity(recording: Recording) -> RecordedResource:
    return recording.one(IDENTITY, "gateway-identity")


@pytest.fixture(scope="module")
def standard_v2() -> Recording:
    config = raw_config("dev")
    config["apim"] = {**config["apim"], "sku": "StandardV2", "networkMode": "Integration"}
    config["network"]["subnets"]["apim"] = "10.20.1.0/27"
    return run_stack("dev", overrides={"apim": config["apim"], "network": config["network"]})


# -- network --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "source", "port"),
    [("AllowApimManagement", "ApiManagement", ["3443"]), ("AllowAzureLoadBalancer", "AzureLoadBalancer", ["6390"])],
)
def test_injected_apim_subnet_admits_management_and_load_balancer(
    stack: Recording, name: str, source: str, port: list[str]
) -> None:
    r = rule(stack.one(NSG, "gateway-apim-nsg"), name)
    assert (r["direction"], r["access"], r["protocol"]) == ("Inbound", "Allow", "Tcp")
    assert (r["sourceAddressPrefix"], r["destinationAddressPrefix"], r["destinationPortRanges"]) == (
        source,
        "VirtualNetwork",
        port,
    )


@pytest.mark.parametrize(
    ("name", "tag", "ports"),
    [
        ("AllowStorage", "Storage", ["443"]),
        ("AllowSql", "Sql", ["1433"]),
        ("AllowKeyVault", "AzureKeyVault", ["443"]),
        ("AllowAzureMonitor", "AzureMonitor", ["1886", "443"]),
    ],
)
def test_injected_apim_subnet_reaches_its_dependencies(stack: Recording, name: str, tag: str, ports: list[str]) -> None:
    r = rule(stack.one(NSG, "gateway-apim-nsg"), name)
    assert (r["direction"], r["access"], r["sourceAddressPrefix"]) == ("Outbound", "Allow", "VirtualNetwork")
    assert (r["destinationAddressPrefix"], r["destinationPortRanges"]) == (tag, ports)


def test_external_gateway_admits_client_https_from_the_internet(dev: Recording) -> None:
    r = rule(dev.one(NSG, "gateway-apim-nsg"), "AllowClientHttps")
    assert (r["sourceAddressPrefix"], r["destinationPortRanges"]) == ("Internet", ["443"])


def test_internal_gateway_admits_https_only_from_the_app_gateway_subnet(prod: Recording) -> None:
    nsg = prod.one(NSG, "gateway-apim-nsg")
    assert all(r["sourceAddressPrefix"] != "Internet" for r in nsg.get("securityRules"))
    assert rule(nsg, "AllowAppGatewayHttps")["sourceAddressPrefix"] == "10.30.3.0/24"


def test_classic_apim_subnet_has_its_nsg_and_no_delegation(stack: Recording) -> None:
    subnet = stack.one(SUBNET, "gateway-apim-subnet")
    assert subnet.get("networkSecurityGroup.id") == stack.one(NSG, "gateway-apim-nsg").id
    assert not subnet.get("delegations")


def test_v2_gateway_subnet_is_delegated_to_server_farms(standard_v2: Recording) -> None:
    subnet = standard_v2.one(SUBNET, "gateway-apim-subnet")
    assert [d["serviceName"] for d in subnet.get("delegations")] == ["Microsoft.Web/serverFarms"]
    assert subnet.get("networkSecurityGroup.id") == standard_v2.one(NSG, "gateway-apim-nsg").id


def test_v2_gateway_uses_outbound_integration_without_a_public_ip(standard_v2: Recording) -> None:
    apim = apim_of(standard_v2)
    assert apim.get("sku.name") == "StandardV2"
    assert apim.get("virtualNetworkType") == "External"
    assert apim.get("virtualNetworkConfiguration.subnetResourceId") == standard_v2.one(SUBNET, "gateway-apim-subnet").id
    assert apim.get("publicIpAddressId") is None and not standard_v2.of_type(PIP)


def test_private_endpoint_subnet_enforces_network_policies(stack: Recording) -> None:
    subnet = stack.one(SUBNET, "gateway-pe-subnet")
    assert subnet.get("privateEndpointNetworkPolicies") == "Enabled"
    assert subnet.get("networkSecurityGroup.id") == stack.one(NSG, "gateway-pe-nsg").id


def test_private_endpoints_answer_only_the_gateway_subnet(stack: Recording) -> None:
    nsg = stack.one(NSG, "gateway-pe-nsg")
    allow = rule(nsg, "AllowGatewayToServices")
    apim_prefix = stack.one(SUBNET, "gateway-apim-subnet").get("addressPrefix")
    assert (allow["access"], allow["sourceAddressPrefix"], allow["priority"]) == ("Allow", apim_prefix, 100)
    deny = rule(nsg, "DenyOtherVirtualNetworkInbound")
    assert (deny["access"], deny["sourceAddressPrefix"], deny["destinationPortRanges"]) == (
        "Deny",
        "VirtualNetwork",
        ["*"],
    )
    assert deny["priority"] < 65000  # ahead of Azure's default AllowVnetInBound


def test_subnets_of_one_vnet_are_created_one_after_another(prod: Recording) -> None:
    apim, pe, agw = (prod.one(SUBNET, f"gateway-{n}-subnet") for n in ("apim", "pe", "agw"))
    assert prod.depends_on(pe, apim) and prod.depends_on(agw, pe)


def test_subnets_match_the_address_plan(prod: Recording) -> None:
    prefixes = {s.name: s.get("addressPrefix") for s in prod.of_type(SUBNET)}
    assert prefixes == {
        "gateway-apim-subnet": "10.30.1.0/24",
        "gateway-pe-subnet": "10.30.2.0/24",
        "gateway-agw-subnet": "10.30.3.0/24",
    }
    assert prod.one("azure-native:network:VirtualNetwork").get("addressSpace.addressPrefixes") == ["10.30.0.0/16"]


def test_app_gateway_subnet_admits_v2_infrastructure_ports(prod: Recording) -> None:
    nsg = prod.one(NSG, "gateway-agw-nsg")
    assert rule(nsg, "AllowGatewayManager")["sourceAddressPrefix"] == "GatewayManager"
    assert rule(nsg, "AllowGatewayManager")["destinationPortRanges"] == ["65200-65535"]
    assert rule(nsg, "AllowAzureLoadBalancer")["sourceAddressPrefix"] == "AzureLoadBalancer"
    assert rule(nsg, "AllowClientHttps")["destinationPortRanges"] == ["443"]


# -- the API Management service ---------------------------------------------------------------------


def test_dev_gateway_is_developer_in_external_mode_with_a_standard_static_public_ip(dev: Recording) -> None:
    apim = apim_of(dev)
    assert (apim.get("sku.name"), apim.get("sku.capacity")) == ("Developer", 1)
    assert apim.get("virtualNetworkType") == "External"
    pip = dev.by_id(apim.get("publicIpAddressId"))
    assert pip.get("sku.name") == "Standard"
    assert pip.get("publicIPAllocationMethod") == "Static"
    assert pip.get("publicIPAddressVersion") == "IPv4"
    assert pip.get("dnsSettings.domainNameLabel")


def test_prod_gateway_is_premium_with_two_units_in_two_zones_in_internal_mode(prod: Recording) -> None:
    apim = apim_of(prod)
    assert (apim.get("sku.name"), apim.get("sku.capacity"), apim.get("zones")) == ("Premium", 2, ["1", "2"])
    assert apim.get("virtualNetworkType") == "Internal"
    assert apim.get("publicIpAddressId") is None


def test_gateway_is_injected_into_the_apim_subnet(stack: Recording) -> None:
    subnet = stack.one(SUBNET, "gateway-apim-subnet")
    assert apim_of(stack).get("virtualNetworkConfiguration.subnetResourceId") == subnet.id


def test_gateway_has_system_and_user_assigned_identities(stack: Recording) -> None:
    identity = apim_of(stack).get("identity")
    assert identity["type"] == "SystemAssigned, UserAssigned"
    assert list(identity["userAssignedIdentities"]) == [gateway_identity(stack).id]


def test_control_plane_rejects_retired_api_versions(stack: Recording) -> None:
    assert apim_of(stack).get("apiVersionConstraint.minApiVersion") == "2021-08-01"


def test_legacy_tls_ssl_and_triple_des_are_disabled(stack: Recording) -> None:
    props = apim_of(stack).get("customProperties")
    for protocol in ("Tls10", "Tls11", "Ssl30"):
        assert props[f"Microsoft.WindowsAzure.ApiManagement.Gateway.Security.Protocols.{protocol}"] == "false"
        assert props[f"Microsoft.WindowsAzure.ApiManagement.Gateway.Security.Backend.Protocols.{protocol}"] == "false"
    assert props["Microsoft.WindowsAzure.ApiManagement.Gateway.Security.Ciphers.TripleDes168"] == "false"
    assert props == HARDENED_PROTOCOLS


def test_publisher_comes_from_settings(stack: Recording) -> None:
    apim = apim_of(stack)
    assert apim.get("publisherName") == "Contoso Platform Team"
    assert apim.get("publisherEmail") == "platform-team@contoso.example"


def test_gateway_name_is_globally_unique_per_stack(dev: Recording, prod: Recording) -> None:
    dev_name, prod_name = apim_of(dev).get("serviceName"), apim_of(prod).get("serviceName")
    assert dev_name.startswith("apim-genai-dev-") and prod_name.startswith("apim-genai-prod-")
    assert len(dev_name.rsplit("-", 1)[1]) == 5


def test_prod_protects_the_gateway_and_its_logs(prod: Recording, dev: Recording) -> None:
    assert apim_of(prod).protect and prod.one("azure-native:operationalinsights:Workspace").protect
    assert not apim_of(dev).protect


# -- observability ----------------------------------------------------------------------------------


def test_application_insights_is_workspace_based_and_entra_only(stack: Recording) -> None:
    insights = stack.one("azure-native:applicationinsights:Component")
    workspace = stack.one("azure-native:operationalinsights:Workspace")
    assert insights.get("workspaceResourceId") == workspace.id
    assert insights.get("ingestionMode") == "LogAnalytics"
    assert insights.get("disableLocalAuth") is True


def test_app_insights_logger_authenticates_with_the_gateway_identity(stack: Recording) -> None:
    logger = stack.one("azure-native:apimanagement:Logger", "gateway-appinsights-logger")
    insights = stack.one("azure-native:applicationinsights:Component")
    assert logger.get("loggerType") == "applicationInsights"
    assert logger.get("resourceId") == insights.id
    assert logger.get("credentials.identityClientId") == identity_client_id(stack.stack, "gateway-identity")
    assert logger.get("credentials.connectionString").startswith("InstrumentationKey=")


def test_app_insights_connection_string_is_kept_secret(stack: Recording) -> None:
    from tools.harness import Secret

    logger = stack.one("azure-native:apimanagement:Logger", "gateway-appinsights-logger")
    assert isinstance(logger.inputs["credentials"], Secret)


def test_gateway_identity_may_publish_metrics_to_application_insights(stack: Recording) -> None:
    insights = stack.one("azure-native:applicationinsights:Component")
    role = stack.one(ROLE, "gateway-appinsights-role-monitoring-metrics-publisher")
    assert role.get("scope") == insights.id
    assert role.get("roleDefinitionId").endswith(f"/roleDefinitions/{ROLE_DEFINITIONS['Monitoring Metrics Publisher']}")
    assert role.get("principalType") == "ServicePrincipal"
    expected_name = assignment_name(insights.id, role.get("principalId"), "Monitoring Metrics Publisher")
    assert role.get("roleAssignmentName") == expected_name
    logger = stack.one("azure-native:apimanagement:Logger", "gateway-appinsights-logger")
    assert stack.depends_on(logger, role)


def test_service_diagnostic_sends_metrics_and_never_payloads(stack: Recording) -> None:
    diagnostic = stack.one("azure-native:apimanagement:Diagnostic", "gateway-appinsights-diagnostic")
    logger = stack.one("azure-native:apimanagement:Logger", "gateway-appinsights-logger")
    assert diagnostic.get("diagnosticId") == "applicationinsights"
    assert diagnostic.get("loggerId") == logger.id
    assert diagnostic.get("metrics") is True
    assert diagnostic.get("httpCorrelationProtocol") == "W3C"
    assert diagnostic.get("alwaysLog") == "allErrors"
    for side in ("frontend", "backend"):
        for direction in ("request", "response"):
            assert diagnostic.get(f"{side}.{direction}.body.bytes") == 0


def test_client_ips_are_not_logged_by_default(stack: Recording) -> None:
    diagnostics = stack.of_type("azure-native:apimanagement:Diagnostic") + stack.of_type(
        "azure-native:apimanagement:ApiDiagnostic"
    )
    # The service's, one per OpenAI API (key callers; with Entra ID callers also theirs), and with alerts the
    # service's azuremonitor diagnostic that logs the remaining-quota header.
    alerts = [d for d in stack.of_type("azure-native:apimanagement:Diagnostic") if d.name == "alerts-azuremonitor"]
    assert len(diagnostics) == 1 + len(stack.of_type("azure-native:apimanagement:Api")) + len(alerts)
    for diagnostic in diagnostics:
        assert diagnostic.get("logClientIp") is False
    # The LLM logging diagnostics, declared through an ARM template, do not log them either.
    template = stack.one("azure-native:resources:Deployment", "policies-llm-logging").get("properties.template")
    assert {r["properties"]["logClientIp"] for r in template["resources"]} == {False}


def test_gateway_resource_logs_go_to_log_analytics(stack: Recording) -> None:
    setting = stack.one("azure-native:monitor:DiagnosticSetting", "gateway-apim-logs")
    assert setting.get("resourceUri") == apim_of(stack).id
    assert setting.get("workspaceId") == stack.one("azure-native:operationalinsights:Workspace").id
    assert setting.get("logs.0.categoryGroup") == "allLogs"


# -- Internal mode DNS --------------------------------------------------------------------------------


def test_internal_host_names_resolve_to_the_private_ip(prod: Recording) -> None:
    zone = prod.one("azure-native:privatedns:PrivateZone", "gateway-apim-dns")
    assert zone.get("privateZoneName") == "azure-api.net"
    assert zone.get("location") == "global"
    service = apim_of(prod).get("serviceName")
    records = {r.get("relativeRecordSetName"): r for r in prod.of_type("azure-native:privatedns:PrivateRecordSet")}
    expected = {service} | {f"{service}.{label}" for label in ("portal", "developer", "management", "scm")}
    assert set(records) == expected
    private_ip = "10.30.1.4"  # the mock hands out the first usable address of the APIM subnet
    for record in records.values():
        assert record.get("recordType") == "A"
        assert record.get("aRecords") == [{"ipv4Address": private_ip}]


def test_internal_dns_zone_is_linked_to_the_vnet_without_registration(prod: Recording) -> None:
    link = prod.one("azure-native:privatedns:VirtualNetworkLink", "gateway-apim-dns-link")
    assert link.get("virtualNetwork.id") == prod.one("azure-native:network:VirtualNetwork").id
    assert link.get("registrationEnabled") is False


def test_external_gateway_needs_no_private_dns_for_its_host_names(dev: Recording) -> None:
    zones = [z.get("privateZoneName") for z in dev.of_type("azure-native:privatedns:PrivateZone")]
    assert "azure-api.net" not in zones


# -- WAF ingress ------------------------------------------------------------------------------------------


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


def test_diagnostics_mask_a_key_sent_in_the_query_string(stack: Recording) -> None:
    for diagnostic in stack.of_type("azure-native:apimanagement:Diagnostic") + stack.of_type(
        "azure-native:apimanagement:ApiDiagnostic"
    ):
        for side in ("frontend", "backend"):
            for direction in ("request", "response"):
                masking = diagnostic.get(f"{side}.{direction}.dataMasking.queryParams")
                assert masking == [{"value": "api-key", "mode": "Hide"}]
