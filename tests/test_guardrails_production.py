"""Guardrails, production (policies/rules/production.py; disabled in dev, mandatory in prod): zone redundancy, a WAF
in Prevention mode, protected stateful resources and no simulated PTU.
"""

from __future__ import annotations

import copy

from policies import rules
from tests.guardrail_support import assert_fails, changed, check, find, without
from tools.harness import Recording


def test_prod_zone_redundancy(prod: Recording) -> None:
    rule = "prod-zone-redundancy"
    broken = changed(prod, rules.APIM, zones=["1"], sku__capacity=1)
    assert_fails(check(broken, rule), rule, "mandatory", "spans 1 zone(s)", "gateway-apim")
    broken = changed(prod, rules.APIM, sku__capacity=3)
    assert_fails(check(broken, rule), rule, "mandatory", "multiple of the number of zones", "gateway-apim")
    broken = changed(prod, rules.EVENTHUB_NAMESPACE, zoneRedundant=False)
    assert_fails(check(broken, rule), rule, "mandatory", "not zone redundant", "telemetry-namespace")
    broken = changed(prod, rules.STORAGE_ACCOUNT, sku__name="Standard_LRS")
    assert_fails(check(broken, rule), rule, "mandatory", "uses Standard_LRS", "telemetry-capture")


def test_prod_waf_prevention(prod: Recording) -> None:
    rule = "prod-waf-prevention"
    broken = changed(prod, rules.WAF_POLICY, policySettings__mode="Detection")
    assert_fails(check(broken, rule), rule, "mandatory", "in Detection mode", "gateway-ingress-waf")
    broken = without(prod, rules.WAF_POLICY)
    assert_fails(check(broken, rule), rule, "mandatory", "declares no WebApplicationFirewallPolicy")


def test_prod_protect_stateful(prod: Recording) -> None:
    rule = "prod-protect-stateful"
    for token, name in (
        (rules.WORKSPACE, "gateway-logs"),
        (rules.COGNITIVE_ACCOUNT, "openai-ptu-1"),
        (rules.APIM, "gateway-apim"),
    ):
        broken = copy.deepcopy(prod)
        find(broken, token, name).protect = False
        assert_fails(check(broken, rule), rule, "mandatory", "is not protected", name)


def test_prod_no_simulated_ptu(dev: Recording, prod: Recording) -> None:
    rule = "prod-no-simulated-ptu"
    broken = changed(prod, rules.COGNITIVE_ACCOUNT, "openai-ptu-1", tags__capacityTier="ptu-simulated")
    assert_fails(check(broken, rule), rule, "mandatory", "capacityTier ptu-simulated", "openai-ptu-1")
    # dev simulates its PTU on purpose: the rule is disabled there.
    assert find(dev, rules.COGNITIVE_ACCOUNT, "openai-ptu-1").get("tags.capacityTier") == "ptu-simulated"
    assert check(dev, rule) == []
