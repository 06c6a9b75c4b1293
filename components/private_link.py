"""Private endpoints (AVM vocabulary: `private_endpoints`) and the private DNS zones they register in."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pulumi
from pulumi_azure_native import network, privatedns


@dataclass(frozen=True)
class PrivateEndpointSpec:
    subnet_id: pulumi.Input[str]
    private_dns_zone_id: pulumi.Input[str]


@dataclass(frozen=True)
class PrivateEndpoint:
    endpoint: network.PrivateEndpoint
    zone_group: network.PrivateDnsZoneGroup


def private_dns_zone(
    name: str,
    zone: str,
    resource_group_name: pulumi.Input[str],
    vnet_id: pulumi.Input[str],
    tags: Mapping[str, str],
    parent: pulumi.Resource,
) -> privatedns.PrivateZone:
    """A private zone linked to the gateway VNet (resolution only, no auto-registration)."""
    dns_zone = privatedns.PrivateZone(
        name,
        private_zone_name=zone,
        resource_group_name=resource_group_name,
        location="global",
        tags=dict(tags),
        opts=pulumi.ResourceOptions(parent=parent),
    )
    privatedns.VirtualNetworkLink(
        f"{name}-link",
        private_zone_name=dns_zone.name,
        resource_group_name=resource_group_name,
        virtual_network_link_name=f"{zone.replace('.', '-')}-link",
        location="global",
        registration_enabled=False,
        virtual_network=privatedns.SubResourceArgs(id=vnet_id),
        tags=dict(tags),
        opts=pulumi.ResourceOptions(parent=dns_zone),
    )
    return dns_zone


def zone_id(
    name: str,
    zone: str,
    existing_id: pulumi.Input[str] | None,
    resource_group_name: pulumi.Input[str],
    vnet_id: pulumi.Input[str] | None,
    tags: Mapping[str, str],
    parent: pulumi.Resource,
) -> pulumi.Input[str]:
    """The id of the zone endpoints register in: an existing zone (a landing zone's central one, possibly in
    another subscription, already linked to its VNets) or one created here and linked to `vnet_id`."""
    if existing_id is not None:
        return existing_id
    if vnet_id is None:
        raise ValueError(f"{name}: give the id of an existing {zone} zone, or the VNet id to link a new one to")
    return private_dns_zone(name, zone, resource_group_name, vnet_id, tags, parent).id


def private_endpoint(
    name: str,
    *,
    azure_name: pulumi.Input[str],
    target_id: pulumi.Input[str],
    group_id: str,
    spec: PrivateEndpointSpec,
    resource_group_name: pulumi.Input[str],
    location: pulumi.Input[str],
    tags: Mapping[str, str],
    parent: pulumi.Resource,
    depends_on: Sequence[pulumi.Resource] = (),
) -> PrivateEndpoint:
    """A private endpoint for one sub-resource (`group_id`) and its DNS zone group.

    `depends_on`: what the target must have finished first. A Cognitive Services account refuses a private
    endpoint while it still applies a model deployment (AccountProvisioningStateInvalid; shared azure-facts.md,
    hashicorp/terraform-provider-azurerm#31712, Azure/bicep-registry-modules#5957): pass its last deployment.
    """
    endpoint = network.PrivateEndpoint(
        name,
        private_endpoint_name=azure_name,
        resource_group_name=resource_group_name,
        location=location,
        # Only the id: SubnetArgs would add defaults (network policies Disabled) that contradict the subnet.
        subnet={"id": spec.subnet_id},
        private_link_service_connections=[
            network.PrivateLinkServiceConnectionArgs(
                name=azure_name,
                private_link_service_id=target_id,
                group_ids=[group_id],
            )
        ],
        tags=dict(tags),
        opts=pulumi.ResourceOptions(parent=parent, depends_on=list(depends_on)),
    )
    zone_group = network.PrivateDnsZoneGroup(
        f"{name}-dns",
        private_endpoint_name=endpoint.name,
        resource_group_name=resource_group_name,
        private_dns_zone_group_name="default",
        private_dns_zone_configs=[
            network.PrivateDnsZoneConfigArgs(name=group_id, private_dns_zone_id=spec.private_dns_zone_id)
        ],
        opts=pulumi.ResourceOptions(parent=endpoint),
    )
    return PrivateEndpoint(endpoint, zone_group)
