"""Guardrail levels follow the stack's declared environment, never its file name; prod never falls to advisory."""

from __future__ import annotations

import json
import typing
from pathlib import Path

import pytest
import yaml

from components.settings import GatewaySettings
from tools import guardrail_config, guardrails
from tools.guardrail_config import GuardrailConfigError, environment_config_path, load_pack_config, reconcile
from tools.plan import main
from tools.stack_config import PROJECT_DIR

PROD_RULES = (
    "prod-zone-redundancy", "prod-waf-prevention", "prod-protect-stateful", "prod-no-simulated-ptu",
    "prod-capture-geo-zone-redundant",
)


def prod_copy(tmp_path: Path, stack: str, change: dict | None = None, drop: tuple[str, ...] = ()) -> Path:
    """A project folder with prod's stack file saved under another name, optionally changed."""
    project = tmp_path / "project"
    project.mkdir()
    for name in ("__main__.py", "Pulumi.yaml"):
        (project / name).symlink_to(PROJECT_DIR / name)
    document = yaml.safe_load((PROJECT_DIR / "Pulumi.prod.yaml").read_text())
    for key, value in (change or {}).items():
        document["config"][key] = value
    apim = document["config"]["genai-gateway:apim"]
    for key in drop:
        apim.pop(key)
    (project / f"Pulumi.{stack}.yaml").write_text(yaml.safe_dump(document))
    return project


def test_a_prod_stack_under_another_name_without_zones_fails_the_mandatory_zone_rule(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    project = prod_copy(tmp_path, "prod-eu", drop=("zones",))
    assert main(["prod-eu", "--project-dir", str(project), "--quiet", "--out", str(tmp_path / "out")]) == 1
    printed = capsys.readouterr().out
    assert "[mandatory] prod-zone-redundancy" in printed
    plan = json.loads((tmp_path / "out" / "prod-eu.json").read_text())
    assert {v["level"] for v in plan["violations"] if v["policy"] == "prod-zone-redundancy"} == {"mandatory"}


def test_the_checks_summary_names_the_level_set_used(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    project = prod_copy(tmp_path, "prod-eu")
    assert main(["prod-eu", "--project-dir", str(project), "--out", str(tmp_path / "out")]) == 0
    printed = capsys.readouterr().out
    assert (
        "guardrail levels: policies/config/environments/prod.json (the level set of environment 'prod'; "
        "the stack has no policies/config/prod-eu.json)"
    ) in printed


def test_levels_follow_the_environment_not_the_file_name(tmp_path: Path) -> None:
    # A stack named prod-like that declares environment dev gets dev's levels; named anything, prod gets prod's.
    assert load_pack_config("prod-eu", "prod") == json.loads(environment_config_path("prod").read_text())
    assert load_pack_config("prod-eu", "dev") == json.loads(environment_config_path("dev").read_text())


def test_every_allowed_environment_has_a_level_set() -> None:
    environments = typing.get_args(GatewaySettings.model_fields["environment"].annotation)
    assert set(environments) == {"dev", "test", "staging", "prod"}
    for environment in environments:
        reconcile(guardrail_config.ALL_RULES, load_pack_config("any-stack", environment), environment)


def test_the_prod_level_set_makes_every_prod_rule_mandatory() -> None:
    levels = reconcile(guardrail_config.ALL_RULES, load_pack_config("any-stack", "prod"))
    assert {name: levels[name][0] for name in PROD_RULES} == dict.fromkeys(PROD_RULES, "mandatory")
    dev = reconcile(guardrail_config.ALL_RULES, load_pack_config("any-stack", "dev"))
    assert not [name for name, (level, _) in dev.items() if level == "mandatory" and levels[name][0] != "mandatory"]


def test_a_stack_file_may_not_lower_a_rule_below_its_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(guardrail_config, "CONFIG_DIR", tmp_path)
    (tmp_path / "prod-eu.json").write_text(json.dumps({"prod-zone-redundancy": "advisory"}))
    with pytest.raises(GuardrailConfigError, match="'advisory' is below 'mandatory'") as error:
        load_pack_config("prod-eu", "prod")
    assert "prod-zone-redundancy" in str(error.value)


def test_a_lowered_stack_file_is_one_mandatory_violation_of_the_plan(
    prod: object, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tools.harness import Recording

    assert isinstance(prod, Recording)
    monkeypatch.setattr(guardrail_config, "CONFIG_DIR", tmp_path)
    (tmp_path / "prod.json").write_text(json.dumps({"all": "advisory"}))
    [violation] = guardrails.guardrail_violations(prod)
    assert (violation.policy, violation.level) == ("guardrails-config", "mandatory")


def test_a_stack_file_may_raise_levels_and_add_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(guardrail_config, "CONFIG_DIR", tmp_path)
    (tmp_path / "dev-eu.json").write_text(json.dumps({"backend-pool-spillover": "mandatory"}))
    assert load_pack_config("dev-eu", "dev") == {"backend-pool-spillover": "mandatory"}


def test_a_stack_without_environment_or_config_has_no_levels_and_says_so() -> None:
    with pytest.raises(GuardrailConfigError, match="declares no environment"):
        load_pack_config("nosuch", None)


def test_the_cli_config_path_for_a_stack_follows_its_environment(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    project = prod_copy(tmp_path, "prod-eu")
    assert guardrails.main(["--config-for", "prod-eu", "--project-dir", str(project)]) == 0
    assert capsys.readouterr().out.strip() == "policies/config/environments/prod.json"
    assert guardrails.main(["--config-for", "dev"]) == 0
    assert capsys.readouterr().out.strip() == "policies/config/environments/dev.json"


def test_every_level_set_names_at_least_the_rules_dev_names() -> None:
    # A rule added to one environment's file and forgotten in another would fall back to its default there.
    folder = environment_config_path("dev").parent
    sets = {path.stem: set(json.loads(path.read_text())) for path in folder.glob("*.json")}
    assert {name: sorted(sets["dev"] - rules) for name, rules in sets.items()} == {name: [] for name in sets}
