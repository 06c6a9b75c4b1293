"""ApimBaseline: the network and gateway foundation every other component builds on.

Resource group, VNet with NSG-protected subnets, Log Analytics and workspace-based Application Insights,
the gateway's managed identities, the API Management service (classic VNet injection or v2 outbound
integration), its Application Insights logger and diagnostic, private DNS for Internal mode, and the
optional Application Gateway WAF ingress.
"""

import functools
from typing import NotRequired, TypedDict

import pulumi
import pulumi_random as random
from pulumi_azure_native import (
    apimanagement,
    applicationinsights,
    managedidentity,
    network,
    operationalinsights,
    privatedns,
    resources,
)

from .access import RoleAssignmentSpec, assign_roles
from .diagnostics import DiagnosticSettingSpec, no_payload_logging, send_logs
from .naming import Naming
from .network_rules import app_gateway_rules, injected_apim_rules, private_endpoint_rules
from .waf_ingress import WafIngress, WafIngressArgs, WafIngressSpec

_SECURITY = "Microsoft.WindowsAzure.ApiManagement.Gateway.Security"
# The cipher suites PSRule for Azure's Azure.APIM.Ciphers rule lists as weak or deprecated: 3DES, every
# TLS_RSA_WITH_AES_* suite (no forward secrecy) and the ECDHE CBC suites. What stays on are the ECDHE GCM suites.
# Source: https://azure.github.io/PSRule.Rules.Azure/en/rules/Azure.APIM.Ciphers/ (shared azure-facts.md).
WEAK_CIPHERS = (
    "TripleDes168",
    "TLS_RSA_WITH_AES_128_CBC_SHA",
    "TLS_RSA_WITH_AES_256_CBC_SHA",
    "TLS_RSA_WITH_AES_128_CBC_SHA256",
    "TLS_RSA_WITH_AES_256_CBC_SHA256",
    "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA",
    "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA",
    "TLS_RSA_WITH_AES_128_GCM_SHA256",
)
# Legacy protocols and weak ciphers, off on the client side and towards backends ("false" disables).
HARDENED_PROTOCOLS: dict[str, str] = {
    "Microsoft.WindowsAzure.ApiManagement.Gateway.Security.Protocols.Tls10": "false",
    "Microsoft.WindowsAzure.ApiManagement.Gateway.Security.Protocols.Tls11": "false",
    "Microsoft.WindowsAzure.ApiManagement.Gateway.Security.Protocols.Ssl30": "false",
    "Microsoft.WindowsAzure.ApiManagement.Gateway.Security.Backend.Protocols.Tls10": "false",
    "Microsoft.WindowsAzure.ApiManagement.Gateway.Security.Backend.Protocols.Tls11": "false",
    "Microsoft.WindowsAzure.ApiManagement.Gateway.Security.Backend.Protocols.Ssl30": "false",
    **{f"{_SECURITY}.Ciphers.{cipher}": "false" for cipher in WEAK_CIPHERS},
    "Microsoft.WindowsAzure.ApiManagement.Gateway.Protocols.Server.Http2": "true",
}

# Host names of an Internal instance that must resolve to its private IP: "" is the gateway itself.
INTERNAL_HOST_LABELS = ("", "portal", "developer", "management", "scm")
APIM_DNS_ZONE = "azure-api.net"
APP_INSIGHTS_LOGGER_ID = "appinsights"



class SubnetPrefixes(TypedDict):
    """Address prefixes (CIDR) of the subnets the component creates in its VNet."""

    apim: str
    private_endpoints: str
    app_gateway: NotRequired[str]


class ExistingNetwork(TypedDict):
    """A VNet and subnets the platform owns: the component creates no VNet, subnets or NSGs and joins these."""

    vnet_id: pulumi.Input[str]
    # Classic injection: undelegated, with an NSG; v2 integration: delegated to Microsoft.Web/serverFarms, /27+.
    apim_subnet_id: pulumi.Input[str]
    private_endpoint_subnet_id: pulumi.Input[str]
    app_gateway_subnet_id: NotRequired[pulumi.Input[str]]


class ApimService(TypedDict):
    """The API Management service: tier, scale, network mode and publisher."""

    sku: str
    network_mode: str
    publisher_name: str
    publisher_email: str
    capacity: NotRequired[int]
    zones: NotRequired[list[str]]
    min_api_version: NotRequired[str]


class Observability(TypedDict, total=False):
    """Log retention and the gateway's Application Insights diagnostic."""

    log_retention_days: int
    sampling_percentage: float
    verbosity: str
    log_client_ip: bool


class ApimBaselineArgs(TypedDict):
    """Inputs of ApimBaseline: plain values, no stack settings."""

    location: str
    name_prefix: str
    environment: str
    apim: ApimService
    # The network: an address plan the component creates (address_space and subnets) or an existing one.
    address_space: NotRequired[str]
    subnets: NotRequired[SubnetPrefixes]
    existing_network: NotRequired[ExistingNetwork]
    # An existing Log Analytics workspace (any subscription) instead of one the component creates.
    existing_workspace_id: NotRequired[pulumi.Input[str]]
    # Networks besides the gateway that may reach the private endpoints over HTTPS.
    private_endpoint_clients: NotRequired[list[str]]
    observability: NotRequired[Observability]
    # The optional Application Gateway WAF_v2 in front of an Internal gateway (needs subnets.app_gateway).
    ingress: NotRequired[WafIngressSpec]
    tags: NotRequired[dict[str, str]]
    # Production keeps the service and its logs from being deleted by a careless `pulumi destroy`.
    protect_stateful: NotRequired[bool]


class ApimBaseline(pulumi.ComponentResource):
    """Network, observability and the API Management service every other component builds on."""

    resource_group_name: pulumi.Output[str]
    """The resource group every resource of the gateway lives in."""
    name_suffix: pulumi.Output[str]
    """Random suffix of the stack's globally unique names; pass it to the other components."""
    vnet_id: pulumi.Output[str]
    apim_subnet_id: pulumi.Output[str]
    private_endpoint_subnet_id: pulumi.Output[str]
    apim_id: pulumi.Output[str]
    apim_name: pulumi.Output[str]
    gateway_url: pulumi.Output[str]
    public_base_url: pulumi.Output[str]
    """The URL callers use: the WAF ingress host name when there is one, else the gateway URL."""
    identity_id: pulumi.Output[str]
    """Resource id of the gateway's user-assigned identity (backends, loggers, key-less calls)."""
    identity_principal_id: pulumi.Output[str]
    identity_client_id: pulumi.Output[str]
    system_principal_id: pulumi.Output[str]
    """Principal of the service's system-assigned identity (the semantic cache's embeddings call)."""
    workspace_id: pulumi.Output[str]
    app_insights_id: pulumi.Output[str]
    app_insights_logger_id: pulumi.Output[str]

    def __init__(self, name: str, args: ApimBaselineArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("genai-gateway:baseline:ApimBaseline", name, None, opts)
        self._name = name
        self._args = args
        # Defaults of the optional records, as documented on their fields.
        self._apim: ApimService = {"capacity": 1, "zones": [], "min_api_version": "2021-08-01", **args["apim"]}
        self._obs: Observability = {
            "log_retention_days": 30,
            "sampling_percentage": 100.0,
            "verbosity": "information",
            "log_client_ip": False,
            **args.get("observability", {}),
        }
        self._protect_stateful = args.get("protect_stateful", False)
        ingress = args.get("ingress")
        self._dns_records: list[pulumi.Resource] = []
        child = pulumi.ResourceOptions(parent=self)
        tags = dict(args.get("tags", {}))
        location = args["location"]

        suffix = random.RandomString(
            f"{name}-suffix", length=5, special=False, upper=False, numeric=True, opts=child
        )
        self.name_suffix = suffix.result
        self.naming = Naming(args["name_prefix"], args["environment"], suffix.result)
        self.tags = tags
        self.location = location

        group = resources.ResourceGroup(
            f"{name}-rg",
            resource_group_name=self.naming.regional("rg"),
            location=self.location,
            tags=tags,
            opts=child,
        )
        self.resource_group_name = group.name

        self._network(tags)
        self._observability(tags)

        self.identity = managedidentity.UserAssignedIdentity(
            f"{name}-identity",
            resource_name_=self.naming.regional("id", "gateway"),
            resource_group_name=group.name,
            location=self.location,
            tags=tags,
            opts=child,
        )

        self.identity_id = self.identity.id
        self.identity_principal_id = self.identity.principal_id
        self.identity_client_id = self.identity.client_id

        self._service(tags)
        self.system_principal_id = self.apim.identity.apply(lambda i: i.principal_id if i else "")
        self._app_insights_logging()
        send_logs(f"{name}-apim-logs", self.apim.id, DiagnosticSettingSpec(self.workspace_id), self)
        if self._apim["network_mode"] == "Internal":
            self._internal_dns(tags)

        self.ingress: WafIngress | None = None
        if ingress is not None:
            if self.app_gateway_subnet_id is None:
                raise ValueError("ApimBaseline: ingress needs subnets.app_gateway (the Application Gateway's subnet)")
            self.ingress = WafIngress(
                f"{name}-ingress",
                WafIngressArgs(
                    ingress=ingress,
                    location=location,
                    name_prefix=args["name_prefix"],
                    environment=args["environment"],
                    name_suffix=self.name_suffix,
                    resource_group_name=self.resource_group_name,
                    subnet_id=self.app_gateway_subnet_id,
                    # The host name must resolve privately before the gateway probes it (Internal mode DNS).
                    backend_host_name=pulumi.Output.all(self.apim_name, *[r.urn for r in self._dns_records]).apply(
                        lambda v: f"{v[0]}.{APIM_DNS_ZONE}"
                    ),
                    workspace_id=self.workspace_id,
                    tags=tags,
                ),
                opts=pulumi.ResourceOptions(parent=self),
            )
            self.public_base_url = pulumi.Output.from_input(f"https://{ingress['host_name']}")
        else:
            self.public_base_url = self.gateway_url

        self.register_outputs(
            {
                "resourceGroupName": self.resource_group_name,
                "apimName": self.apim_name,
                "gatewayUrl": self.gateway_url,
                "publicBaseUrl": self.public_base_url,
                "identityClientId": self.identity.client_id,
            }
        )

    # -- network ---------------------------------------------------------------------------------
    def _network(self, tags: dict[str, str]) -> None:
        args, name, child = self._args, self._name, pulumi.ResourceOptions(parent=self)
        self.app_gateway_subnet_id: pulumi.Output[str] | None = None
        existing = args.get("existing_network")
        planned = "address_space" in args and "subnets" in args
        if (existing is None) == (not planned):
            raise ValueError(
                f"ApimBaseline {name}: give either address_space and subnets (a network to create) "
                "or existing_network (a VNet and subnets to join), not both or neither"
            )
        if existing is not None:
            # The platform owns the VNet, its subnets and their NSGs (landing zone); nothing is declared here.
            self.vnet_id = pulumi.Output.from_input(existing["vnet_id"])
            self.apim_subnet_id = pulumi.Output.from_input(existing["apim_subnet_id"])
            self.private_endpoint_subnet_id = pulumi.Output.from_input(existing["private_endpoint_subnet_id"])
            agw = existing.get("app_gateway_subnet_id")
            self.app_gateway_subnet_id = pulumi.Output.from_input(agw) if agw is not None else None
            return
        subnets = args["subnets"]
        app_gateway_prefix = subnets.get("app_gateway") if args.get("ingress") is not None else None
        vnet = network.VirtualNetwork(
            f"{name}-vnet",
            virtual_network_name=self.naming.regional("vnet"),
            resource_group_name=self.resource_group_name,
            location=self.location,
            address_space=network.AddressSpaceArgs(address_prefixes=[args["address_space"]]),
            tags=tags,
            opts=pulumi.ResourceOptions(parent=self, ignore_changes=["subnets"]),
        )
        self.vnet_id = vnet.id
        self.vnet_name = vnet.name

        integration = self._apim["network_mode"] == "Integration"
        apim_nsg = network.NetworkSecurityGroup(
            f"{name}-apim-nsg",
            network_security_group_name=self.naming.regional("nsg", "apim"),
            resource_group_name=self.resource_group_name,
            location=self.location,
            # Outbound integration carries no inbound traffic: Azure's default rules suffice.
            security_rules=[] if integration else injected_apim_rules(
                self._apim["network_mode"], app_gateway_prefix
            ),
            tags=tags,
            opts=child,
        )
        pe_nsg = network.NetworkSecurityGroup(
            f"{name}-pe-nsg",
            network_security_group_name=self.naming.regional("nsg", "pe"),
            resource_group_name=self.resource_group_name,
            location=self.location,
            security_rules=private_endpoint_rules(
                subnets["apim"], list(args.get("private_endpoint_clients", []))
            ),
            tags=tags,
            opts=child,
        )

        # Azure serialises operations on one VNet; chained subnets avoid "another operation in progress".
        apim_subnet = network.Subnet(
            f"{name}-apim-subnet",
            subnet_name="snet-apim",
            virtual_network_name=vnet.name,
            resource_group_name=self.resource_group_name,
            address_prefix=subnets["apim"],
            network_security_group=network.NetworkSecurityGroupArgs(id=apim_nsg.id),
            delegations=[
                network.DelegationArgs(name="apim-integration", service_name="Microsoft.Web/serverFarms")
            ] if integration else [],
            opts=child,
        )
        pe_subnet = network.Subnet(
            f"{name}-pe-subnet",
            subnet_name="snet-private-endpoints",
            virtual_network_name=vnet.name,
            resource_group_name=self.resource_group_name,
            address_prefix=subnets["private_endpoints"],
            network_security_group=network.NetworkSecurityGroupArgs(id=pe_nsg.id),
            # NSGs apply to private endpoints only with network policies on.
            private_endpoint_network_policies="Enabled",
            opts=pulumi.ResourceOptions(parent=self, depends_on=[apim_subnet]),
        )
        self.apim_subnet_id = apim_subnet.id
        self.private_endpoint_subnet_id = pe_subnet.id
        self.app_gateway_subnet_id = None
        if app_gateway_prefix is not None:
            agw_nsg = network.NetworkSecurityGroup(
                f"{name}-agw-nsg",
                network_security_group_name=self.naming.regional("nsg", "agw"),
                resource_group_name=self.resource_group_name,
                location=self.location,
                security_rules=app_gateway_rules(),
                tags=tags,
                opts=child,
            )
            agw_subnet = network.Subnet(
                f"{name}-agw-subnet",
                subnet_name="snet-app-gateway",
                virtual_network_name=vnet.name,
                resource_group_name=self.resource_group_name,
                address_prefix=app_gateway_prefix,
                network_security_group=network.NetworkSecurityGroupArgs(id=agw_nsg.id),
                opts=pulumi.ResourceOptions(parent=self, depends_on=[pe_subnet]),
            )
            self.app_gateway_subnet_id = agw_subnet.id

    # -- observability ---------------------------------------------------------------------------
    def _observability(self, tags: dict[str, str]) -> None:
        name = self._name
        stateful = pulumi.ResourceOptions(parent=self, protect=self._protect_stateful)
        retention = self._obs["log_retention_days"]
        existing = self._args.get("existing_workspace_id")
        if existing is not None:
            self.workspace_id = pulumi.Output.from_input(existing)
        else:
            self.workspace_id = self._workspace(retention, tags)
        insights = applicationinsights.Component(
            f"{name}-appinsights",
            resource_name_=self.naming.regional("appi"),
            resource_group_name=self.resource_group_name,
            location=self.location,
            kind="web",
            application_type="web",
            ingestion_mode="LogAnalytics",
            workspace_resource_id=self.workspace_id,
            # Telemetry is accepted only from Entra-authenticated senders (the gateway's identity).
            disable_local_auth=True,
            retention_in_days=retention,
            tags=tags,
            opts=stateful,
        )
        self.app_insights_id = insights.id
        self._app_insights_connection_string: pulumi.Output[str] = pulumi.Output.secret(insights.connection_string)

    def _workspace(self, retention: int, tags: dict[str, str]) -> pulumi.Output[str]:
        name = self._name
        stateful = pulumi.ResourceOptions(parent=self, protect=self._protect_stateful)
        workspace = operationalinsights.Workspace(
            f"{name}-logs",
            workspace_name=self.naming.regional("log"),
            resource_group_name=self.resource_group_name,
            location=self.location,
            sku=operationalinsights.WorkspaceSkuArgs(name="PerGB2018"),
            retention_in_days=retention,
            tags=tags,
            opts=stateful,
        )
        return workspace.id

    # -- API Management --------------------------------------------------------------------------
    def _service(self, tags: dict[str, str]) -> None:
        name = self._name
        apim_args = self._apim
        zones = list(apim_args["zones"]) or None
        public_ip_id: pulumi.Output[str] | None = None
        if apim_args["network_mode"] == "External":
            public_ip = network.PublicIPAddress(
                f"{name}-apim-pip",
                public_ip_address_name=self.naming.regional("pip", "apim"),
                resource_group_name=self.resource_group_name,
                location=self.location,
                sku=network.PublicIPAddressSkuArgs(name="Standard", tier="Regional"),
                public_ip_allocation_method="Static",
                public_ip_address_version="IPv4",
                dns_settings=network.PublicIPAddressDnsSettingsArgs(
                    domain_name_label=self.naming.unique("apim", max_length=60)
                ),
                zones=zones,
                tags=tags,
                opts=pulumi.ResourceOptions(parent=self),
            )
            public_ip_id = public_ip.id

        self.apim_name = self.naming.unique("apim", max_length=50)
        self.apim = apimanagement.ApiManagementService(
            f"{name}-apim",
            service_name=self.apim_name,
            resource_group_name=self.resource_group_name,
            location=self.location,
            sku=apimanagement.ApiManagementServiceSkuPropertiesArgs(
                name=apim_args["sku"], capacity=apim_args["capacity"]
            ),
            zones=zones,
            publisher_name=apim_args["publisher_name"],
            publisher_email=apim_args["publisher_email"],
            identity=apimanagement.ApiManagementServiceIdentityArgs(
                # System-assigned for the semantic-cache embeddings call; user-assigned for everything else.
                type="SystemAssigned, UserAssigned",
                user_assigned_identities=self.identity.id.apply(
                    lambda i: {i: apimanagement.UserIdentityPropertiesArgs()}
                ),
            ),
            # v2 outbound integration is expressed as External with the delegated subnet.
            virtual_network_type="Internal" if apim_args["network_mode"] == "Internal" else "External",
            virtual_network_configuration=apimanagement.VirtualNetworkConfigurationArgs(
                subnet_resource_id=self.apim_subnet_id
            ),
            public_ip_address_id=public_ip_id,
            api_version_constraint=apimanagement.ApiVersionConstraintArgs(
                min_api_version=apim_args["min_api_version"]
            ),
            custom_properties=HARDENED_PROTOCOLS,
            # App teams get keys from stack outputs, not from a portal.
            developer_portal_status="Disabled",
            legacy_portal_status="Disabled",
            tags=tags,
            opts=pulumi.ResourceOptions(
                parent=self,
                protect=self._protect_stateful,
                custom_timeouts=pulumi.CustomTimeouts(create="2h", update="2h", delete="2h"),
            ),
        )
        self.gateway_url = self.apim.gateway_url
        self.apim_id = self.apim.id

    def _app_insights_logging(self) -> None:
        name, obs = self._name, self._obs
        publisher = assign_roles(
            f"{name}-appinsights-role",
            self.app_insights_id,
            [
                RoleAssignmentSpec(
                    "Monitoring Metrics Publisher",
                    self.identity.principal_id,
                    description="APIM gateway sends telemetry and token metrics to Application Insights",
                )
            ],
            parent=self,
        )
        logger = apimanagement.Logger(
            f"{name}-appinsights-logger",
            logger_id=APP_INSIGHTS_LOGGER_ID,
            service_name=self.apim_name,
            resource_group_name=self.resource_group_name,
            logger_type="applicationInsights",
            description="Application Insights of the gateway, Entra ID authenticated",
            resource_id=self.app_insights_id,
            is_buffered=True,
            credentials=pulumi.Output.all(self._app_insights_connection_string, self.identity.client_id).apply(
                lambda v: {"connectionString": v[0], "identityClientId": v[1]}
            ),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self.apim, *publisher]),
        )
        self.app_insights_logger_id = logger.id
        no_payload = no_payload_logging()
        apimanagement.Diagnostic(
            f"{name}-appinsights-diagnostic",
            diagnostic_id="applicationinsights",
            service_name=self.apim_name,
            resource_group_name=self.resource_group_name,
            logger_id=logger.id,
            always_log="allErrors",
            http_correlation_protocol="W3C",
            log_client_ip=obs["log_client_ip"],
            verbosity=obs["verbosity"],
            # Custom metrics carry the token counts of llm-emit-token-metric.
            metrics=True,
            sampling=apimanagement.SamplingSettingsArgs(
                sampling_type="fixed", percentage=obs["sampling_percentage"]
            ),
            # Prompts and completions are never logged.
            frontend=apimanagement.PipelineDiagnosticSettingsArgs(request=no_payload, response=no_payload),
            backend=apimanagement.PipelineDiagnosticSettingsArgs(request=no_payload, response=no_payload),
            opts=pulumi.ResourceOptions(parent=self),
        )

    def _internal_dns(self, tags: dict[str, str]) -> None:
        """Internal mode: the service's host names resolve to its private IP inside the VNet."""
        name = self._name
        zone = privatedns.PrivateZone(
            f"{name}-apim-dns",
            private_zone_name=APIM_DNS_ZONE,
            resource_group_name=self.resource_group_name,
            location="global",
            tags=tags,
            opts=pulumi.ResourceOptions(parent=self),
        )
        link = privatedns.VirtualNetworkLink(
            f"{name}-apim-dns-link",
            private_zone_name=zone.name,
            resource_group_name=self.resource_group_name,
            virtual_network_link_name=self.naming.regional("link", "apim"),
            location="global",
            registration_enabled=False,
            virtual_network=privatedns.SubResourceArgs(id=self.vnet_id),
            tags=tags,
            opts=pulumi.ResourceOptions(parent=zone),
        )
        private_ip = self.apim.private_ip_addresses.apply(lambda ips: (ips or [""])[0])
        self._dns_records.append(link)
        for label in INTERNAL_HOST_LABELS:
            record_name = self.apim_name.apply(functools.partial(_record_name, label=label))
            self._dns_records.append(
                privatedns.PrivateRecordSet(
                    f"{name}-apim-dns-{label or 'gateway'}",
                    private_zone_name=zone.name,
                    resource_group_name=self.resource_group_name,
                    record_type="A",
                    relative_record_set_name=record_name,
                    ttl=300,
                    a_records=[privatedns.ARecordArgs(ipv4_address=private_ip)],
                    opts=pulumi.ResourceOptions(parent=zone),
                )
            )


def _record_name(apim_name: str, label: str) -> str:
    """Relative name of the private A record of one API Management host (the gateway has no label)."""
    return f"{apim_name}.{label}" if label else apim_name
