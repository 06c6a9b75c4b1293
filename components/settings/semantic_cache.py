"""Semantic caching of completions in Azure Managed Redis, partitioned by consumer."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Literal

from pydantic import Field

from .base import Model, Problem

if TYPE_CHECKING:
    from . import GatewaySettings

# Azure Managed Redis tiers that run the RediSearch module (not the legacy Enterprise SKUs).
RedisSku = Literal[
    "Balanced_B0", "Balanced_B1", "Balanced_B3", "Balanced_B5", "Balanced_B10", "Balanced_B20",
    "MemoryOptimized_M10", "MemoryOptimized_M20", "ComputeOptimized_X3", "ComputeOptimized_X5",
]


class SemanticCacheSettings(Model):
    enabled: bool = False
    # Embeddings deployment (hosted by one or more accounts) that vectorises prompts for the lookup.
    embeddings_deployment: str = "text-embedding-3-small"
    # The account whose embeddings deployment the lookup calls (one Single backend); default the first hosting it.
    embeddings_account: str | None = None
    # Distance, not similarity: 0 is identical; the APIM reference suggests starting near 0.05.
    score_threshold: float = Field(0.05, gt=0, le=1)
    duration_seconds: int = Field(3600, ge=60, le=86400 * 7)
    max_message_count: int = Field(10, ge=1, le=100)
    ignore_system_messages: bool = True
    redis_sku: RedisSku = "Balanced_B1"
    high_availability: bool = True

    def problems(self, key: str, whole: GatewaySettings) -> Iterable[Problem]:
        if not self.enabled:
            return
        hosted = whole.deployments_by_account()
        if not any(self.embeddings_deployment in names for names in hosted.values()):
            known = sorted({d for names in hosted.values() for d in names})
            yield Problem(
                f"{key}.embeddingsDeployment",
                repr(self.embeddings_deployment),
                f"no account deploys it (deployments: {', '.join(known)})",
            )
        if self.embeddings_account is not None:
            hosts = sorted(a for a, names in hosted.items() if self.embeddings_deployment in names)
            if self.embeddings_account not in hosts:
                yield Problem(
                    f"{key}.embeddingsAccount",
                    repr(self.embeddings_account),
                    f"does not deploy {self.embeddings_deployment!r} (accounts that do: {', '.join(hosts) or 'none'})",
                )
        if whole.is_production and not self.high_availability:
            yield Problem(f"{key}.highAvailability", "false", "must be true in production")
