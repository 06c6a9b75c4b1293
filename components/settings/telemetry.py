"""Token telemetry: the Event Hubs namespace that carries usage records, and their durable capture."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Literal

from pydantic import Field

from .base import Model, Problem
from .ingress import MAX_ROLE_PROPAGATION_SECONDS, ROLE_PROPAGATION_SECONDS

if TYPE_CHECKING:
    from . import GatewaySettings

# Azure limits of the Event Hubs Standard tier and of Event Hubs Capture.
MAX_THROUGHPUT_UNITS = 40
MAX_PARTITIONS = 32
MAX_RETENTION_DAYS = 7
MIN_CAPTURE_INTERVAL_SECONDS, MAX_CAPTURE_INTERVAL_SECONDS = 60, 900
MIN_CAPTURE_SIZE_BYTES, MAX_CAPTURE_SIZE_BYTES = 10 * 1024 * 1024, 500 * 1024 * 1024
# Redundancy of the capture archive. Usage records are billing data: production keeps them across zones and in
# the paired region (GZRS, or RA-GZRS to read the secondary too).
CaptureStorageSku = Literal["Standard_LRS", "Standard_ZRS", "Standard_GRS", "Standard_GZRS", "Standard_RAGZRS"]
GEO_ZONE_REDUNDANT_SKUS = ("Standard_GZRS", "Standard_RAGZRS")
# Who grants the identity that deploys the stack the access Event Hubs Capture's linked-access check needs:
# "grant" declares Storage Blob Data Contributor on the capture account for it (authorization.getClientConfig),
# "inherited" declares nothing because that principal already holds it at resource group or subscription scope.
DeployerAccess = Literal["grant", "inherited"]
# Azure refuses a role assignment whose principalType does not match the principal (UnmatchedPrincipalType), and
# the program can't tell the kind of the identity running `pulumi up`: the stack says it.
PrincipalType = Literal["User", "ServicePrincipal", "Group"]


class EventHubSettings(Model):
    # Throughput units of the Standard namespace (1 TU = 1 MB/s or 1,000 events/s in).
    capacity: int = Field(default=1, ge=1, le=MAX_THROUGHPUT_UNITS)
    # Fixed at creation on the Standard tier: changing it replaces the event hub.
    partition_count: int = Field(default=2, ge=1, le=MAX_PARTITIONS)
    retention_days: int = Field(default=1, ge=1, le=MAX_RETENTION_DAYS)
    zone_redundant: bool = False


class CaptureSettings(Model):
    # Every usage record kept durably (Avro blobs) for chargeback.
    enabled: bool = False
    interval_seconds: int = Field(default=300, ge=MIN_CAPTURE_INTERVAL_SECONDS, le=MAX_CAPTURE_INTERVAL_SECONDS)
    size_limit_bytes: int = Field(default=314572800, ge=MIN_CAPTURE_SIZE_BYTES, le=MAX_CAPTURE_SIZE_BYTES)
    # None: Standard_ZRS with a zone-redundant namespace, Standard_LRS without.
    storage_sku: CaptureStorageSku | None = None
    deployer_access: DeployerAccess = "grant"
    # The kind of identity that runs `pulumi up` for this stack (CI: a service principal or managed identity).
    deployer_principal_type: PrincipalType = "ServicePrincipal"
    # The event hub is created this long after the capture account's role assignments (linked-access check).
    role_propagation_seconds: int = Field(ROLE_PROPAGATION_SECONDS, ge=0, le=MAX_ROLE_PROPAGATION_SECONDS)

    def sku_for(self, zone_redundant: bool) -> str:
        if self.storage_sku is not None:
            return self.storage_sku
        return "Standard_ZRS" if zone_redundant else "Standard_LRS"


class TelemetrySettings(Model):
    # Frozen models, so one shared default instance is safe.
    event_hub: EventHubSettings = EventHubSettings()
    capture: CaptureSettings = CaptureSettings()
    # The usage record carries a SHA-256 of the client IP, never the IP itself, and only when this is on.
    hash_client_ip: bool = False

    @property
    def capture_sku(self) -> str:
        """The capture account's storage SKU."""
        return self.capture.sku_for(self.event_hub.zone_redundant)

    def problems(self, key: str, whole: GatewaySettings) -> Iterable[Problem]:
        if not whole.is_production:
            return
        if not self.capture.enabled:
            yield Problem(
                f"{key}.capture.enabled",
                "false",
                "must be true in production: usage records are the chargeback ledger and must be kept durably",
            )
        if self.capture.enabled and self.capture_sku not in GEO_ZONE_REDUNDANT_SKUS:
            yield Problem(
                f"{key}.capture.storageSku",
                repr(self.capture_sku),
                f"must be one of {', '.join(GEO_ZONE_REDUNDANT_SKUS)} in production: the capture archive holds "
                "billing data and must survive the loss of a zone and of the region",
            )
        if not self.event_hub.zone_redundant:
            yield Problem(
                f"{key}.eventHub.zoneRedundant",
                "false",
                "must be true in production: the usage event hub must survive the loss of a zone",
            )
