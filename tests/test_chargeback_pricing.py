"""Chargeback, pricing: the deployments, PTUs, quotas and budgets come from a plan or the stack's own settings, and
PTU hours are priced from the deployments and the price table.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.chargeback_support import SUPPORT
from tools.chargeback.pricing import ConsumerLimits, catalogue_from_plan


def test_plan_supplies_deployments_and_quotas(tmp_path: Path) -> None:
    plan = tmp_path / "plan.json"
    plan.write_text(json.dumps({"outputs": {
        "openaiAccounts": [{"name": "ptu-1", "region": "swedencentral", "tier": "ptu", "deployments": [
            {"name": "chat", "model": "gpt-4.1-mini", "sku": "GlobalProvisionedManaged", "capacity": 15}]}],
        "consumers": {"support": {"productId": SUPPORT, "tokenQuota": 1000, "tokenQuotaPeriod": "Monthly",
                                  "monthlyBudget": {"amount": 50, "currency": "USD"}}},
    }}))
    found = catalogue_from_plan(plan)
    assert found.deployments["chat"][0].provisioned
    assert found.consumers[SUPPORT] == ConsumerLimits("support", 50, 1000, "Monthly")


def test_a_stack_prices_its_ptu_hours_from_its_deployments_and_the_table() -> None:
    from components.settings.prices import SKU_TYPES, load_price_table
    from tools.chargeback.pricing import catalogue_from_stack, ptu_hourly_cost, ptu_pools

    found = catalogue_from_stack("prod")
    table = load_price_table()
    expected = {}
    for name, offers in found.deployments.items():
        provisioned = [o for o in offers if o.provisioned]
        if provisioned:
            expected[name] = sum(o.capacity * (found.pricing.provisioned_per_ptu_hour.get(SKU_TYPES[o.sku][0])
                                               or table.ptu_per_hour(SKU_TYPES[o.sku][0], o.region) or 0)
                                 for o in provisioned)
    assert expected, "prod has a PTU"
    assert {pool.split("@")[0]: ptu_hourly_cost(found, pool) for pool in ptu_pools(found)} == expected


def test_a_plan_written_by_the_program_carries_the_budgets(prod: Any, tmp_path: Path) -> None:
    plan = tmp_path / "prod.json"
    plan.write_text(json.dumps({"outputs": prod.outputs}, default=str))
    found = catalogue_from_plan(plan)
    budgeted = {c.name: c.budget for c in found.consumers.values() if c.budget}
    assert budgeted == {name: c["monthlyBudget"]["amount"] for name, c in prod.outputs["consumers"].items()
                        if c.get("monthlyBudget")}
    assert budgeted
