"""Prices as data: pricing/prices.json, and the budget conversion that reads it."""

from __future__ import annotations

import math

import pytest

from components.settings.gateway import effective_quota, priced_deployments
from components.settings.prices import (
    DEPLOYMENT_TYPES,
    SKU_TYPES,
    TokenPrice,
    load_price_table,
    model_family,
)
from tests.support import only, parse, problems, raw_config, with_value

# The models the stacks deploy or are expected to move to (README, "Currency budgets").
MODELS = ("gpt-4.1", "gpt-4.1-mini", "gpt-4o-mini", "o4-mini", "gpt-5-mini", "gpt-5.4", "gpt-5.4-mini",
          "text-embedding-3-small", "text-embedding-3-large")


def test_table_names_its_currency_source_and_the_date_it_was_read() -> None:
    table = load_price_table()
    assert table.currency == "USD"
    assert table.source.url.startswith("https://prices.azure.com/api/retail/prices")
    assert table.source.read and table.source.fetched
    assert any("Not re-verified" in note for note in table.notes)


@pytest.mark.parametrize("model", MODELS)
def test_every_model_has_a_global_and_a_data_zone_price(model: str) -> None:
    table = load_price_table()
    for kind in ("global", "dataZone"):
        assert table.token_price(model, kind, "swedencentral") is not None, (model, kind)


def test_each_offer_names_its_meters_and_regions() -> None:
    for offer in load_price_table().models:
        assert offer.meters and offer.regions and offer.effective_from, offer.model


def test_reasoning_models_price_reasoning_as_output_and_embeddings_have_no_output() -> None:
    table = load_price_table()
    for model in ("o4-mini", "gpt-5-mini", "gpt-5.4", "gpt-5.4-mini"):
        price = table.token_price(model, "global", None)
        assert price is not None and price.reasoning == price.output
    embedding = table.token_price("text-embedding-3-small", "global", None)
    assert embedding is not None and embedding.output is None


def test_a_regional_price_is_only_for_the_regions_its_meter_covers() -> None:
    table = load_price_table()
    assert table.token_price("gpt-4.1", "regional", "swedencentral") is not None
    assert table.token_price("gpt-4.1", "regional", "francecentral") is None


def test_ptu_hour_is_priced_for_every_deployment_type() -> None:
    table = load_price_table()
    for kind in DEPLOYMENT_TYPES:
        assert (table.ptu_per_hour(kind, "swedencentral") or 0) > 0, kind


def test_every_deployment_sku_maps_to_a_deployment_type() -> None:
    from components.settings.openai import DeploymentSku

    assert set(SKU_TYPES) == set(DeploymentSku.__args__)  # type: ignore[attr-defined]


def test_a_model_version_is_priced_as_its_model() -> None:
    assert model_family("gpt-4.1-mini-2025-04-14") == "gpt-4.1-mini"
    assert model_family("text-embedding-3-small") == "text-embedding-3-small"


def test_cached_and_reasoning_tokens_are_charged_once_at_their_own_price() -> None:
    price = TokenPrice(input=2.0, output=8.0, cached_input=0.5, reasoning=10.0)
    # 600k plain input, 400k cached, 700k plain output, 300k reasoning
    assert price.cost(1_000_000, 400_000, 1_000_000, 300_000) == pytest.approx(1.2 + 0.2 + 5.6 + 3.0)


def test_without_a_stack_price_the_budget_uses_the_table() -> None:
    config = with_value(raw_config("prod"), "pricing.models", {})
    settings = parse(config)
    table = load_price_table()
    consumer = settings.consumers[0]
    prices = [table.token_price(m, SKU_TYPES[sku][0], region)
              for m, sku, region in priced_deployments(consumer, settings)]
    assert prices and None not in prices
    dearest = max(p.blended_per_token(0.75) for p in prices if p is not None)
    assert effective_quota(consumer, settings).from_budget == math.floor(100 / dearest)


def test_a_stack_price_overrides_the_table_for_every_deployment_type() -> None:
    override = {"inputPerMillion": 2.0, "outputPerMillion": 12.0}
    settings = parse(with_value(raw_config("prod"), "pricing.models", {"gpt-5.4": override}))
    assert settings.pricing is not None
    for sku, region in (("DataZoneStandard", "francecentral"), ("GlobalStandard", None), ("Standard", "westeurope")):
        assert settings.pricing.token_price("gpt-5.4-2026-03-05", sku, region) == TokenPrice(2.0, 12.0), sku


def test_a_deployment_the_table_cannot_price_names_model_sku_and_region() -> None:
    config = with_value(raw_config("prod"), "openai.accounts.2.location", "westeurope")
    config = with_value(config, "openai.accounts.2.deployments.0.sku", "Standard")
    model = config["openai"]["accounts"][2]["deployments"][0]["model"]["name"]
    line = only(problems(config))
    assert line.startswith(f"genai-gateway:consumers['customer-support'].monthlyBudget: 100.0: no price for model "
                           f"{model!r} (Standard in westeurope): the price table (components/pricing/prices.json) "
                           "has no regional price")


def test_provisioned_hour_overrides_name_a_deployment_type() -> None:
    line = only(problems(with_value(raw_config("prod"), "pricing.provisionedPerPtuHour", {"regionl": 1.5})))
    assert line.startswith("genai-gateway:pricing.provisionedPerPtuHour.regionl")


def test_a_stack_price_must_be_positive() -> None:
    config = with_value(raw_config("prod"), "pricing.models.gpt-4o-mini.inputPerMillion", -1)
    assert only(problems(config)).startswith("genai-gateway:pricing.models.gpt-4o-mini.inputPerMillion: -1:")


def test_a_provisioned_deployment_without_a_price_of_its_type_gets_the_models_dearest() -> None:
    settings = parse(raw_config("prod"))
    assert settings.pricing is not None
    # gpt-5.4 has no regional pay-as-you-go meter: a regional PTU's tokens are priced at its Data Zone rate.
    price = settings.pricing.token_price("gpt-5.4", "ProvisionedManaged", "swedencentral")
    assert price == load_price_table().token_price("gpt-5.4", "dataZone", "swedencentral")
    assert settings.pricing.token_price("gpt-5.4", "Standard", "swedencentral") is None


@pytest.mark.parametrize(("field", "value", "allowed"), [
    ("outputPerMillion", 0, "input should be greater than 0"),
    ("cachedInputPerMillion", -0.5, "input should be greater than or equal to 0"),
    ("reasoningPerMillion", -1, "input should be greater than or equal to 0"),
])
def test_each_stack_token_price_is_checked_naming_the_model_and_field(field: str, value: float, allowed: str) -> None:
    config = with_value(raw_config("prod"), "pricing.models", {"gpt-5.4": {"inputPerMillion": 1.0, field: value}})
    assert only(problems(config)) == f"genai-gateway:pricing.models.gpt-5.4.{field}: {value}: {allowed}"


@pytest.mark.parametrize("value", [0, -2.5])
def test_a_provisioned_hour_price_must_be_positive(value: float) -> None:
    config = with_value(raw_config("prod"), "pricing.provisionedPerPtuHour", {"dataZone": value})
    assert only(problems(config)) == (
        f"genai-gateway:pricing.provisionedPerPtuHour.dataZone: {value}: input should be greater than 0"
    )


@pytest.mark.parametrize("currency", ["usd", "US", "EURO"])
def test_the_pricing_currency_is_a_three_letter_upper_case_code(currency: str) -> None:
    lines = problems(with_value(raw_config("prod"), "pricing.currency", currency))
    assert lines[0] == (
        f"genai-gateway:pricing.currency: {currency!r}: must be a three-letter ISO 4217 currency code in capitals, "
        "such as 'USD' or 'EUR'"
    )
