"""The offline plan: the design's JSON contract, masking of secrets and deployment-time values, exit codes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from tools.azure_mocks import identity_client_id
from tools.plan import main
from tools.stack_config import PROJECT_DIR, SECRET_PLACEHOLDER

RESOURCE_KEYS = {"urn", "type", "name", "parent", "custom", "inputs", "dependencies", "protect"}


@pytest.fixture(scope="module")
def dev_plan(tmp_path_factory: pytest.TempPathFactory) -> tuple[int, dict, str]:
    out = tmp_path_factory.mktemp("plan")
    code = main(["dev", "--quiet", "--out", str(out)])
    text = (out / "dev.json").read_text()
    return code, json.loads(text), text


def project_with(tmp_path: Path, stack: str, change: dict) -> Path:
    """A project folder that runs this program with a changed copy of prod's configuration."""
    tmp_path.mkdir(parents=True)
    for name in ("__main__.py", "Pulumi.yaml"):
        (tmp_path / name).symlink_to(PROJECT_DIR / name)
    document = yaml.safe_load((PROJECT_DIR / "Pulumi.prod.yaml").read_text())
    for key, value in change.items():
        document["config"][key] = value
    (tmp_path / f"Pulumi.{stack}.yaml").write_text(yaml.safe_dump(document))
    return tmp_path


def test_a_clean_stack_exits_0(dev_plan: tuple[int, dict, str]) -> None:
    assert dev_plan[0] == 0


def test_plan_has_exactly_the_design_keys(dev_plan: tuple[int, dict, str]) -> None:
    _, plan, _ = dev_plan
    assert list(plan) == ["project", "stack", "resources", "outputs", "violations"]
    assert (plan["project"], plan["stack"]) == ("genai-gateway", "dev")
    for resource in plan["resources"]:
        assert set(resource) == RESOURCE_KEYS


def test_resources_are_sorted_for_reviewable_diffs(dev_plan: tuple[int, dict, str]) -> None:
    urns = [r["urn"] for r in dev_plan[1]["resources"]]
    assert urns == sorted(urns)


def test_top_level_resources_have_no_parent_and_no_stack_dependency(dev_plan: tuple[int, dict, str]) -> None:
    resources = dev_plan[1]["resources"]
    top_level = {r["name"] for r in resources if r["parent"] is None}
    assert top_level == {"gateway", "openai", "policies", "telemetry", "workbook", "keys"}
    assert not any("pulumi:pulumi:Stack" in d for r in resources for d in r["dependencies"])


def test_inputs_are_camel_case_as_the_provider_receives_them(dev_plan: tuple[int, dict, str]) -> None:
    [apim] = [r for r in dev_plan[1]["resources"] if r["type"].endswith(":ApiManagementService")]
    assert apim["inputs"]["virtualNetworkType"] == "External"
    assert apim["inputs"]["apiVersionConstraint"] == {"minApiVersion": "2021-08-01"}


def test_secrets_show_as_secret(dev_plan: tuple[int, dict, str]) -> None:
    _, plan, _ = dev_plan
    assert plan["outputs"]["consumerKey-team-alpha"] == "[secret]"
    loggers = [r for r in plan["resources"] if r["name"] == "gateway-appinsights-logger"]
    assert loggers[0]["inputs"]["credentials"] == "[secret]"


def test_values_known_only_after_deployment_show_as_computed(dev_plan: tuple[int, dict, str]) -> None:
    _, plan, text = dev_plan
    assert plan["outputs"]["gatewayIdentityClientId"] == "[computed]"
    assert identity_client_id("dev", "gateway-identity") not in text


def test_no_subscription_key_or_placeholder_reaches_the_plan_file(dev_plan: tuple[int, dict, str]) -> None:
    from tools.harness import run_stack

    outputs = run_stack("dev").outputs
    keys = [v.value for k, v in outputs.items() if k.startswith("consumerKey-")]
    text = dev_plan[2]
    assert len(keys) == 4 and all(key not in text for key in keys)
    assert SECRET_PLACEHOLDER not in text


def test_the_printed_plan_shows_a_tree_and_counts_by_type(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert main(["dev", "--out", str(tmp_path)]) == 0
    printed = capsys.readouterr().out
    assert " +   pulumi:pulumi:Stack" in printed and "└─ " in printed
    assert "to create" in printed and "azure-native:apimanagement:Backend" in printed
    assert "no diff against deployed state" in printed


def test_invalid_settings_exit_2_naming_the_key(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    bad = project_with(tmp_path / "project", "bad", {"genai-gateway:apim": {"sku": "Basic"}})
    assert main(["bad", "--project-dir", str(bad), "--out", str(tmp_path / "out")]) == 2
    error = capsys.readouterr().err
    assert "genai-gateway:apim.sku: 'Basic'" in error
    assert not (tmp_path / "out" / "bad.json").exists()


def test_a_mandatory_guardrail_violation_exits_1(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    prod = yaml.safe_load((PROJECT_DIR / "Pulumi.prod.yaml").read_text())["config"]
    detection = {**prod["genai-gateway:ingress"], "wafMode": "Detection"}
    project = project_with(tmp_path / "project", "prod", {"genai-gateway:ingress": detection})
    assert main(["prod", "--project-dir", str(project), "--quiet", "--out", str(tmp_path / "out")]) == 1
    assert "[mandatory] prod-waf-prevention" in capsys.readouterr().out
    plan = json.loads((tmp_path / "out" / "prod.json").read_text())
    assert any(v["policy"] == "prod-waf-prevention" and v["level"] == "mandatory" for v in plan["violations"])


def test_an_unknown_stack_exits_2(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert main(["nosuch", "--out", str(tmp_path)]) == 2
    assert "known stacks: dev, prod" in capsys.readouterr().err


def test_a_key_in_a_plain_input_is_a_mandatory_violation_that_never_shows_the_key(
    dev_plan: tuple[int, dict, str],
) -> None:
    import copy

    from tools.harness import run_stack
    from tools.violations import collect

    recording = copy.deepcopy(run_stack("dev"))
    key = recording.outputs["consumerKey-team-alpha"].value
    api = recording.one("azure-native:apimanagement:Api", "policies-api")
    api.inputs["description"] = f"calls with key {key}"
    leaks = [v for v in collect(recording) if v.policy == "no-secret-in-plain-value"]
    assert [(v.level, v.urn) for v in leaks] == [("mandatory", api.urn)]
    assert "input description" in leaks[0].message and key not in leaks[0].message
    assert recording.masked(api.inputs)["description"] == "[secret]"


def test_a_secure_config_value_in_a_plain_input_is_a_leak(tmp_path: Path) -> None:
    from tools.harness import RecordedResource, Recording
    from tools.violations import secret_leaks

    resource = RecordedResource(
        "urn:x", "azure-native:apimanagement:NamedValue", "nv", None, True, {"value": SECRET_PLACEHOLDER}, [], {}, False
    )
    recording = Recording("genai-gateway", "dev", [resource], {}, set(), {SECRET_PLACEHOLDER})
    assert [v.policy for v in secret_leaks(recording)] == ["no-secret-in-plain-value"]


def test_outputs_the_engine_keeps_secret_stay_secret_downstream(tmp_path: Path) -> None:
    """pulumi-random marks RandomPassword.result secret (additionalSecretOutputs); the harness does as the engine."""
    from tools.harness import Secret, run_program

    (tmp_path / "Pulumi.yaml").write_text("name: genai-gateway\nruntime: python\n")
    (tmp_path / "__main__.py").write_text(
        "import pulumi_random as random\n"
        "from pulumi_azure_native import apimanagement\n"
        "pw = random.RandomPassword('pw', length=40, special=False)\n"
        "apimanagement.NamedValue('nv', named_value_id='k', display_name='k', value=pw.result,\n"
        "    resource_group_name='rg', service_name='apim')\n"
    )
    recording = run_program("dev", {}, [], tmp_path)
    value = recording.one("azure-native:apimanagement:NamedValue").inputs["value"]
    assert isinstance(value, Secret) and len(value.value) == 40
    assert repr(value) == "Secret([secret])" and value.value not in repr(recording)


def test_plan_keeps_integers_protect_and_dependencies(dev_plan: tuple[int, dict, str]) -> None:
    _, plan, _ = dev_plan
    by_name = {r["name"]: r for r in plan["resources"]}
    assert by_name["gateway-apim"]["inputs"]["sku"] == {"capacity": 1, "name": "Developer"}
    assert isinstance(by_name["gateway-apim"]["inputs"]["sku"]["capacity"], int)
    assert by_name["gateway"]["custom"] is False and by_name["gateway-apim"]["custom"] is True
    assert by_name["gateway-apim"]["protect"] is False
    policy = by_name["policies-api-policy"]
    fragments = [r["urn"] for r in plan["resources"] if r["type"].endswith(":PolicyFragment")]
    assert set(fragments) <= set(policy["dependencies"])


def test_prod_plan_protects_stateful_resources(tmp_path: Path) -> None:
    assert main(["prod", "--quiet", "--out", str(tmp_path)]) == 0
    plan = json.loads((tmp_path / "prod.json").read_text())
    protected = {r["name"] for r in plan["resources"] if r["protect"]}
    assert {"gateway-apim", "gateway-logs", "openai-ptu-1", "telemetry-namespace"} <= protected


def test_a_broken_stack_file_exits_2_naming_the_file(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    (tmp_path / "Pulumi.yaml").symlink_to(PROJECT_DIR / "Pulumi.yaml")
    (tmp_path / "Pulumi.broken.yaml").write_text("config: [not, a, mapping]\n")
    assert main(["broken", "--project-dir", str(tmp_path), "--out", str(tmp_path / "out")]) == 2
    assert "Pulumi.broken.yaml: expected a mapping" in capsys.readouterr().err


def test_a_secret_quoted_by_a_rule_is_masked_in_the_message() -> None:
    from tools.harness import Recording
    from tools.plan import masked_message

    recording = Recording("genai-gateway", "dev", [], {}, set(), {"s3cr3t-key"})
    assert masked_message(recording, "value 's3cr3t-key' is plain") == "value '[secret]' is plain"
