"""Guardrails on the real stacks: dev and prod pass every rule under their own pack config, and the plan reports
what the rules find.
"""

from __future__ import annotations

import pytest

from policies import rules
from tests.guardrail_support import PROD_ONLY, RULES, assert_fails, changed, check
from tools.guardrails import evaluate, guardrail_violations, load_pack_config
from tools.harness import Recording
from tools.violations import collect

# Reported on prod by design: the one stated exception to "no local auth" (the external cache's connection string).
EXPECTED_REPORTS = {("prod", "local-auth-exceptions")}


@pytest.mark.parametrize("rule", sorted(RULES))
def test_the_real_stacks_pass(stack: Recording, rule: str) -> None:
    violations = check(stack, rule)
    if (stack.stack, rule) in EXPECTED_REPORTS:
        assert violations and {v.level for v in violations} == {"advisory"}
    else:
        assert violations == []


def test_the_real_stacks_have_no_mandatory_violation(stack: Recording) -> None:
    assert [v for v in guardrail_violations(stack) if v.level == "mandatory"] == []


def test_dev_runs_without_the_prod_rules_though_it_would_break_them(dev: Recording) -> None:
    # dev simulates PTU, has no zones, no WAF and nothing protected: fine for dev, blocked under prod's config.
    assert [v for v in guardrail_violations(dev) if v.policy in PROD_ONLY] == []
    under_prod = evaluate(dev, load_pack_config("prod"))
    assert {v.policy for v in under_prod if v.level == "mandatory"} == set(PROD_ONLY)


def test_the_plan_collects_guardrail_violations(prod: Recording) -> None:
    broken = changed(prod, rules.EVENTHUB_NAMESPACE, publicNetworkAccess="Enabled")
    assert_fails(collect(broken), "no-public-network-access", "mandatory", "publicNetworkAccess Enabled")
