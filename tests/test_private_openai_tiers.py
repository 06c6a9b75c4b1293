"""PrivateOpenAI, capacity tiers and outputs: dev simulates its PTU and says so, prod has real provisioned PTU and
pay-as-you-go in two regions, and the exported account summary (plain, no secrets) matches the accounts.
"""

from __future__ import annotations

import pytest

from components.private_openai import backend_url
from components.settings.openai import PROVISIONED_SKUS
from tests.private_openai_support import (
    ACCOUNT,
    account_resource,
    accounts_of,
    contains_secret,
    deployments_of,
    exported_accounts,
    settings_of,
)
from tools.harness import Recording


def test_dev_shows_its_simulated_ptu_in_tags_and_outputs(dev: Recording) -> None:
    ptu = settings_of("dev").openai.account("ptu-1")
    assert ptu.tier == "ptu" and ptu.simulated
    assert account_resource(dev, ptu).get("tags.capacityTier") == "ptu-simulated"
    assert exported_accounts(dev)["ptu-1"]["simulated"] is True
    assert exported_accounts(dev)["ptu-1"]["tier"] == "ptu"
    for deployment in deployments_of(dev, ptu):
        assert deployment.get("sku.name") not in PROVISIONED_SKUS


def test_prod_has_real_provisioned_ptu_and_no_simulation(prod: Recording) -> None:
    assert all(r.get("tags.capacityTier") != "ptu-simulated" for r in prod.of_type(ACCOUNT))
    assert all(entry["simulated"] is False for entry in exported_accounts(prod).values())
    ptu = settings_of("prod").openai.account("ptu-1")
    assert {d.get("sku.name") for d in deployments_of(prod, ptu)} <= PROVISIONED_SKUS


def test_prod_pay_as_you_go_spans_two_regions_with_the_same_deployment_names(prod: Recording) -> None:
    paygo = [a for a in accounts_of(prod) if a.tier == "paygo"]
    assert len({a.location for a in paygo}) == 2
    assert len({tuple(a.deployment_names) for a in paygo}) == 1


def test_exported_account_summary_is_plain_and_matches_the_accounts(stack: Recording) -> None:
    exported = stack.outputs["openaiAccounts"]
    assert not contains_secret(exported)
    by_name = exported_accounts(stack)
    assert list(by_name) == [a.name for a in accounts_of(stack)]
    for account in accounts_of(stack):
        entry = by_name[account.name]
        subdomain = account_resource(stack, account).get("properties.customSubDomainName")
        assert entry["accountName"] == account_resource(stack, account).get("accountName")
        assert entry["region"] == account.location
        assert entry["tier"] == account.tier
        assert entry["simulated"] is account.simulated
        assert entry["endpoint"] == f"https://{subdomain}.openai.azure.com/"
        assert entry["backendUrl"] == f"https://{subdomain}.openai.azure.com/openai"
        assert entry["deployments"] == [
            {"name": d.name, "model": d.model.name, "version": d.model.version, "sku": d.sku, "capacity": d.capacity}
            for d in account.deployments
        ]


@pytest.mark.parametrize("endpoint", ["https://oai-x.openai.azure.com/", "https://oai-x.openai.azure.com"])
def test_backend_url_is_the_endpoint_plus_openai_without_a_double_slash(endpoint: str) -> None:
    assert backend_url(endpoint) == "https://oai-x.openai.azure.com/openai"
