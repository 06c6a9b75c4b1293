"""Guardrails, the pack: the pulumi-policy pack in policies/ as the Pulumi CLI loads it, and its configuration.

Every rule is documented with a level; the pack's files name the Python runtime; each stack's pack config
(policies/config/<stack>.json, or its environment's) is valid, sets the levels the CLI's precedence gives, and a
bad one is refused by name.
"""

from __future__ import annotations

import ast
import json
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from pulumi_policy import EnforcementLevel, ResourceValidationPolicy, StackValidationPolicy

from components.access import ROLE_DEFINITIONS
from policies import rules
from policies.rules import ALL_RULES, PLAN_ONLY_RULES, POLICIES
from tests.guardrail_support import PROD_ONLY, RULES, changed, check
from tools.guardrails import GuardrailConfigError, guardrail_violations, load_pack_config, markdown_table, reconcile
from tools.harness import Recording
from tools.stack_config import PROJECT_DIR

PACK_DIR = PROJECT_DIR / "policies"


def test_the_pack_has_at_least_15_documented_rules() -> None:
    assert len(POLICIES) >= 15
    assert len(RULES) == len(POLICIES) + len(PLAN_ONLY_RULES), "rule names are unique"
    for rule in RULES.values():
        assert isinstance(rule.enforcement_level, EnforcementLevel), rule.name
        assert len(rule.description) > 30 and rule.remediation_steps, rule.name
    assert all(isinstance(p, ResourceValidationPolicy | StackValidationPolicy) for p in POLICIES)


def test_the_role_allow_list_is_the_programs_data_plane_roles() -> None:
    assert set(rules.DATA_PLANE_ROLES) == set(ROLE_DEFINITIONS.values())
    assert not set(rules.PRIVILEGED_ROLES) & set(ROLE_DEFINITIONS.values())


def test_pulumi_policy_yaml_names_the_python_runtime_and_a_venv_inside_the_pack() -> None:
    document = yaml.safe_load((PACK_DIR / "PulumiPolicy.yaml").read_text())
    assert document["runtime"]["name"] == "python"
    venv = (PACK_DIR / document["runtime"]["options"]["virtualenv"]).resolve()
    assert venv == PACK_DIR / "venv"
    assert (PACK_DIR / "requirements.txt").read_text().count("pulumi-policy") == 1


def test_the_cli_entry_point_only_builds_the_pack_and_is_never_imported() -> None:
    # Importing policies/__main__.py would start the analyzer server and block: the tests only read it.
    assert "policies.__main__" not in sys.modules
    tree = ast.parse((PACK_DIR / "__main__.py").read_text())
    calls = [n.func.id for n in ast.walk(tree) if isinstance(n, ast.Call) and isinstance(n.func, ast.Name)]
    assert calls.count("PolicyPack") == 1
    imports = {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
    assert "rules" in imports
    assert not [n for n in tree.body if isinstance(n, ast.FunctionDef | ast.ClassDef)]


@pytest.mark.parametrize("stack_name", ["dev", "prod"])
def test_each_stack_has_a_valid_pack_config(stack_name: str) -> None:
    settings = reconcile(ALL_RULES, load_pack_config(stack_name), f"{stack_name}.json")
    assert {name for name, (level, _) in settings.items() if level == "mandatory"} >= {
        "no-public-network-access",
        "openai-private-endpoint",
        "backend-circuit-breaker",
        "api-policy-managed-identity",
        "product-token-limit",
        "role-assignment-least-privilege",
    }


def test_the_rules_table_for_the_readme_lists_every_rule_with_its_level_per_stack() -> None:
    table = markdown_table(["dev", "prod"]).splitlines()
    assert len(table) == 2 + len(RULES)
    assert "| `prod-no-simulated-ptu` | disabled | mandatory |" in "\n".join(table)


def test_prod_only_rules_are_disabled_in_dev_and_mandatory_in_prod() -> None:
    dev = reconcile(POLICIES, load_pack_config("dev"))
    prod = reconcile(POLICIES, load_pack_config("prod"))
    for name in PROD_ONLY:
        assert dev[name][0] == "disabled" and prod[name][0] == "mandatory", name
    assert dev["backend-pool-spillover"][0] == "advisory" and prod["backend-pool-spillover"][0] == "mandatory"


def test_pack_config_levels_follow_the_cli_precedence(dev: Recording) -> None:
    broken = changed(dev, rules.EVENTHUB_NAMESPACE, publicNetworkAccess="Enabled")
    assert check(broken, "no-public-network-access", {"all": "advisory"})[0].level == "advisory"
    overridden = {"all": "advisory", "no-public-network-access": {"enforcementLevel": "mandatory"}}
    assert check(broken, "no-public-network-access", overridden)[0].level == "mandatory"
    assert check(broken, "no-public-network-access", {"no-public-network-access": "disabled"}) == []
    assert check(broken, "no-public-network-access", {"no-public-network-access": "remediate"})[0].level == "mandatory"


@pytest.mark.parametrize(
    ("config", "phrase"),
    [
        ({"no-such-rule": "mandatory"}, "unknown policy 'no-such-rule'"),
        ({"backend-pool-spillover": "blocking"}, "is not one of"),
        ({"prod-zone-redundancy": {"minZone": 2}}, "unknown setting"),
        ({"prod-zone-redundancy": {"minZones": "two"}}, "is not of type integer"),
        ({"prod-zone-redundancy": {"minZones": 1}}, "below the minimum"),
        ({"role-assignment-least-privilege": {"allowedRoleDefinitionIds": "5e0bd9bd"}}, "is not of type array"),
    ],
)
def test_an_invalid_pack_config_is_refused(config: dict[str, Any], phrase: str) -> None:
    with pytest.raises(GuardrailConfigError, match=phrase):
        reconcile(POLICIES, config)


def test_an_invalid_config_file_is_one_mandatory_violation(dev: Recording, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("tools.guardrails.load_pack_config", lambda *stack: {"backend-pool-spillover": "loud"})
    [violation] = guardrail_violations(dev)
    assert violation.policy == "guardrails-config" and violation.level == "mandatory"
    assert "'loud' is not one of" in violation.message


def test_the_config_files_are_json_objects_of_known_policies() -> None:
    for path in sorted((PACK_DIR / "config" / "environments").glob("*.json")):
        reconcile(ALL_RULES, json.loads(path.read_text()), path.name)
    for path in sorted((PACK_DIR / "config").glob("*.json")):
        assert Path(PROJECT_DIR / f"Pulumi.{path.stem}.yaml").exists(), f"{path.name} has no stack"
        reconcile(ALL_RULES, load_pack_config(path.stem), path.name)
