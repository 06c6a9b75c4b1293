"""Current models and the model lifecycle: the stacks deploy model versions that Azure still offers and that do
not retire within six months, and the guardrails read the lifecycle table (policies/data/model-lifecycle.json)
to block a retired version and give notice of one that retires soon, is deprecated or is unknown.
"""

from __future__ import annotations

import datetime
import json
import os
import shutil
import subprocess
import sys
from typing import Any

import pytest

from components.settings.openai import PROVISIONED_SKUS
from policies import rules
from policies.rules import ALL_RULES
from policies.rules.openai import LIFECYCLE_FILE, LifecycleFileError, lifecycle_table, parse_lifecycle
from tests.guardrail_support import assert_fails, changed, check, find
from tests.support import only, problems, with_value
from tools.guardrails import load_pack_config, reconcile
from tools.harness import Recording

# The review date of the issue: the stacks must not ship a model retiring within six months of it.
REVIEWED = datetime.date(2026, 12, 1)
SIX_MONTHS_LATER = datetime.date(2027, 6, 1)
KEY = "genai-gateway:openai"


def deployments(recording: Recording) -> list[Any]:
    return recording.of_type(rules.DEPLOYMENT)


def model_of(deployment: Any) -> tuple[str, str, str]:
    return (
        deployment.get("properties.model.name"),
        deployment.get("properties.model.version"),
        deployment.get("sku.name"),
    )


def at(day: str, warn_days: int | None = None) -> dict[str, Any]:
    """Pack config judging on `day` (both lifecycle rules)."""
    lifecycle: dict[str, Any] = {"asOf": day}
    if warn_days is not None:
        lifecycle["warnDays"] = warn_days
    return {"model-retired": {"asOf": day}, "model-lifecycle": lifecycle}


def with_model(recording: Recording, name: str, version: str) -> Recording:
    first = deployments(recording)[0]
    return changed(
        recording, rules.DEPLOYMENT, first.name,
        properties__model__name=name, properties__model__version=version,
    )


# -- the stacks' models --------------------------------------------------------------------------------------
def test_every_deployed_model_version_is_in_the_lifecycle_table(stack: Recording) -> None:
    table = lifecycle_table()
    for deployment in deployments(stack):
        name, version, _ = model_of(deployment)
        assert (name.lower(), version.lower()) in table, (name, version)


def test_no_stack_deploys_a_model_that_is_deprecated_or_retires_within_six_months(stack: Recording) -> None:
    table = lifecycle_table()
    for deployment in deployments(stack):
        name, version, sku = model_of(deployment)
        entry = table[(name.lower(), version.lower())]
        dates = entry.dates(sku)
        assert entry.lifecycle == "GA", (name, version)
        assert dates.deprecation is None or dates.deprecation > REVIEWED, (name, version)
        assert dates.retirement is not None and dates.retirement > SIX_MONTHS_LATER, (name, version, sku)


def test_no_stack_deploys_gpt_4o_mini_any_more(stack: Recording) -> None:
    assert {model_of(d)[0] for d in deployments(stack)} == {"gpt-5.4", "text-embedding-3-small"}


def test_prod_ptu_is_data_zone_provisioned_at_a_valid_size(prod: Recording) -> None:
    [ptu] = [d for d in deployments(prod) if d.get("sku.name") in PROVISIONED_SKUS]
    # No current chat model has regional ProvisionedManaged in Sweden Central; the EU data zone has gpt-5.4.
    assert ptu.get("sku.name") == "DataZoneProvisionedManaged"
    capacity = ptu.get("sku.capacity")
    assert capacity >= 15 and capacity % 5 == 0


def test_prod_keeps_the_embeddings_in_the_eu_data_zone(prod: Recording) -> None:
    embeddings = [d for d in deployments(prod) if model_of(d)[0] == "text-embedding-3-small"]
    assert embeddings and {d.get("sku.name") for d in embeddings} == {"DataZoneStandard"}


def test_standard_deployments_upgrade_at_retirement_and_provisioned_never_automatically(stack: Recording) -> None:
    for deployment in deployments(stack):
        expected = "NoAutoUpgrade" if deployment.get("sku.name") in PROVISIONED_SKUS else "OnceCurrentVersionExpired"
        assert deployment.get("properties.versionUpgradeOption") == expected, deployment.name


# -- settings: provisioned sizes and upgrade options -----------------------------------------------------------
@pytest.mark.parametrize("capacity", [10, 17])
def test_data_zone_provisioned_needs_15_ptus_in_steps_of_5(prod_config: dict, capacity: int) -> None:
    line = only(problems(with_value(prod_config, "openai.accounts.0.deployments.0.capacity", capacity)))
    assert line == (f"{KEY}.accounts['ptu-1'].deployments['gpt-5.4'].capacity: {capacity}: "
                    "DataZoneProvisionedManaged of gpt-5.4 is sized in PTUs: at least 15, in steps of 5")


def test_regional_provisioned_needs_50_ptus_in_steps_of_50(prod_config: dict) -> None:
    config = with_value(prod_config, "openai.accounts.0.deployments.0.sku", "ProvisionedManaged")
    line = only(problems(with_value(config, "openai.accounts.0.deployments.0.capacity", 75)))
    assert "at least 50, in steps of 50" in line


def test_regional_provisioned_mini_models_start_at_25(prod_config: dict) -> None:
    config = with_value(prod_config, "openai.accounts.0.deployments.0.sku", "ProvisionedManaged")
    mini = {"name": "gpt-5-mini", "version": "2025-08-07"}
    config = with_value(config, "openai.accounts.0.deployments.0.model", mini)
    assert openai_problems(with_value(config, "openai.accounts.0.deployments.0.capacity", 25)) == []
    line = only(openai_problems(with_value(config, "openai.accounts.0.deployments.0.capacity", 30)))
    assert "at least 25, in steps of 25" in line


def openai_problems(config: dict) -> list[str]:
    return [line for line in problems(config) if line.startswith(KEY)]


@pytest.mark.parametrize("option", ["OnceNewDefaultVersionAvailable", "OnceCurrentVersionExpired"])
def test_a_provisioned_deployment_refuses_an_automatic_upgrade_option(prod_config: dict, option: str) -> None:
    line = only(problems(with_value(prod_config, "openai.accounts.0.deployments.0.versionUpgradeOption", option)))
    key = f"{KEY}.accounts['ptu-1'].deployments['gpt-5.4'].versionUpgradeOption"
    assert line.startswith(f"{key}: {option!r}: automatic model")


def test_without_an_upgrade_option_each_deployment_type_gets_its_default(prod_config: dict) -> None:
    from tests.support import DELETE, parse

    config = prod_config
    for account in (0, 1):
        config = with_value(config, f"openai.accounts.{account}.deployments.0.versionUpgradeOption", DELETE)
    accounts = parse(config).openai.accounts
    assert accounts[0].deployments[0].sku == "DataZoneProvisionedManaged"
    assert accounts[0].deployments[0].upgrade_option == "NoAutoUpgrade"
    assert accounts[1].deployments[0].sku == "DataZoneStandard"
    assert accounts[1].deployments[0].upgrade_option == "OnceCurrentVersionExpired"


# -- the guardrails ---------------------------------------------------------------------------------------
def test_the_lifecycle_rules_pass_on_the_stacks_at_the_review_date(stack: Recording) -> None:
    assert check(stack, "model-retired", at("2026-12-01")) == []
    assert check(stack, "model-lifecycle", at("2026-12-01")) == []


def test_a_retired_model_version_is_a_mandatory_violation_in_every_stack(stack: Recording) -> None:
    level, _ = reconcile(ALL_RULES, load_pack_config(stack.stack))["model-retired"]
    assert level == "mandatory"
    broken = with_model(stack, "gpt-4o", "2024-05-13")  # retired 2026-10-01
    config = {**load_pack_config(stack.stack), **at("2026-12-01")}
    assert_fails(check(broken, "model-retired", config), "model-retired", "mandatory", "retired on 2026-10-01")


def test_gpt_4o_mini_was_deprecated_on_the_review_date_and_retired_after_2027_04_14(dev: Recording) -> None:
    broken = with_model(dev, "gpt-4o-mini", "2024-07-18")
    assert_fails(check(broken, "model-lifecycle", at("2026-12-01")), "model-lifecycle", "advisory",
                 "deprecated since 2025-07-18")
    assert check(broken, "model-retired", at("2027-04-13")) == []
    assert_fails(check(broken, "model-retired", at("2027-04-14")), "model-retired", "mandatory", "2027-04-14")


def test_a_version_retiring_within_the_notice_period_is_advisory(dev: Recording) -> None:
    # gpt-5.4 retires on 2027-09-02: 90 days before is 2027-06-04.
    assert check(dev, "model-lifecycle", at("2027-06-03")) == []
    violations = check(dev, "model-lifecycle", at("2027-06-04"))
    assert_fails(violations, "model-lifecycle", "advisory", "retires on 2027-09-02, in 90 day(s)")


def test_the_notice_period_is_configurable(dev: Recording) -> None:
    assert check(dev, "model-lifecycle", at("2027-06-04", warn_days=30)) == []
    assert check(dev, "model-lifecycle", at("2027-08-03", warn_days=30)) != []


def test_an_unknown_version_is_advisory_and_names_the_file(dev: Recording) -> None:
    broken = with_model(dev, "gpt-5.4", "2099-01-01")
    violations = check(broken, "model-lifecycle", at("2026-12-01"))
    assert_fails(violations, "model-lifecycle", "advisory", "policies/data/model-lifecycle.json does not list")
    assert check(broken, "model-retired", at("2026-12-01")) == []


def test_the_plan_judges_by_today_when_no_date_is_configured(dev: Recording) -> None:
    assert "asOf" not in json.dumps(load_pack_config("dev"))
    assert rules.model_lifecycle.config_schema.properties["asOf"]["default"] == ""
    broken = with_model(dev, "gpt-4o", "2024-05-13")
    assert_fails(check(broken, "model-retired"), "model-retired", "mandatory", "retired on 2026-10-01")


def test_a_bad_date_is_reported_not_a_crash(dev: Recording) -> None:
    assert_fails(check(dev, "model-retired", at("01/12/2026")), "model-retired", "mandatory", "not an ISO date")


def test_every_lifecycle_entry_cites_a_source_and_the_date_it_was_read() -> None:
    document = json.loads(LIFECYCLE_FILE.read_text())
    for entry in document["models"]:
        source = document["sources"][entry["source"]]
        assert source["url"].startswith("https://") and source["path"], entry
        datetime.date.fromisoformat(entry["read"])
        datetime.date.fromisoformat(source["read"])


def test_the_lifecycle_file_is_found_relative_to_the_pack_not_the_working_directory(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Any
) -> None:
    monkeypatch.chdir(tmp_path)
    lifecycle_table.cache_clear()
    try:
        assert lifecycle_table()
    finally:
        lifecycle_table.cache_clear()
    assert LIFECYCLE_FILE.parts[-3:] == ("policies", "data", "model-lifecycle.json")


def test_the_pack_finds_its_lifecycle_file_when_copied_elsewhere_as_the_cli_packs_it(tmp_path: Any) -> None:
    # `pulumi policy publish` packs policies/ on its own: the rules must not rely on the project around them.
    packed = tmp_path / "packed_pack"
    shutil.copytree(LIFECYCLE_FILE.parent.parent, packed, ignore=shutil.ignore_patterns("__pycache__"))
    code = "import packed_pack.rules as r; print(len(r.lifecycle_table()), r.LIFECYCLE_FILE)"
    result = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, check=True,
                            env={**os.environ, "PYTHONPATH": str(tmp_path)})
    count, path = result.stdout.split()
    assert int(count) == len(lifecycle_table()) and path.startswith(str(packed))


def test_a_malformed_lifecycle_entry_is_an_error_naming_it() -> None:
    document = {"sources": {"s": {}}, "models": [
        {"model": "m", "version": "1", "source": "s", "read": "2026-12-01",
         "deploymentTypes": {"*": {"retirement": "next year"}}},
    ]}
    with pytest.raises(LifecycleFileError, match=r"models\[0\]\.\*\.retirement: 'next year' is not an ISO date"):
        parse_lifecycle(document)


def test_the_deployment_resource_carries_the_properties_the_rules_read(dev: Recording) -> None:
    deployment = find(dev, rules.DEPLOYMENT)
    assert all(model_of(deployment))
