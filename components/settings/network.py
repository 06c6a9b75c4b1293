"""The gateway's virtual network: an address plan the stack creates, or an existing VNet the platform owns."""

from __future__ import annotations

import re
from collections.abc import Iterable
from ipaddress import IPv4Network
from itertools import combinations
from typing import TYPE_CHECKING

from pydantic import Field

from .base import Model, Problem
from .forms import matching, resource_id

if TYPE_CHECKING:
    from . import GatewaySettings

# Outbound VNet integration of the v2 tiers needs at least a /27, delegated to Microsoft.Web/serverFarms;
# a classic (External/Internal) injection subnet has no delegation (shared azure-facts.md, API Management).
V2_INTEGRATION_MAX_PREFIX = 27
V2_INTEGRATION_DELEGATION = "Microsoft.Web/serverFarms"

_SUBSCRIPTION = r"/subscriptions/[0-9a-fA-F-]{36}/resourceGroups/[^/]+/providers/Microsoft\.Network"
VNET_ID = resource_id(
    "a virtual network",
    rf"^{_SUBSCRIPTION}/virtualNetworks/[A-Za-z0-9._-]{{2,64}}$",
    "Microsoft.Network/virtualNetworks/<vnet>",
)
SUBNET_ID = resource_id(
    "a subnet",
    rf"^{_SUBSCRIPTION}/virtualNetworks/[A-Za-z0-9._-]{{2,64}}/subnets/[A-Za-z0-9._-]{{1,80}}$",
    "Microsoft.Network/virtualNetworks/<vnet>/subnets/<subnet>",
)
PRIVATE_DNS_ZONE_ID = rf"^{_SUBSCRIPTION}/privateDnsZones/(?P<zone>[a-z0-9.-]+)$"
WORKSPACE_ID = resource_id(
    "a Log Analytics workspace",
    r"^/subscriptions/[0-9a-fA-F-]{36}/resourceGroups/[^/]+/providers/Microsoft\.OperationalInsights/"
    r"workspaces/[A-Za-z0-9-]{4,63}$",
    "Microsoft.OperationalInsights/workspaces/<workspace>",
)
# The privatelink zones the stack's private endpoints register in (a zone it is not given, it creates and
# links to the VNet). Azure links a VNet to at most one zone of a name: where the platform's zone of that name is
# linked already, the stack must be given it.
PRIVATE_ENDPOINT_ZONES = (
    "privatelink.openai.azure.com",
    "privatelink.servicebus.windows.net",
    "privatelink.blob.core.windows.net",
    "privatelink.cognitiveservices.azure.com",
    "privatelink.redis.azure.net",
)


class SubnetSettings(Model):
    apim: IPv4Network
    private_endpoints: IPv4Network
    app_gateway: IPv4Network | None = None


class ExistingNetworkSettings(Model):
    """A VNet and subnets the platform owns (e.g. a landing-zone spoke): the stack creates no VNet, subnets or
    NSGs, and joins its resources to these subnets by id."""

    vnet_id: str = matching(VNET_ID)
    apim_subnet_id: str = matching(SUBNET_ID)
    private_endpoint_subnet_id: str = matching(SUBNET_ID)
    app_gateway_subnet_id: str | None = matching(SUBNET_ID, None)
    # What the program cannot read offline, stated by the platform team and checked against the APIM tier:
    # the APIM subnet's prefix (size) and whether it is delegated to Microsoft.Web/serverFarms.
    apim_subnet_prefix: IPv4Network | None = None
    apim_subnet_delegated: bool = False
    # The App Gateway subnet's prefix: the gateway trusts X-Forwarded-For only from it.
    app_gateway_subnet_prefix: IPv4Network | None = None

    def problems(self, key: str, whole: GatewaySettings) -> Iterable[Problem]:
        subnets = {"apimSubnetId": self.apim_subnet_id, "privateEndpointSubnetId": self.private_endpoint_subnet_id}
        if self.app_gateway_subnet_id:
            subnets["appGatewaySubnetId"] = self.app_gateway_subnet_id
        for name, subnet_id in subnets.items():
            if not subnet_id.lower().startswith(self.vnet_id.lower() + "/subnets/"):
                yield Problem(f"{key}.{name}", repr(subnet_id), f"must be a subnet of vnetId ({self.vnet_id})")
        for (a, id_a), (b, id_b) in combinations(subnets.items(), 2):
            if id_a.lower() == id_b.lower():
                yield Problem(f"{key}.{b}", repr(id_b), f"is {a} too; each role needs its own subnet")
        mode = whole.apim.network_mode
        if mode == "Integration":
            prefix = self.apim_subnet_prefix
            if prefix is not None and prefix.prefixlen > V2_INTEGRATION_MAX_PREFIX:
                yield Problem(
                    f"{key}.apimSubnetPrefix",
                    repr(str(prefix)),
                    f"VNet integration of {whole.apim.sku} needs a /{V2_INTEGRATION_MAX_PREFIX} or larger subnet",
                )
            if not self.apim_subnet_delegated:
                yield Problem(
                    f"{key}.apimSubnetDelegated",
                    "false",
                    f"VNet integration of {whole.apim.sku} needs the APIM subnet delegated to "
                    f"{V2_INTEGRATION_DELEGATION}: delegate it, then set true to confirm",
                )
        elif self.apim_subnet_delegated:
            yield Problem(
                f"{key}.apimSubnetDelegated",
                "true",
                f"a classic {mode} injection subnet must have no delegation; use an undelegated subnet",
            )
        if whole.ingress.enabled:
            for field, what in (("app_gateway_subnet_id", "the App Gateway's dedicated subnet"),
                                ("app_gateway_subnet_prefix", "its prefix, whose X-Forwarded-For the gateway trusts")):
                if getattr(self, field) is None:
                    alias = type(self).model_fields[field].alias
                    yield Problem(f"{key}.{alias}", "(missing)", f"required when ingress.enabled is true: {what}")


class NetworkSettings(Model):
    # Either an address plan the stack creates (addressSpace and subnets) or an existing network (existing).
    address_space: IPv4Network | None = None
    subnets: SubnetSettings | None = None
    existing: ExistingNetworkSettings | None = None
    # Networks besides the gateway that may reach the private endpoints over HTTPS (e.g. chargeback jobs
    # reading the capture storage); everything else in the VNet is denied.
    private_endpoint_clients: list[IPv4Network] = Field(default_factory=list)
    # Existing private DNS zones by zone name -> resource id (any subscription), instead of zones the stack
    # creates and links.
    private_dns_zones: dict[str, str] = Field(default_factory=dict)

    @property
    def app_gateway_prefix(self) -> IPv4Network | None:
        """The App Gateway subnet's prefix, in a created or an existing network."""
        if self.existing is not None:
            return self.existing.app_gateway_subnet_prefix
        return self.subnets.app_gateway if self.subnets is not None else None

    def used_subnets(self, whole: GatewaySettings) -> dict[str, IPv4Network]:
        """The subnets this stack declares, by their config key."""
        if self.subnets is None:
            return {}
        used = {"apim": self.subnets.apim, "privateEndpoints": self.subnets.private_endpoints}
        if whole.ingress.enabled and self.subnets.app_gateway is not None:
            used["appGateway"] = self.subnets.app_gateway
        return used

    def problems(self, key: str, whole: GatewaySettings) -> Iterable[Problem]:
        yield from self._zone_problems(key)
        if self.existing is not None:
            for field in ("address_space", "subnets", "private_endpoint_clients"):
                if getattr(self, field):
                    alias = type(self).model_fields[field].alias
                    yield Problem(
                        f"{key}.{alias}",
                        "(set)",
                        "not with network.existing: the platform owns the existing network's address plan and NSGs",
                    )
            yield from self.existing.problems(f"{key}.existing", whole)
            return
        if self.address_space is None or self.subnets is None:
            missing = "addressSpace" if self.address_space is None else "subnets"
            yield Problem(f"{key}.{missing}", "(missing)", "required unless network.existing names an existing VNet")
            return
        yield from self._plan_problems(key, whole, self.address_space, self.subnets)

    def _zone_problems(self, key: str) -> Iterable[Problem]:
        for zone, zone_id in self.private_dns_zones.items():
            if zone not in PRIVATE_ENDPOINT_ZONES:
                yield Problem(
                    f"{key}.privateDnsZones", repr(zone), f"unknown zone; known: {', '.join(PRIVATE_ENDPOINT_ZONES)}"
                )
                continue
            match = re.match(PRIVATE_DNS_ZONE_ID, zone_id, flags=re.IGNORECASE)
            if not match or match["zone"].lower() != zone:
                yield Problem(
                    f"{key}.privateDnsZones.{zone}",
                    repr(zone_id),
                    f"must be the resource id of a private DNS zone named {zone} "
                    "(/subscriptions/<id>/resourceGroups/<group>/providers/Microsoft.Network/privateDnsZones/<zone>)",
                )

    def _plan_problems(
        self, key: str, whole: GatewaySettings, address_space: IPv4Network, subnets: SubnetSettings
    ) -> Iterable[Problem]:
        used = self.used_subnets(whole)
        for name, net in used.items():
            if not net.subnet_of(address_space):
                yield Problem(
                    f"{key}.subnets.{name}",
                    repr(str(net)),
                    f"must lie inside addressSpace {address_space}",
                )
        for (a, net_a), (b, net_b) in combinations(used.items(), 2):
            if net_a.overlaps(net_b):
                yield Problem(
                    f"{key}.subnets.{b}",
                    repr(str(net_b)),
                    f"overlaps subnets.{a} ({net_a}); subnets must not overlap",
                )
        apim = subnets.apim
        if whole.apim.network_mode == "Integration" and apim.prefixlen > V2_INTEGRATION_MAX_PREFIX:
            yield Problem(
                f"{key}.subnets.apim",
                repr(str(apim)),
                f"VNet integration of {whole.apim.sku} needs a /{V2_INTEGRATION_MAX_PREFIX} or larger subnet",
            )
        if whole.ingress.enabled and subnets.app_gateway is None:
            yield Problem(
                f"{key}.subnets.appGateway",
                "(missing)",
                "required when ingress.enabled is true: a dedicated subnet for the Application Gateway",
            )
