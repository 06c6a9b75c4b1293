"""Where the platform Key Vault of app teams' keys registers its private endpoint (DNS)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from .base import Model, Problem
from .forms import matching, resource_id

if TYPE_CHECKING:
    from . import GatewaySettings

KEY_VAULT_DNS_ZONE = "privatelink.vaultcore.azure.net"
ZONE_ID = resource_id(
    f"a {KEY_VAULT_DNS_ZONE} private DNS zone",
    r"(?i)^/subscriptions/[^/]+/resourceGroups/[^/]+/providers/Microsoft\.Network/privateDnsZones/"
    r"privatelink\.vaultcore\.azure\.net$",
    f"Microsoft.Network/privateDnsZones/{KEY_VAULT_DNS_ZONE}",
)


class ConsumerKeyVaultSettings(Model):
    # An existing privatelink.vaultcore.azure.net zone (ARM id), e.g. the landing zone's central one, that the
    # vault's private endpoint registers in. None: the stack creates its own zone and links it to its VNet.
    private_dns_zone_id: str | None = matching(ZONE_ID, None)

    def problems(self, key: str, whole: GatewaySettings) -> Iterable[Problem]:
        readers = [c.name for c in whole.consumers if c.key_vault_reader is not None]
        if readers and whole.ingress.enabled and self.private_dns_zone_id is None:
            # A zone of this stack linked to the VNet answers for every *.vault.azure.net name inside it, so the
            # App Gateway could no longer resolve the vault of its certificate (guardrail
            # ingress-key-vault-resolvable). The platform's zone already resolves that vault.
            yield Problem(
                f"{key}.privateDnsZoneId",
                "(missing)",
                f"required when ingress.enabled and consumers ({', '.join(readers)}) name a keyVaultReader: a "
                f"{KEY_VAULT_DNS_ZONE} zone of this stack would hide the ingress certificate's vault from the App "
                "Gateway; give the ARM id of the zone that already resolves it",
            )
