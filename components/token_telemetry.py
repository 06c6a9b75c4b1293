"""TokenTelemetryHub: carries every token the gateway serves to where chargeback and monitoring read it.

A private, key-less Event Hubs namespace with the usage event hub and the chargeback consumer group, the
API Management logger that writes usage records to it with the gateway's user-assigned identity, and,
optionally, Event Hubs Capture of every record to a locked-down storage account. Token metrics go to
Application Insights through the baseline's `appinsights` logger and `applicationinsights` diagnostic
(`metrics: true`), which this component reuses rather than duplicates.
"""

from typing import Any, NotRequired, TypedDict

import pulumi
from pulumi_azure_native import apimanagement, authorization, eventhub, storage

from .access import RoleAssignmentSpec, assign_roles
from .diagnostics import DiagnosticSettingSpec, send_logs
from .naming import Naming
from .private_link import PrivateEndpointSpec, private_endpoint, zone_id
from .role_propagation import after_propagation
from .waits import waiting

# The APIM logger id policies name in `<log-to-eventhub logger-id="...">` (expressions are not allowed there).
USAGE_LOGGER_NAME = "usage-eventhub"
USAGE_EVENT_HUB = "token-usage"
CHARGEBACK_CONSUMER_GROUP = "chargeback"
CAPTURE_CONTAINER = "usage-capture"
# Event Hubs Capture's blob layout; every placeholder is required by the service.
CAPTURE_ARCHIVE_NAME_FORMAT = "{Namespace}/{EventHub}/{PartitionId}/{Year}/{Month}/{Day}/{Hour}/{Minute}/{Second}"
EVENT_HUBS_DNS_ZONE = "privatelink.servicebus.windows.net"
BLOB_DNS_ZONE = "privatelink.blob.core.windows.net"
SERVICE_BUS_SUFFIX = "servicebus.windows.net"


class EventHubOptions(TypedDict, total=False):
    """The Standard namespace and the usage event hub."""

    capacity: int  # throughput units (default 1)
    partition_count: int  # fixed at creation on the Standard tier (default 2)
    retention_days: int  # default 1
    zone_redundant: bool  # default false


class CaptureOptions(TypedDict):
    """Event Hubs Capture of every usage record to a locked-down storage account (Avro)."""

    storage_sku: str  # e.g. "Standard_GZRS"
    interval_seconds: NotRequired[int]  # default 300
    size_limit_bytes: NotRequired[int]  # default 314572800
    # "grant": Storage Blob Data Contributor on the capture account for the identity running `pulumi up`
    # (Event Hubs' linked-access check); "inherited": it holds it already.
    deployer_access: NotRequired[str]
    deployer_principal_type: NotRequired[str]  # "ServicePrincipal" (default) or "User"
    role_propagation_seconds: NotRequired[int]  # default 180


class TokenTelemetryHubArgs(TypedDict):
    """Inputs of TokenTelemetryHub: plain values, no stack settings."""

    location: str
    name_prefix: str
    environment: str
    name_suffix: pulumi.Input[str]
    resource_group_name: pulumi.Input[str]
    # Existing privatelink.servicebus.windows.net / privatelink.blob.core.windows.net zones (landing zone); a zone
    # not given is created here and linked to vnet_id.
    event_hubs_dns_zone_id: NotRequired[pulumi.Input[str]]
    blob_dns_zone_id: NotRequired[pulumi.Input[str]]
    vnet_id: NotRequired[pulumi.Input[str]]
    # AVM `private_endpoints`: the subnet the namespace's (and capture account's) endpoints live in.
    private_endpoint_subnet_id: pulumi.Input[str]
    # AVM `diagnostic_settings`: resource logs and metrics go to this Log Analytics workspace.
    workspace_id: pulumi.Input[str]
    # The API Management service the usage logger belongs to; the logger waits for the service (its id).
    apim_name: pulumi.Input[str]
    apim_id: pulumi.Input[str]
    # The gateway's user-assigned identity: principal for the role assignment, client id for the logger.
    gateway_principal_id: pulumi.Input[str]
    gateway_client_id: pulumi.Input[str]
    event_hub: NotRequired[EventHubOptions]
    capture: NotRequired[CaptureOptions]
    tags: NotRequired[dict[str, str]]
    # Production keeps the namespace and the capture account from a careless `pulumi destroy`.
    protect_stateful: NotRequired[bool]


class TokenTelemetryHub(pulumi.ComponentResource):
    """Private, key-less Event Hubs for usage records, the APIM logger that writes them, optional Capture."""

    usage_logger_name: pulumi.Output[str]
    """The APIM logger id policies name in `<log-to-eventhub logger-id="...">` (USAGE_LOGGER_NAME)."""
    usage_logger_id: pulumi.Output[str]
    namespace_name: pulumi.Output[str]
    event_hub_name: pulumi.Output[str]
    event_hub_id: pulumi.Output[str]

    def __init__(self, name: str, args: TokenTelemetryHubArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("genai-gateway:telemetry:TokenTelemetryHub", name, None, opts)
        self._name, self._args = name, args
        naming = Naming(args["name_prefix"], args["environment"], pulumi.Output.from_input(args["name_suffix"]))
        self._naming = naming
        tags = dict(args.get("tags", {}))
        hub: EventHubOptions = {
            "capacity": 1, "partition_count": 2, "retention_days": 1, "zone_redundant": False,
            **args.get("event_hub", {}),
        }
        self._protect_stateful = args.get("protect_stateful", False)
        location, resource_group_name = args["location"], args["resource_group_name"]
        child = pulumi.ResourceOptions(parent=self)
        capture_options = args.get("capture")
        capture = capture_options is not None
        # Capture writes to storage as the namespace itself (its system-assigned identity).
        system_identity = eventhub.IdentityArgs(type=eventhub.ManagedServiceIdentityType.SYSTEM_ASSIGNED)

        self.namespace = eventhub.Namespace(
            f"{name}-namespace",
            namespace_name=naming.unique("evhns", max_length=50),
            resource_group_name=resource_group_name,
            location=location,
            sku=eventhub.SkuArgs(name="Standard", tier="Standard", capacity=hub["capacity"]),
            zone_redundant=hub["zone_redundant"],
            # Reached only through its private endpoint, only with Entra ID tokens, only over TLS 1.2+.
            public_network_access="Disabled",
            disable_local_auth=True,
            minimum_tls_version="1.2",
            identity=system_identity if capture else None,
            tags=tags,
            opts=pulumi.ResourceOptions(parent=self, protect=self._protect_stateful),
        )
        self.namespace_name = self.namespace.name

        capture_ready: list[pulumi.Resource] = []
        capture_description: eventhub.CaptureDescriptionArgs | None = None
        self.capture_account: storage.StorageAccount | None = None
        if capture_options is not None:
            capture_description, capture_ready = self._capture(capture_options, tags)

        self.event_hub = eventhub.EventHub(
            f"{name}-usage",
            event_hub_name=USAGE_EVENT_HUB,
            namespace_name=self.namespace.name,
            resource_group_name=resource_group_name,
            partition_count=hub["partition_count"],
            message_retention_in_days=hub["retention_days"],
            capture_description=capture_description,
            opts=pulumi.ResourceOptions(parent=self, depends_on=capture_ready),
        )
        self.event_hub_name = self.event_hub.name
        self.event_hub_id = self.event_hub.id

        eventhub.ConsumerGroup(
            f"{name}-chargeback",
            consumer_group_name=CHARGEBACK_CONSUMER_GROUP,
            event_hub_name=self.event_hub.name,
            namespace_name=self.namespace.name,
            resource_group_name=resource_group_name,
            user_metadata="Chargeback pipeline: reads usage records (schemas/usage-record.v1.json)",
            opts=child,
        )

        dns_zone = zone_id(
            f"{name}-evh-dns", EVENT_HUBS_DNS_ZONE, args.get("event_hubs_dns_zone_id"), resource_group_name,
            args.get("vnet_id"), tags, self,
        )
        endpoint = private_endpoint(
            f"{name}-evh-pe",
            azure_name=naming.regional("pe", "evhns"),
            target_id=self.namespace.id,
            group_id="namespace",
            spec=PrivateEndpointSpec(args["private_endpoint_subnet_id"], dns_zone),
            resource_group_name=resource_group_name,
            location=location,
            tags=tags,
            parent=self,
        )

        sender = assign_roles(
            f"{name}-sender-role",
            self.event_hub.id,
            [
                RoleAssignmentSpec(
                    "Azure Event Hubs Data Sender",
                    args["gateway_principal_id"],
                    description="APIM gateway sends usage records to the usage event hub",
                )
            ],
            parent=self,
        )
        send_logs(f"{name}-namespace-logs", self.namespace.id, DiagnosticSettingSpec(args["workspace_id"]), self)

        self.usage_logger_name = pulumi.Output.from_input(USAGE_LOGGER_NAME)
        self.logger = apimanagement.Logger(
            f"{name}-logger",
            logger_id=USAGE_LOGGER_NAME,
            # The service name resolved together with the service id: the logger waits for the service.
            service_name=waiting(args["apim_name"], args["apim_id"]),
            resource_group_name=resource_group_name,
            logger_type="azureEventHub",
            description="Usage records to Event Hubs, authenticated with the gateway's managed identity",
            resource_id=self.event_hub.id,
            is_buffered=True,
            # Managed identity, never a connection string: the namespace has local (SAS) auth disabled.
            credentials=pulumi.Output.all(self.namespace.name, args["gateway_client_id"], self.event_hub.name).apply(
                lambda v: logger_credentials(v[0], v[1], v[2])
            ),
            opts=pulumi.ResourceOptions(
                parent=self,
                # The logger's first send needs the role and the private name resolution in place.
                depends_on=[*sender, endpoint.zone_group],
            ),
        )
        self.usage_logger_id = self.logger.id

        self.register_outputs(
            {
                "namespaceName": self.namespace_name,
                "eventHubName": self.event_hub_name,
                "eventHubId": self.event_hub_id,
                "usageLoggerName": self.usage_logger_name,
                "usageLoggerId": self.usage_logger_id,
            }
        )

    def _capture(
        self, options: CaptureOptions, tags: dict[str, str]
    ) -> tuple[eventhub.CaptureDescriptionArgs, list[pulumi.Resource]]:
        """A locked-down StorageV2 account the namespace's identity writes Avro blobs to."""
        name, args = self._name, self._args
        location, resource_group_name = args["location"], args["resource_group_name"]
        account = storage.StorageAccount(
            f"{name}-capture",
            account_name=self._naming.unique_alphanumeric("stusage"),
            resource_group_name=resource_group_name,
            location=location,
            kind="StorageV2",
            sku=storage.SkuArgs(name=options["storage_sku"]),
            access_tier=storage.AccessTier.HOT,
            # Entra ID only: no account keys, no SAS, no anonymous blobs.
            allow_shared_key_access=False,
            default_to_o_auth_authentication=True,
            allow_blob_public_access=False,
            allow_cross_tenant_replication=False,
            minimum_tls_version="TLS1_2",
            enable_https_traffic_only=True,
            # Capture is written by the Event Hubs service from outside the VNet, as a trusted Azure service.
            # Trusted-service exceptions apply only to the firewall of the public endpoint: with
            # publicNetworkAccess Disabled they do not, and capture would fail. So the endpoint stays on
            # with a deny-all firewall (no IP or VNet rules) that lets only trusted Azure services through;
            # readers use the private endpoint.
            public_network_access="Enabled",
            network_rule_set=storage.NetworkRuleSetArgs(
                default_action=storage.DefaultAction.DENY,
                bypass="AzureServices",
                ip_rules=[],
                virtual_network_rules=[],
            ),
            tags=tags,
            opts=pulumi.ResourceOptions(parent=self, protect=self._protect_stateful),
        )
        self.capture_account = account
        container = storage.BlobContainer(
            f"{name}-capture-container",
            container_name=CAPTURE_CONTAINER,
            account_name=account.name,
            resource_group_name=resource_group_name,
            public_access=storage.PublicAccess.NONE,
            opts=pulumi.ResourceOptions(parent=self),
        )
        blob_zone = zone_id(
            f"{name}-blob-dns", BLOB_DNS_ZONE, args.get("blob_dns_zone_id"), resource_group_name,
            args.get("vnet_id"), tags, self,
        )
        private_endpoint(
            f"{name}-capture-pe",
            azure_name=self._naming.regional("pe", "stusage-blob"),
            target_id=account.id,
            group_id="blob",
            spec=PrivateEndpointSpec(args["private_endpoint_subnet_id"], blob_zone),
            resource_group_name=resource_group_name,
            location=location,
            tags=tags,
            parent=self,
        )
        writer = assign_roles(
            f"{name}-capture-role",
            account.id,
            [
                RoleAssignmentSpec(
                    "Storage Blob Data Contributor",
                    self.namespace.identity.apply(_principal_id),
                    description="Event Hubs Capture writes usage records to the capture account",
                )
            ],
            parent=self,
        )
        # Creating an event hub with Capture runs a linked-access check against the identity that creates it:
        # it needs Microsoft.Storage/storageAccounts/blobServices/containers/write and .../blobs/write on the
        # capture account (Azure/azure-sdk-for-js#30204). Storage Blob Data Contributor is the narrowest built-in
        # role with both. With deployerAccess "inherited" that principal holds it already (resource group or
        # subscription scope) and nothing is declared.
        deployer: list[authorization.RoleAssignment] = []
        if options.get("deployer_access", "grant") == "grant":
            client = authorization.get_client_config_output(opts=pulumi.InvokeOutputOptions(parent=self))
            deployer = list(
                assign_roles(
                    f"{name}-capture-deployer-role",
                    account.id,
                    [
                        RoleAssignmentSpec(
                            "Storage Blob Data Contributor",
                            client.object_id,
                            # Azure checks it against the principal: the stack says which kind runs `pulumi up`.
                            principal_type=options.get("deployer_principal_type", "ServicePrincipal"),
                            description="The identity running pulumi up passes Event Hubs Capture's linked-access "
                            "check on the capture account",
                            label="deployer",
                        )
                    ],
                    parent=self,
                )
            )
        # The hub is created once both assignments have had time to propagate.
        ready = after_propagation(
            f"{name}-capture-roles-propagation",
            [*writer, *deployer],
            options.get("role_propagation_seconds", 180),
            self,
        )
        description = eventhub.CaptureDescriptionArgs(
            enabled=True,
            encoding=eventhub.EncodingCaptureDescription.AVRO,
            interval_in_seconds=options.get("interval_seconds", 300),
            size_limit_in_bytes=options.get("size_limit_bytes", 314572800),
            skip_empty_archives=True,
            destination=eventhub.DestinationArgs(
                name="EventHubArchive.AzureBlockBlob",
                blob_container=container.name,
                archive_name_format=CAPTURE_ARCHIVE_NAME_FORMAT,
                storage_account_resource_id=account.id,
                identity=eventhub.CaptureIdentityArgs(type=eventhub.CaptureIdentityType.SYSTEM_ASSIGNED),
            ),
        )
        return description, [container, *ready]


def logger_credentials(namespace_name: str, identity_client_id: str, event_hub_name: str) -> dict[str, str]:
    """The `azureEventHub` logger's managed-identity credentials: host name only, no scheme, no port, no key."""
    return {
        "endpointAddress": f"{namespace_name}.{SERVICE_BUS_SUFFIX}",
        "identityClientId": identity_client_id,
        "name": event_hub_name,
    }


def _principal_id(identity: Any) -> str:
    if identity is None:
        return ""
    # A typed IdentityResponse when the SDK translated it, a plain map otherwise.
    if hasattr(identity, "principal_id"):
        return str(identity.principal_id or "")
    return str(identity.get("principalId") or "") if isinstance(identity, dict) else ""
