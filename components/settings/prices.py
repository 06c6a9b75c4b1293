"""The price table: Azure OpenAI list prices as data (`pricing/prices.json`), read by the budget conversion and
by the chargeback report alike, so a currency budget and a statement never disagree about what a token costs.

A price is looked up by model name, deployment type and region. The deployment type follows from the
deployment's SKU (`SKU_TYPES`): GlobalStandard and GlobalProvisionedManaged are `global`, DataZone... are
`dataZone`, Standard and ProvisionedManaged are `regional`. Pay-as-you-go SKUs are priced per token;
provisioned SKUs per PTU and hour (`ProvisionedPrice`), whatever the tokens.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from pydantic.alias_generators import to_camel

PRICES_PATH = Path(__file__).resolve().parent.parent / "pricing" / "prices.json"

DeploymentType = Literal["global", "dataZone", "regional"]
DEPLOYMENT_TYPES: tuple[DeploymentType, ...] = ("global", "dataZone", "regional")
# Deployment SKU -> (deployment type, provisioned?). Source: the deployment types of Azure OpenAI
# (learn.microsoft.com/azure/ai-foundry/openai/how-to/deployment-types).
SKU_TYPES: dict[str, tuple[DeploymentType, bool]] = {
    "GlobalStandard": ("global", False),
    "DataZoneStandard": ("dataZone", False),
    "Standard": ("regional", False),
    "GlobalProvisionedManaged": ("global", True),
    "DataZoneProvisionedManaged": ("dataZone", True),
    "ProvisionedManaged": ("regional", True),
}
# A response names the model with its version ("gpt-4.1-mini-2025-04-14"); the table names the model.
_VERSION_SUFFIX = re.compile(r"-\d{4}-\d{2}-\d{2}$")


def model_family(model: str) -> str:
    """`gpt-4.1-mini-2025-04-14` -> `gpt-4.1-mini`: the name prices are kept under."""
    return _VERSION_SUFFIX.sub("", model)


@dataclass(frozen=True)
class TokenPrice:
    """Prices per million tokens. Cached prompt tokens are part of the prompt tokens and reasoning tokens part
    of the completion tokens (as in OpenAI's `usage`), so each is charged once: at its own price instead of
    the plain input or output price. A missing cached or reasoning price means no separate rate."""

    input: float
    output: float | None = None
    cached_input: float | None = None
    reasoning: float | None = None

    def cost(self, prompt: int, cached: int, completion: int, reasoning: int) -> float:
        """Money for one request's (or one aggregate's) tokens, in the table's currency."""
        cached = min(cached, prompt)
        reasoning = min(reasoning, completion)
        output = self.output if self.output is not None else self.input
        total = (prompt - cached) * self.input + cached * (self.cached_input if self.cached_input is not None
                                                           else self.input)
        total += (completion - reasoning) * output + reasoning * (self.reasoning if self.reasoning is not None
                                                                  else output)
        return total / 1_000_000

    def blended_per_token(self, prompt_share: float) -> float:
        """Price of one token when `prompt_share` of the tokens are input (embeddings: all input)."""
        if self.output is None:
            return self.input / 1_000_000
        return (prompt_share * self.input + (1 - prompt_share) * self.output) / 1_000_000


class _Entry(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid", frozen=True)


class ModelOffer(_Entry):
    model: str = Field(min_length=1)
    deployment_type: DeploymentType
    input_per_million: float = Field(gt=0)
    cached_input_per_million: float | None = Field(None, ge=0)
    output_per_million: float | None = Field(None, ge=0)
    reasoning_per_million: float | None = Field(None, ge=0)
    # The regions whose meter carries these prices; empty = not region specific.
    regions: list[str] = Field(default_factory=list)
    meters: list[str] = Field(default_factory=list)
    effective_from: str | None = None

    @property
    def price(self) -> TokenPrice:
        return TokenPrice(self.input_per_million, self.output_per_million, self.cached_input_per_million,
                          self.reasoning_per_million)


class ProvisionedPrice(_Entry):
    deployment_type: DeploymentType
    sku: str
    per_ptu_hour: float = Field(gt=0)
    meter: str | None = None
    effective_from: str | None = None
    regions: list[str] = Field(default_factory=list)


class PriceSource(_Entry):
    name: str
    url: str
    page: str | None = None
    snapshot: str | None = None
    fetched: str | None = None
    read: str


class PriceTable(_Entry):
    comment: str | None = Field(None, alias="$comment")
    currency: str = Field(pattern=r"^[A-Z]{3}$")
    source: PriceSource
    notes: list[str] = Field(default_factory=list)
    models: list[ModelOffer]
    provisioned: list[ProvisionedPrice] = Field(default_factory=list)

    def token_price(self, model: str, deployment_type: DeploymentType, region: str | None) -> TokenPrice | None:
        """The table's price of `model` (any version) in that deployment type and region, or None."""
        family = model_family(model)
        for offer in self.models:
            if offer.model == family and offer.deployment_type == deployment_type and (
                not offer.regions or region is None or region in offer.regions
            ):
                return offer.price
        return None

    def dearest_price(self, model: str, prompt_share: float) -> TokenPrice | None:
        """The model's most expensive offer (by blended price) in any deployment type and region."""
        family = model_family(model)
        prices = [o.price for o in self.models if o.model == family]
        return max(prices, key=lambda p: p.blended_per_token(prompt_share)) if prices else None

    def ptu_per_hour(self, deployment_type: DeploymentType, region: str | None) -> float | None:
        for offer in self.provisioned:
            if offer.deployment_type == deployment_type and (
                not offer.regions or region is None or region in offer.regions
            ):
                return offer.per_ptu_hour
        return None

    def model_names(self) -> list[str]:
        return sorted({o.model for o in self.models})


class PriceTableError(Exception):
    """The price table file cannot be read or does not have the documented shape."""


@cache
def load_price_table(path: Path = PRICES_PATH) -> PriceTable:
    try:
        return PriceTable.model_validate(json.loads(path.read_text(encoding="utf-8")))
    except (OSError, ValueError, ValidationError) as error:
        raise PriceTableError(f"{path}: not a price table: {error}") from None
