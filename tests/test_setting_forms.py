"""Settings of a fixed form (names, regions, addresses, Azure ids): a mismatch names the key, the value and the
allowed form in words, never the regular expression that checks it."""

from __future__ import annotations

import typing
from typing import Any

import pytest
from pydantic import BaseModel

from components.settings import PROJECT, GatewaySettings, SettingsError
from components.settings.forms import allowed_form
from tests.support import declarations, only, problems, with_value
from tools.harness import run_stack

SUBNET = "/subscriptions/11111111-1111-1111-1111-111111111111/resourceGroups/rg-spoke/providers/Microsoft.Network"
# Every settings module declares its patterns with their form in words.
FORMLESS_MODULES: set[str] = set()


def test_a_short_name_states_its_length_and_letters(dev_config: dict) -> None:
    line = only(problems(with_value(dev_config, "namePrefix", "GenAI")))
    assert line == (
        f"{PROJECT}:namePrefix: 'GenAI': must be 2 to 10 lowercase letters or digits, starting with a letter, "
        "such as 'genai'"
    )


def test_a_region_is_named_as_azure_spells_it(dev_config: dict) -> None:
    line = only(problems(with_value(dev_config, "location", "Sweden Central")))
    assert line == (
        f"{PROJECT}:location: 'Sweden Central': must be an Azure region name: 3 to 31 lowercase letters or digits, "
        "starting with a letter, such as 'swedencentral'"
    )


def test_an_email_address_is_shown_by_example(dev_config: dict) -> None:
    line = only(problems(with_value(dev_config, "apim.publisherEmail", "platform team")))
    assert line == (
        f"{PROJECT}:apim.publisherEmail: 'platform team': must be an email address such as 'platform@contoso.com'"
    )


def test_an_api_version_is_a_date(dev_config: dict) -> None:
    line = only(problems(with_value(dev_config, "apim.minApiVersion", "2021-8-1")))
    assert line == (
        f"{PROJECT}:apim.minApiVersion: '2021-8-1': must be an API version date YYYY-MM-DD, such as '2021-08-01'"
    )


def test_a_host_name_is_a_lowercase_fully_qualified_name(prod_config: dict) -> None:
    line = only(problems(with_value(prod_config, "ingress.hostName", "GenAI.Contoso.com")))
    assert line.startswith(
        f"{PROJECT}:ingress.hostName: 'GenAI.Contoso.com': must be a fully qualified host name in lowercase, "
        "such as 'genai.contoso.com'"
    )


def test_an_azure_resource_id_is_spelled_out_segment_by_segment(dev_config: dict) -> None:
    existing = {
        "vnetId": f"{SUBNET}/virtualNetworks/vnet-spoke",
        "apimSubnetId": "snet-apim",
        "privateEndpointSubnetId": f"{SUBNET}/virtualNetworks/vnet-spoke/subnets/snet-pe",
    }
    config = with_value(dev_config, "network", {"existing": existing})
    line = only(problems(config))
    assert line == (
        f"{PROJECT}:network.existing.apimSubnetId: 'snet-apim': must be the Azure resource id of a subnet: "
        "/subscriptions/<subscription id>/resourceGroups/<resource group>/providers/"
        "Microsoft.Network/virtualNetworks/<vnet>/subnets/<subnet>"
    )


def test_a_deployment_name_states_its_characters(dev_config: dict) -> None:
    line = only(problems(with_value(dev_config, "openai.accounts.0.deployments.0.name", "gpt 4.1")))
    assert line.endswith(
        ".name: 'gpt 4.1': must be 2 to 64 letters, digits, hyphens, underscores or periods, starting with a letter "
        "or digit, such as 'gpt-4.1'"
    )


def test_a_model_version_is_named_as_azure_openai_lists_it(dev_config: dict) -> None:
    line = only(problems(with_value(dev_config, "openai.accounts.0.deployments.0.model.version", "2025 04 14")))
    assert line.endswith(
        ".model.version: '2025 04 14': must be a model version as Azure OpenAI lists it: letters, digits, periods "
        "and hyphens, starting with a letter or digit, such as '2025-04-14'"
    )


def test_a_tenant_id_is_a_guid(prod_config: dict) -> None:
    line = only(problems(with_value(prod_config, "entraId.tenantId", "contoso.onmicrosoft.com")))
    assert line == (
        f"{PROJECT}:entraId.tenantId: 'contoso.onmicrosoft.com': must be a GUID such as "
        "'00000000-0000-0000-0000-000000000000'"
    )


def test_a_breaker_interval_is_an_iso_duration(dev_config: dict) -> None:
    line = only(problems(with_value(dev_config, "routing.circuitBreaker.interval", "60s")))
    assert line == (
        f"{PROJECT}:routing.circuitBreaker.interval: '60s': must be an ISO 8601 duration of days, hours, minutes and "
        "seconds, such as 'PT1M', 'PT30S' or 'PT1H'"
    )


def test_a_consumer_name_states_its_characters(dev_config: dict) -> None:
    line = only(problems(with_value(dev_config, "consumers.0.name", "Team_Alpha")))
    assert line.endswith(
        ".name: 'Team_Alpha': must be 2 to 40 lowercase letters, digits or dashes, starting with a letter and not "
        "ending with a dash, such as 'team-alpha'"
    )


@pytest.mark.parametrize(
    ("path", "value"),
    [
        ("namePrefix", "GenAI"),
        ("location", "Sweden Central"),
        ("apim.publisherEmail", "platform team"),
        ("contentSafety.location", "EU"),
        ("observability.existingWorkspaceId", "/subscriptions/x"),
        ("consumerKeyVault.privateDnsZoneId", "/subscriptions/x"),
        ("routing.circuitBreaker.tripDuration", "1 minute"),
        ("consumers.0.name", "Team_Alpha"),
    ],
)
def test_a_form_error_never_quotes_the_regular_expression(dev_config: dict, path: str, value: Any) -> None:
    line = only(problems(with_value(dev_config, path, value)))
    assert "pattern" not in line and "^" not in line and "\\" not in line and "[a-z" not in line


def test_every_pattern_checked_setting_declares_its_form_in_words() -> None:
    formless = [
        f"{model.__module__}.{model.__name__}.{name}"
        for model in _models(GatewaySettings)
        for name, field in model.model_fields.items()
        if any(getattr(m, "pattern", None) for m in field.metadata)
        and allowed_form(field) is None
        and model.__module__ not in FORMLESS_MODULES
    ]
    assert formless == []


def test_a_form_error_stops_the_program_before_any_resource_is_declared(
    dev_config: dict, monkeypatch: pytest.MonkeyPatch
) -> None:
    declared = declarations(monkeypatch)
    with pytest.raises(SettingsError) as error:
        run_stack("dev", overrides={"location": "Sweden Central"})
    assert f"{PROJECT}:location: 'Sweden Central': must be an Azure region name" in str(error.value)
    assert declared == []


def _models(model: type[BaseModel], seen: set[type[BaseModel]] | None = None) -> set[type[BaseModel]]:
    """`model` and every settings model reachable from its fields."""
    seen = set() if seen is None else seen
    if model in seen:
        return seen
    seen.add(model)
    for field in model.model_fields.values():
        for candidate in _types(field.annotation):
            if isinstance(candidate, type) and issubclass(candidate, BaseModel):
                _models(candidate, seen)
    return seen


def _types(annotation: Any) -> list[Any]:
    return [annotation, *(t for arg in typing.get_args(annotation) for t in _types(arg))]
