"""ApimBaseline: the network and gateway foundation every other component builds on.

Resource group, VNet with NSG-protected subnets, Log Analytics and workspace-based Application Insights,
the gateway's managed identities, the API Management service (classic VNet injection or v2 outbound
integration), its Application Insights logger and diagnostic, private DNS for Internal mode, and the
optional Application Gateway WAF ingress.

This module holds the component, its Args and the service; the network (components/baseline_network.py) and
the observability (components/baseline_observability.py) are declared by their own modules, as children of
the component.
"""

from typing import NotRequired, TypedDict

import pulumi
import pulumi_random as random
from pulumi_azure_native import apimanagement, managedidentity, network, resources

from .baseline_network import (
    APIM_DNS_ZONE,
    INTERNAL_HOST_LABELS,
    ExistingNetwork,
    SubnetPrefixes,
    gateway_network,
    internal_dns,
)
from .baseline_observability import APP_INSIGHTS_LOGGER_ID, Observability, app_insights_logging, gateway_insights
from .diagnostics import DiagnosticSettingSpec, send_logs
from .naming import Naming
from .waf_ingress import WafIngress, WafIngressArgs, WafIngressSpec

__all__ = [
    "APIM_DNS_ZONE",
    "APP_INSIGHTS_LOGGER_ID",
    "HARDENED_PROTOCOLS",
    "INTERNAL_HOST_LABELS",
    "WEAK_CIPHERS",
    "ApimBaseline",
    "ApimBaselineArgs",
    "ApimService",
    "ExistingNetwork",
    "Observability",
    "SubnetPrefixes",
]

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


class ApimService(TypedDict):
    """The API Management service: tier, scale, network mode and publisher."""

    sku: str
    network_mode: str
    publisher_name: str
    publisher_email: str
    capacity: NotRequired[int]
    zones: NotRequired[list[str]]
    min_api_version: NotRequired[str]


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

        planned = (args["address_space"], args["subnets"]) if "address_space" in args and "subnets" in args else None
        net = gateway_network(
            name,
            self,
            naming=self.naming,
            resource_group_name=self.resource_group_name,
            location=self.location,
            network_mode=self._apim["network_mode"],
            planned=planned,
            existing=args.get("existing_network"),
            with_app_gateway=ingress is not None,
            private_endpoint_clients=list(args.get("private_endpoint_clients", [])),
            tags=tags,
        )
        self.vnet_id = net.vnet_id
        self.apim_subnet_id = net.apim_subnet_id
        self.private_endpoint_subnet_id = net.private_endpoint_subnet_id
        self.app_gateway_subnet_id = net.app_gateway_subnet_id
        if net.vnet_name is not None:
            self.vnet_name = net.vnet_name

        insights = gateway_insights(
            name,
            self,
            naming=self.naming,
            resource_group_name=self.resource_group_name,
            location=self.location,
            retention_days=self._obs["log_retention_days"],
            existing_workspace_id=args.get("existing_workspace_id"),
            protect=self._protect_stateful,
            tags=tags,
        )
        self.workspace_id = insights.workspace_id
        self.app_insights_id = insights.app_insights_id

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
        self.app_insights_logger_id = app_insights_logging(
            name,
            self,
            insights=insights,
            apim=self.apim,
            apim_name=self.apim_name,
            resource_group_name=self.resource_group_name,
            identity=self.identity,
            observability=self._obs,
        )
        send_logs(f"{name}-apim-logs", self.apim.id, DiagnosticSettingSpec(self.workspace_id), self)
        dns_records: list[pulumi.Resource] = []
        if self._apim["network_mode"] == "Internal":
            dns_records = internal_dns(
                name,
                self,
                naming=self.naming,
                resource_group_name=self.resource_group_name,
                vnet_id=self.vnet_id,
                apim=self.apim,
                apim_name=self.apim_name,
                tags=tags,
            )

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
                    backend_host_name=pulumi.Output.all(self.apim_name, *[r.urn for r in dns_records]).apply(
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
