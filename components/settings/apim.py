"""The API Management service: tier, scale, network mode, publisher."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Literal

from pydantic import Field

from .base import Model, Problem
from .forms import EMAIL, Form, matching

if TYPE_CHECKING:
    from . import GatewaySettings

Sku = Literal["Developer", "Premium", "StandardV2"]
NetworkMode = Literal["External", "Internal", "Integration"]
Zone = Literal["1", "2", "3"]

# Classic VNet injection (External/Internal) exists on Developer and Premium only; the v2 tiers use
# outbound VNet integration. The 2024-05-01 API has no PremiumV2.
MODES_BY_SKU: dict[str, tuple[str, ...]] = {
    "Developer": ("External", "Internal"),
    "Premium": ("External", "Internal"),
    "StandardV2": ("Integration",),
}
MAX_UNITS_BY_SKU: dict[str, int] = {"Developer": 1, "Premium": 12, "StandardV2": 10}

API_VERSION = Form(r"^\d{4}-\d{2}-\d{2}$", "an API version date YYYY-MM-DD, such as '2021-08-01'")


class ApimSettings(Model):
    sku: Sku
    capacity: int = Field(1, ge=1)
    zones: list[Zone] = Field(default_factory=list)
    network_mode: NetworkMode
    publisher_name: str = Field(min_length=1, max_length=100)
    publisher_email: str = matching(EMAIL, max_length=100)
    # Control-plane API versions before 2021-08-01 are retired; older clients must not manage the service.
    min_api_version: str = matching(API_VERSION, "2021-08-01")

    def problems(self, key: str, whole: GatewaySettings) -> Iterable[Problem]:
        modes = MODES_BY_SKU[self.sku]
        if self.network_mode not in modes:
            skus = [s for s, m in MODES_BY_SKU.items() if self.network_mode in m]
            yield Problem(
                f"{key}.networkMode",
                repr(self.network_mode),
                f"not supported by sku {self.sku} (allowed: {', '.join(modes)}); "
                f"{self.network_mode} needs sku {' or '.join(skus)}",
            )
        if self.capacity > MAX_UNITS_BY_SKU[self.sku]:
            yield Problem(
                f"{key}.capacity",
                str(self.capacity),
                f"sku {self.sku} allows 1 to {MAX_UNITS_BY_SKU[self.sku]} units",
            )
        if self.zones:
            if self.sku != "Premium":
                yield Problem(f"{key}.zones", str(self.zones), "availability zones need sku Premium")
            elif len(set(self.zones)) != len(self.zones):
                yield Problem(f"{key}.zones", str(self.zones), "each zone at most once")
            elif self.capacity % len(self.zones):
                yield Problem(
                    f"{key}.capacity",
                    str(self.capacity),
                    f"must be a multiple of the number of zones ({len(self.zones)}) to spread units evenly",
                )
