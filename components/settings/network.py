"""Address plan of the gateway's virtual network."""

from __future__ import annotations

from collections.abc import Iterable
from ipaddress import IPv4Network
from itertools import combinations
from typing import TYPE_CHECKING

from pydantic import Field

from .base import Model, Problem

if TYPE_CHECKING:
    from . import GatewaySettings

# Outbound VNet integration of the v2 tiers needs at least a /27.
V2_INTEGRATION_MAX_PREFIX = 27


class SubnetSettings(Model):
    apim: IPv4Network
    private_endpoints: IPv4Network
    app_gateway: IPv4Network | None = None


class NetworkSettings(Model):
    address_space: IPv4Network
    subnets: SubnetSettings
    # Networks besides the gateway that may reach the private endpoints over HTTPS (e.g. chargeback jobs
    # reading the capture storage); everything else in the VNet is denied.
    private_endpoint_clients: list[IPv4Network] = Field(default_factory=list)

    def used_subnets(self, whole: GatewaySettings) -> dict[str, IPv4Network]:
        """The subnets this stack declares, by their config key."""
        used = {"apim": self.subnets.apim, "privateEndpoints": self.subnets.private_endpoints}
        if whole.ingress.enabled and self.subnets.app_gateway is not None:
            used["appGateway"] = self.subnets.app_gateway
        return used

    def problems(self, key: str, whole: GatewaySettings) -> Iterable[Problem]:
        used = self.used_subnets(whole)
        for name, net in used.items():
            if not net.subnet_of(self.address_space):
                yield Problem(
                    f"{key}.subnets.{name}",
                    repr(str(net)),
                    f"must lie inside addressSpace {self.address_space}",
                )
        for (a, net_a), (b, net_b) in combinations(used.items(), 2):
            if net_a.overlaps(net_b):
                yield Problem(
                    f"{key}.subnets.{b}",
                    repr(str(net_b)),
                    f"overlaps subnets.{a} ({net_a}); subnets must not overlap",
                )
        apim = self.subnets.apim
        if whole.apim.network_mode == "Integration" and apim.prefixlen > V2_INTEGRATION_MAX_PREFIX:
            yield Problem(
                f"{key}.subnets.apim",
                repr(str(apim)),
                f"VNet integration of {whole.apim.sku} needs a /{V2_INTEGRATION_MAX_PREFIX} or larger subnet",
            )
        if whole.ingress.enabled and self.subnets.app_gateway is None:
            yield Problem(
                f"{key}.subnets.appGateway",
                "(missing)",
                "required when ingress.enabled is true: a dedicated subnet for the Application Gateway",
            )
