"""The gateway's network: a VNet with NSG-protected subnets (or an existing network the platform owns), and the
private DNS in which an Internal gateway's host names resolve to its private IP."""

import functools
from dataclasses import dataclass
from typing import NotRequired, TypedDict

import pulumi
from pulumi_azure_native import apimanagement, network, privatedns

from .naming import Naming
from .network_rules import app_gateway_rules, injected_apim_rules, private_endpoint_rules

# Host names of an Internal instance that must resolve to its private IP: "" is the gateway itself.
INTERNAL_HOST_LABELS = ("", "portal", "developer", "management", "scm")
APIM_DNS_ZONE = "azure-api.net"


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


@dataclass(frozen=True)
class GatewayNetwork:
    """Where the gateway and its private endpoints live; `vnet_name` only for a VNet the component creates."""

    vnet_id: pulumi.Output[str]
    apim_subnet_id: pulumi.Output[str]
    private_endpoint_subnet_id: pulumi.Output[str]
    app_gateway_subnet_id: pulumi.Output[str] | None
    vnet_name: pulumi.Output[str] | None = None


def gateway_network(
    name: str,
    parent: pulumi.Resource,
    *,
    naming: Naming,
    resource_group_name: pulumi.Input[str],
    location: str,
    network_mode: str,
    planned: tuple[str, SubnetPrefixes] | None,
    existing: ExistingNetwork | None,
    with_app_gateway: bool,
    private_endpoint_clients: list[str],
    tags: dict[str, str],
) -> GatewayNetwork:
    """The VNet, NSGs and subnets of the `planned` (address space, subnet prefixes), or the `existing` network:
    exactly one of them."""
    child = pulumi.ResourceOptions(parent=parent)
    if existing is not None and planned is None:
        # The platform owns the VNet, its subnets and their NSGs (landing zone); nothing is declared here.
        agw = existing.get("app_gateway_subnet_id")
        return GatewayNetwork(
            vnet_id=pulumi.Output.from_input(existing["vnet_id"]),
            apim_subnet_id=pulumi.Output.from_input(existing["apim_subnet_id"]),
            private_endpoint_subnet_id=pulumi.Output.from_input(existing["private_endpoint_subnet_id"]),
            app_gateway_subnet_id=pulumi.Output.from_input(agw) if agw is not None else None,
        )
    if existing is not None or planned is None:
        raise ValueError(
            f"ApimBaseline {name}: give either address_space and subnets (a network to create) "
            "or existing_network (a VNet and subnets to join), not both or neither"
        )
    address_space, subnets = planned
    app_gateway_prefix = subnets.get("app_gateway") if with_app_gateway else None
    vnet = network.VirtualNetwork(
        f"{name}-vnet",
        virtual_network_name=naming.regional("vnet"),
        resource_group_name=resource_group_name,
        location=location,
        address_space=network.AddressSpaceArgs(address_prefixes=[address_space]),
        tags=tags,
        opts=pulumi.ResourceOptions(parent=parent, ignore_changes=["subnets"]),
    )

    integration = network_mode == "Integration"
    apim_nsg = network.NetworkSecurityGroup(
        f"{name}-apim-nsg",
        network_security_group_name=naming.regional("nsg", "apim"),
        resource_group_name=resource_group_name,
        location=location,
        # Outbound integration carries no inbound traffic: Azure's default rules suffice.
        security_rules=[] if integration else injected_apim_rules(network_mode, app_gateway_prefix),
        tags=tags,
        opts=child,
    )
    pe_nsg = network.NetworkSecurityGroup(
        f"{name}-pe-nsg",
        network_security_group_name=naming.regional("nsg", "pe"),
        resource_group_name=resource_group_name,
        location=location,
        security_rules=private_endpoint_rules(subnets["apim"], private_endpoint_clients),
        tags=tags,
        opts=child,
    )

    # Azure serialises operations on one VNet; chained subnets avoid "another operation in progress".
    apim_subnet = network.Subnet(
        f"{name}-apim-subnet",
        subnet_name="snet-apim",
        virtual_network_name=vnet.name,
        resource_group_name=resource_group_name,
        address_prefix=subnets["apim"],
        network_security_group=network.NetworkSecurityGroupArgs(id=apim_nsg.id),
        delegations=[network.DelegationArgs(name="apim-integration", service_name="Microsoft.Web/serverFarms")]
        if integration
        else [],
        opts=child,
    )
    pe_subnet = network.Subnet(
        f"{name}-pe-subnet",
        subnet_name="snet-private-endpoints",
        virtual_network_name=vnet.name,
        resource_group_name=resource_group_name,
        address_prefix=subnets["private_endpoints"],
        network_security_group=network.NetworkSecurityGroupArgs(id=pe_nsg.id),
        # NSGs apply to private endpoints only with network policies on.
        private_endpoint_network_policies="Enabled",
        opts=pulumi.ResourceOptions(parent=parent, depends_on=[apim_subnet]),
    )
    app_gateway_subnet_id: pulumi.Output[str] | None = None
    if app_gateway_prefix is not None:
        agw_nsg = network.NetworkSecurityGroup(
            f"{name}-agw-nsg",
            network_security_group_name=naming.regional("nsg", "agw"),
            resource_group_name=resource_group_name,
            location=location,
            security_rules=app_gateway_rules(),
            tags=tags,
            opts=child,
        )
        agw_subnet = network.Subnet(
            f"{name}-agw-subnet",
            subnet_name="snet-app-gateway",
            virtual_network_name=vnet.name,
            resource_group_name=resource_group_name,
            address_prefix=app_gateway_prefix,
            network_security_group=network.NetworkSecurityGroupArgs(id=agw_nsg.id),
            opts=pulumi.ResourceOptions(parent=parent, depends_on=[pe_subnet]),
        )
        app_gateway_subnet_id = agw_subnet.id
    return GatewayNetwork(
        vnet_id=vnet.id,
        apim_subnet_id=apim_subnet.id,
        private_endpoint_subnet_id=pe_subnet.id,
        app_gateway_subnet_id=app_gateway_subnet_id,
        vnet_name=vnet.name,
    )


def internal_dns(
    name: str,
    parent: pulumi.Resource,
    *,
    naming: Naming,
    resource_group_name: pulumi.Input[str],
    vnet_id: pulumi.Input[str],
    apim: apimanagement.ApiManagementService,
    apim_name: pulumi.Output[str],
    tags: dict[str, str],
) -> list[pulumi.Resource]:
    """Internal mode: the service's host names resolve to its private IP inside the VNet. Returns the VNet link
    and the records, which must exist before anything resolves the gateway's host name privately."""
    zone = privatedns.PrivateZone(
        f"{name}-apim-dns",
        private_zone_name=APIM_DNS_ZONE,
        resource_group_name=resource_group_name,
        location="global",
        tags=tags,
        opts=pulumi.ResourceOptions(parent=parent),
    )
    link = privatedns.VirtualNetworkLink(
        f"{name}-apim-dns-link",
        private_zone_name=zone.name,
        resource_group_name=resource_group_name,
        virtual_network_link_name=naming.regional("link", "apim"),
        location="global",
        registration_enabled=False,
        virtual_network=privatedns.SubResourceArgs(id=vnet_id),
        tags=tags,
        opts=pulumi.ResourceOptions(parent=zone),
    )
    private_ip = apim.private_ip_addresses.apply(lambda ips: (ips or [""])[0])
    records: list[pulumi.Resource] = [link]
    for label in INTERNAL_HOST_LABELS:
        record_name = apim_name.apply(functools.partial(_record_name, label=label))
        records.append(
            privatedns.PrivateRecordSet(
                f"{name}-apim-dns-{label or 'gateway'}",
                private_zone_name=zone.name,
                resource_group_name=resource_group_name,
                record_type="A",
                relative_record_set_name=record_name,
                ttl=300,
                a_records=[privatedns.ARecordArgs(ipv4_address=private_ip)],
                opts=pulumi.ResourceOptions(parent=zone),
            )
        )
    return records


def _record_name(apim_name: str, label: str) -> str:
    """Relative name of the private A record of one API Management host (the gateway has no label)."""
    return f"{apim_name}.{label}" if label else apim_name
