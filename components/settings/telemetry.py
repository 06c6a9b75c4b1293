"""Token telemetry: the Event Hubs namespace that carries usage records, and their durable capture."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from pydantic import Field

from .base import Model, Problem

if TYPE_CHECKING:
    from . import GatewaySettings

# Azure limits of the Event Hubs Standard tier and of Event Hubs Capture.
MAX_THROUGHPUT_UNITS = 40
MAX_PARTITIONS = 32
MAX_RETENTION_DAYS = 7
MIN_CAPTURE_INTERVAL_SECONDS, MAX_CAPTURE_INTERVAL_SECONDS = 60, 900
MIN_CAPTURE_SIZE_BYTES, MAX_CAPTURE_SIZE_BYTES = 10 * 1024 * 1024, 500 * 1024 * 1024


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


class TelemetrySettings(Model):
    # Frozen models, so one shared default instance is safe.
    event_hub: EventHubSettings = EventHubSettings()
    capture: CaptureSettings = CaptureSettings()
    # The usage record carries a SHA-256 of the client IP, never the IP itself, and only when this is on.
    hash_client_ip: bool = False

    def problems(self, key: str, whole: GatewaySettings) -> Iterable[Problem]:
        if not whole.is_production:
            return
        if not self.capture.enabled:
            yield Problem(
                f"{key}.capture.enabled",
                "false",
                "must be true in production: usage records are the chargeback ledger and must be kept durably",
            )
        if not self.event_hub.zone_redundant:
            yield Problem(
                f"{key}.eventHub.zoneRedundant",
                "false",
                "must be true in production: the usage event hub must survive the loss of a zone",
            )
