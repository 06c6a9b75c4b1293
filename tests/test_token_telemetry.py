"""TokenTelemetryHub and the usage record: every token the gateway serves reaches chargeback and monitoring."""

from __future__ import annotations

import re
from typing import Any

import pytest

from components.access import ROLE_DEFINITIONS
from components.settings import PROJECT
from components.token_telemetry import USAGE_LOGGER_NAME, TokenTelemetryHub
from tests.support import DELETE, parse, problems, raw_config, with_value
from tools.azure_mocks import AzureMocks
from tools.harness import RecordedResource, Recording, reveal

NAMESPACE = "azure-native:eventhub:Namespace"
EVENT_HUB = "azure-native:eventhub:EventHub"
CONSUMER_GROUP = "azure-native:eventhub:ConsumerGroup"
LOGGER = "azure-native:apimanagement:Logger"
ROLE = "azure-native:authorization:RoleAssignment"
PE = "azure-native:network:PrivateEndpoint"
ZONE_GROUP = "azure-native:network:PrivateDnsZoneGroup"
ZONE = "azure-native:privatedns:PrivateZone"
ZONE_LINK = "azure-native:privatedns:VirtualNetworkLink"
STORAGE = "azure-native:storage:StorageAccount"
CONTAINER = "azure-native:storage:BlobContainer"
DIAGNOSTIC_SETTING = "azure-native:monitor:DiagnosticSetting"
COMPONENT = "genai-gateway:telemetry:TokenTelemetryHub"

EVENT_HUBS_DATA_SENDER = "2b629674-e913-4c01-ae53-ef4638d8f975"
STORAGE_BLOB_DATA_CONTRIBUTOR = "ba92f5b4-2d11-453d-a403-e96b0029c9fe"


def namespace(r: Recording) -> RecordedResource:
    return r.one(NAMESPACE, "telemetry-namespace")


def usage_hub(r: Recording) -> RecordedResource:
    return r.one(EVENT_HUB, "telemetry-usage")


def usage_logger(r: Recording) -> RecordedResource:
    return r.one(LOGGER, "telemetry-logger")


def sender_role(r: Recording) -> RecordedResource:
    return r.one(ROLE, "telemetry-sender-role-azure-event-hubs-data-sender")


def capture_role(r: Recording) -> RecordedResource:
    return r.one(ROLE, "telemetry-capture-role-storage-blob-data-contributor")


def telemetry_resources(r: Recording) -> list[RecordedResource]:
    return list(r.descendants(r.one(COMPONENT)))


def gateway_identity(r: Recording) -> RecordedResource:
    return r.one("azure-native:managedidentity:UserAssignedIdentity", "gateway-identity")


def fabricated(r: Recording, name: str, kind: str) -> str:
    """A value Azure assigns at deployment, as the mock fabricates it from the resource name."""
    return AzureMocks(r.stack)._guid(name, kind)


def settings_of(r: Recording) -> Any:
    return parse(raw_config(r.stack)).telemetry


def plain(value: Any) -> Any:
    value = reveal(value)
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    return value


# -- Event Hubs namespace and usage hub ------------------------------------------------------------


def test_namespace_is_reachable_only_privately(stack: Recording) -> None:
    assert namespace(stack).get("publicNetworkAccess") == "Disabled"


def test_namespace_accepts_no_keys_only_entra_id(stack: Recording) -> None:
    assert namespace(stack).get("disableLocalAuth") is True


def test_namespace_requires_tls_1_2(stack: Recording) -> None:
    assert namespace(stack).get("minimumTlsVersion") == "1.2"


def test_namespace_is_standard_with_the_configured_throughput_units(stack: Recording) -> None:
    ns = namespace(stack)
    assert ns.get("sku") == {"name": "Standard", "tier": "Standard", "capacity": settings_of(stack).event_hub.capacity}


def test_namespace_name_is_globally_unique_per_stack(dev: Recording, prod: Recording) -> None:
    names = {namespace(r).get("namespaceName") for r in (dev, prod)}
    assert len(names) == 2
    assert all(re.fullmatch(r"[a-z][a-z0-9-]{4,48}[a-z0-9]", n) for n in names), names


def test_prod_namespace_is_zone_redundant(prod: Recording, dev: Recording) -> None:
    assert namespace(prod).get("zoneRedundant") is True
    assert namespace(dev).get("zoneRedundant") is False


def test_usage_hub_has_the_configured_partitions_and_retention(stack: Recording) -> None:
    hub, s = usage_hub(stack), settings_of(stack).event_hub
    assert hub.get("namespaceName") == namespace(stack).get("namespaceName")
    assert hub.get("partitionCount") == s.partition_count
    assert hub.get("messageRetentionInDays") == s.retention_days


def test_chargeback_pipeline_has_its_own_consumer_group(stack: Recording) -> None:
    group = stack.one(CONSUMER_GROUP, "telemetry-chargeback")
    assert group.get("consumerGroupName") == "chargeback"
    assert group.get("eventHubName") == usage_hub(stack).get("eventHubName")


def test_prod_protects_the_namespace(prod: Recording, dev: Recording) -> None:
    assert namespace(prod).protect is True
    assert namespace(dev).protect is False


def test_namespace_resource_logs_go_to_log_analytics(stack: Recording) -> None:
    setting = stack.one(DIAGNOSTIC_SETTING, "telemetry-namespace-logs")
    assert setting.get("resourceUri") == namespace(stack).id
    assert setting.get("workspaceId") == stack.one("azure-native:operationalinsights:Workspace").id
    assert setting.get("logs") == [{"categoryGroup": "allLogs", "enabled": True}]


# -- private endpoint and DNS ------------------------------------------------------------------------


def test_namespace_private_endpoint_targets_the_namespace_sub_resource(stack: Recording) -> None:
    pe = stack.one(PE, "telemetry-evh-pe")
    (connection,) = pe.get("privateLinkServiceConnections")
    assert connection["privateLinkServiceId"] == namespace(stack).id
    assert connection["groupIds"] == ["namespace"]
    assert pe.get("subnet.id") == stack.one("azure-native:network:Subnet", "gateway-pe-subnet").id


def test_namespace_private_endpoint_registers_in_the_servicebus_private_zone(stack: Recording) -> None:
    group = stack.one(ZONE_GROUP, "telemetry-evh-pe-dns")
    zone = stack.one(ZONE, "telemetry-evh-dns")
    assert zone.get("privateZoneName") == "privatelink.servicebus.windows.net"
    assert zone.get("location") == "global"
    assert group.get("privateDnsZoneConfigs") == [{"name": "namespace", "privateDnsZoneId": zone.id}]


def test_servicebus_private_zone_is_linked_to_the_vnet_without_registration(stack: Recording) -> None:
    link = stack.one(ZONE_LINK, "telemetry-evh-dns-link")
    assert link.get("privateZoneName") == "privatelink.servicebus.windows.net"
    assert link.get("virtualNetwork.id") == stack.one("azure-native:network:VirtualNetwork").id
    assert link.get("registrationEnabled") is False


# -- the gateway may send ----------------------------------------------------------------------------


def test_gateway_identity_is_event_hubs_data_sender_on_the_usage_hub_only(stack: Recording) -> None:
    role = sender_role(stack)
    assert ROLE_DEFINITIONS["Azure Event Hubs Data Sender"] == EVENT_HUBS_DATA_SENDER
    assert role.get("roleDefinitionId").endswith(f"/Microsoft.Authorization/roleDefinitions/{EVENT_HUBS_DATA_SENDER}")
    assert role.get("scope") == usage_hub(stack).id
    assert role.get("principalId") == fabricated(stack, gateway_identity(stack).name, "principal")
    assert role.get("principalType") == "ServicePrincipal"


# -- the APIM logger ---------------------------------------------------------------------------------


def test_logger_is_the_usage_eventhub_logger_policies_reference(stack: Recording) -> None:
    logger = usage_logger(stack)
    assert logger.get("loggerId") == "usage-eventhub"
    assert logger.get("loggerType") == "azureEventHub"
    assert logger.get("serviceName") == stack.one("azure-native:apimanagement:ApiManagementService").get("serviceName")
    assert logger.get("resourceId") == usage_hub(stack).id


def test_exposed_logger_name_is_the_logger_id_policies_use(stack: Recording) -> None:
    # GatewayPolicies renders `<log-to-eventhub logger-id="...">` from TokenTelemetryHub.usage_logger_name.
    assert "usage_logger_name" in TokenTelemetryHub.__annotations__
    assert USAGE_LOGGER_NAME == usage_logger(stack).get("loggerId") == "usage-eventhub"


def test_logger_endpoint_is_the_namespace_host_name_only(stack: Recording) -> None:
    endpoint = usage_logger(stack).get("credentials.endpointAddress")
    assert endpoint == f"{namespace(stack).get('namespaceName')}.servicebus.windows.net"
    assert "://" not in endpoint and ":" not in endpoint and "/" not in endpoint


def test_logger_authenticates_with_the_gateway_user_assigned_identity(stack: Recording) -> None:
    logger = usage_logger(stack)
    assert logger.get("credentials.identityClientId") == fabricated(stack, gateway_identity(stack).name, "client")
    assert logger.get("credentials.name") == usage_hub(stack).get("eventHubName")
    assert set(plain(logger.get("credentials"))) == {"endpointAddress", "identityClientId", "name"}


def test_no_connection_string_or_shared_access_key_anywhere_in_telemetry(stack: Recording) -> None:
    text = repr([plain(r.inputs) for r in telemetry_resources(stack)]).lower()
    for forbidden in ("connectionstring", "sharedaccesskey", "endpoint=sb://", "sb://"):
        assert forbidden not in text, forbidden


def test_logger_waits_for_the_sender_role_and_private_dns(stack: Recording) -> None:
    logger = usage_logger(stack)
    assert stack.depends_on(logger, sender_role(stack))
    assert stack.depends_on(logger, stack.one(ZONE_GROUP, "telemetry-evh-pe-dns"))
    assert stack.depends_on(logger, stack.one("azure-native:apimanagement:ApiManagementService"))


def test_token_metrics_reach_application_insights_through_the_baseline_diagnostic(stack: Recording) -> None:
    diagnostic = stack.one("azure-native:apimanagement:Diagnostic", "gateway-appinsights-diagnostic")
    assert diagnostic.get("diagnosticId") == "applicationinsights"
    assert diagnostic.get("metrics") is True
    # One Application Insights logger for the service: the telemetry hub adds only the Event Hub logger (the
    # Azure Monitor logger is the LLM logging's, tests/test_usage_record.py).
    assert sorted(r.get("loggerType") for r in stack.of_type(LOGGER)) == [
        "applicationInsights",
        "azureEventHub",
        "azureMonitor",
    ]


def test_usage_event_hub_is_exported_without_secrets(stack: Recording) -> None:
    exported = stack.outputs["usageEventHub"]
    assert exported == {"namespace": namespace(stack).get("namespaceName"), "eventHub": "token-usage"}


# -- capture -----------------------------------------------------------------------------------------


def test_prod_captures_every_usage_record_as_avro_with_the_configured_windows(prod: Recording) -> None:
    capture, s = usage_hub(prod).get("captureDescription"), settings_of(prod).capture
    assert capture["enabled"] is True
    assert capture["encoding"] == "Avro"
    assert capture["intervalInSeconds"] == s.interval_seconds
    assert capture["sizeLimitInBytes"] == s.size_limit_bytes


def test_capture_writes_to_the_capture_container_as_the_namespace_identity(prod: Recording) -> None:
    destination = usage_hub(prod).get("captureDescription.destination")
    account = prod.one(STORAGE, "telemetry-capture")
    assert destination["name"] == "EventHubArchive.AzureBlockBlob"
    assert destination["storageAccountResourceId"] == account.id
    assert destination["blobContainer"] == prod.one(CONTAINER, "telemetry-capture-container").get("containerName")
    assert destination["identity"] == {"type": "SystemAssigned"}
    assert namespace(prod).get("identity") == {"type": "SystemAssigned"}


def test_capture_account_is_locked_down(prod: Recording) -> None:
    account = prod.one(STORAGE, "telemetry-capture")
    assert account.get("kind") == "StorageV2"
    assert account.get("allowSharedKeyAccess") is False
    assert account.get("allowBlobPublicAccess") is False
    assert account.get("minimumTlsVersion") == "TLS1_2"
    assert account.get("enableHttpsTrafficOnly") is True
    assert prod.one(CONTAINER, "telemetry-capture-container").get("publicAccess") == "None"


def test_capture_account_firewall_denies_all_but_trusted_azure_services(prod: Recording) -> None:
    # Capture writes from outside the VNet as a trusted service; that exception needs the firewall, which
    # publicNetworkAccess Disabled would bypass entirely. So: endpoint on, deny-all, no IP or VNet rules.
    account = prod.one(STORAGE, "telemetry-capture")
    assert account.get("publicNetworkAccess") == "Enabled"
    assert account.get("networkRuleSet") == {
        "defaultAction": "Deny",
        "bypass": "AzureServices",
        "ipRules": [],
        "virtualNetworkRules": [],
    }


def test_capture_account_readers_use_a_blob_private_endpoint(prod: Recording) -> None:
    pe = prod.one(PE, "telemetry-capture-pe")
    (connection,) = pe.get("privateLinkServiceConnections")
    assert connection["privateLinkServiceId"] == prod.one(STORAGE, "telemetry-capture").id
    assert connection["groupIds"] == ["blob"]
    zone = prod.one(ZONE, "telemetry-blob-dns")
    assert zone.get("privateZoneName") == "privatelink.blob.core.windows.net"
    assert prod.one(ZONE_GROUP, "telemetry-capture-pe-dns").get("privateDnsZoneConfigs") == [
        {"name": "blob", "privateDnsZoneId": zone.id}
    ]
    assert prod.one(ZONE_LINK, "telemetry-blob-dns-link").get("virtualNetwork.id") == prod.one(
        "azure-native:network:VirtualNetwork"
    ).id


def test_namespace_identity_is_blob_data_contributor_on_the_capture_account(prod: Recording) -> None:
    role = capture_role(prod)
    assert role.get("roleDefinitionId").endswith(f"/roleDefinitions/{STORAGE_BLOB_DATA_CONTRIBUTOR}")
    assert role.get("scope") == prod.one(STORAGE, "telemetry-capture").id
    assert role.get("principalId") == fabricated(prod, "telemetry-namespace", "system-principal")


def test_capture_is_configured_only_after_the_namespace_may_write(prod: Recording) -> None:
    assert prod.depends_on(usage_hub(prod), capture_role(prod))
    assert prod.depends_on(usage_hub(prod), prod.one(CONTAINER, "telemetry-capture-container"))


def test_prod_protects_the_capture_account(prod: Recording) -> None:
    assert prod.one(STORAGE, "telemetry-capture").protect is True


def test_dev_has_no_capture(dev: Recording) -> None:
    assert usage_hub(dev).get("captureDescription") is None
    assert namespace(dev).get("identity") is None
    assert not [r for r in telemetry_resources(dev) if r.type in (STORAGE, CONTAINER)]


# -- settings ----------------------------------------------------------------------------------------

KEY = f"{PROJECT}:telemetry"


def test_telemetry_may_be_omitted_outside_production(dev_config: dict) -> None:
    config = with_value(dev_config, "telemetry", DELETE)
    assert problems(config) == []
    s = parse(config).telemetry
    assert (s.event_hub.capacity, s.capture.enabled, s.hash_client_ip) == (1, False, False)


def test_stacks_read_the_client_ip_hashing_switch(dev_config: dict, prod_config: dict) -> None:
    assert parse(dev_config).telemetry.hash_client_ip is False
    assert parse(prod_config).telemetry.hash_client_ip is True


@pytest.mark.parametrize(
    ("path", "value", "bound"),
    [
        ("eventHub.capacity", 0, "greater than or equal to 1"),
        ("eventHub.capacity", 41, "less than or equal to 40"),
        ("eventHub.partitionCount", 0, "greater than or equal to 1"),
        ("eventHub.partitionCount", 33, "less than or equal to 32"),
        ("eventHub.retentionDays", 0, "greater than or equal to 1"),
        ("eventHub.retentionDays", 8, "less than or equal to 7"),
        ("capture.intervalSeconds", 59, "greater than or equal to 60"),
        ("capture.intervalSeconds", 901, "less than or equal to 900"),
        ("capture.sizeLimitBytes", 10485759, "greater than or equal to 10485760"),
        ("capture.sizeLimitBytes", 524288001, "less than or equal to 524288000"),
    ],
)
def test_azure_limits_are_enforced(prod_config: dict, path: str, value: int, bound: str) -> None:
    (line,) = problems(with_value(prod_config, f"telemetry.{path}", value))
    assert line == f"{KEY}.{path}: {value}: input should be {bound}"


def test_misspelled_telemetry_key_names_the_nearest_allowed_key(dev_config: dict) -> None:
    (line,) = problems(with_value(dev_config, "telemetry.eventHub.partitions", 4))
    assert line.startswith(f"{KEY}.eventHub.partitions: unknown key")
    assert "did you mean 'partitionCount'" in line


def test_client_ip_hashing_switch_must_be_a_boolean(dev_config: dict) -> None:
    (line,) = problems(with_value(dev_config, "telemetry.hashClientIp", "sometimes"))
    assert line.startswith(f"{KEY}.hashClientIp: 'sometimes': ")


def test_production_must_capture_usage_records(prod_config: dict) -> None:
    (line,) = problems(with_value(prod_config, "telemetry.capture.enabled", False))
    assert line.startswith(f"{KEY}.capture.enabled: false: must be true in production")


def test_production_event_hub_must_be_zone_redundant(prod_config: dict) -> None:
    (line,) = problems(with_value(prod_config, "telemetry.eventHub.zoneRedundant", False))
    assert line.startswith(f"{KEY}.eventHub.zoneRedundant: false: must be true in production")


def test_production_without_telemetry_settings_names_both_rules(prod_config: dict) -> None:
    lines = problems(with_value(prod_config, "telemetry", DELETE))
    assert [line.split(":")[1] for line in lines] == ["telemetry.capture.enabled", "telemetry.eventHub.zoneRedundant"]
