"""examples/existing-apim: another program composes GatewayPolicies and GatewayAlerts from plain Args.

The program owns no settings model and no API Management service: it brings the service, its identity and its
loggers by name and id, and gets the gateway's backends, pools, fragments, APIs, consumers and alerts from the
components alone.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tools.harness import Recording, Secret, run_stack

EXAMPLE_DIR = Path(__file__).resolve().parent.parent / "examples" / "existing-apim"
SERVICE = "apim-contoso-shared"


@pytest.fixture(scope="module")
def example() -> Recording:
    return run_stack("example", project_dir=EXAMPLE_DIR)


def test_the_program_composes_the_four_components_and_declares_no_service(example: Recording) -> None:
    components = {r.type for r in example.resources if not r.custom}
    assert components == {
        "genai-gateway:openai:PrivateOpenAI", "genai-gateway:telemetry:TokenTelemetryHub",
        "genai-gateway:policies:GatewayPolicies", "genai-gateway:monitoring:GatewayAlerts",
    }
    assert example.of_type("azure-native:apimanagement:ApiManagementService") == []


def test_every_api_management_child_goes_to_the_existing_service(example: Recording) -> None:
    children = [r for r in example.resources if r.type.startswith("azure-native:apimanagement:")]
    assert len(children) > 20
    assert {r.get("serviceName") for r in children} == {SERVICE}


def test_the_pool_serves_ptu_first_and_spills_over_to_pay_as_you_go(example: Recording) -> None:
    pool = example.one("azure-native:apimanagement:Backend", "policies-pool-gpt-5.4")
    members = {example.by_id(s["id"]).get("backendId"): s["priority"] for s in pool.get("pool.services")}
    assert members == {"openai-ptu-1": 1, "openai-paygo-1": 2}


def test_each_account_backend_rests_for_the_backends_retry_after(example: Recording) -> None:
    for name in ("policies-openai-ptu-1", "policies-openai-paygo-1"):
        rule = example.one("azure-native:apimanagement:Backend", name).get("circuitBreaker.rules")[0]
        assert rule["acceptRetryAfter"] is True and rule["failureCondition"]["count"] == 3


def test_the_usage_record_fragment_waits_for_the_logger_it_names(example: Recording) -> None:
    logger = example.one("azure-native:apimanagement:Logger", "telemetry-logger")
    fragment = example.one("azure-native:apimanagement:PolicyFragment", "policies-usage-record")
    assert f'logger-id="{logger.get("loggerId")}"' in fragment.get("value")
    assert example.depends_on(fragment, logger)


def test_each_consumer_gets_a_product_with_its_token_limit(example: Recording) -> None:
    products = {r.get("productId") for r in example.of_type("azure-native:apimanagement:Product")}
    assert products == {"consumer-team-alpha", "consumer-team-beta"}
    policy = example.one("azure-native:apimanagement:ProductPolicy", "policies-consumer-team-alpha-policy")
    assert 'tokens-per-minute="20000"' in policy.get("value")
    assert 'token-quota="50000000"' in policy.get("value")


def test_each_consumer_key_is_its_own_secret_output(example: Recording) -> None:
    keys = {k: v for k, v in example.outputs.items() if k.startswith("consumerKey-")}
    assert set(keys) == {"consumerKey-team-alpha", "consumerKey-team-beta"}
    assert all(isinstance(v, Secret) for v in keys.values())


def test_alerts_watch_the_quota_and_the_real_ptu_deployment(example: Recording) -> None:
    rules = {r.get("ruleName") for r in example.of_type("azure-native:monitor:ScheduledQueryRule")}
    assert {"quota-warning-gwexample-genai-gateway", "quota-exhausted-gwexample-genai-gateway"} <= rules
    metric = example.one("azure-native:monitor:MetricAlert")
    assert metric.get("criteria.allOf")[0]["dimensions"][0]["values"] == ["gpt-5.4"]


def test_the_program_passes_the_plan_with_its_guardrails_and_the_policy_lint(tmp_path: Path) -> None:
    from tools.plan import main

    assert main(["example", "--project-dir", str(EXAMPLE_DIR), "--out", str(tmp_path), "--quiet"]) == 0
    violations = json.loads((tmp_path / "example.json").read_text())["violations"]
    assert [v for v in violations if v["level"] == "mandatory"] == []
