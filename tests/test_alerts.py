"""GatewayAlerts: an action group and Azure Monitor rules on budget burn, throttling, PTU utilisation and breakers."""

from __future__ import annotations

import json

import pytest

from components.alerts import PTU_METRIC, QUOTA_HEADER, iso_minutes, log_window, quota_query
from components.usage_workbook import workbook_parameters
from tests.support import DELETE, only, problems, raw_config, with_value
from tools.harness import RecordedResource, Recording, run_stack

COMPONENT = "genai-gateway:monitoring:GatewayAlerts"
RULE = "azure-native:monitor:ScheduledQueryRule"
METRIC_ALERT = "azure-native:monitor:MetricAlert"
ACTION_GROUP = "azure-native:monitor:ActionGroup"
WORKSPACE = "azure-native:operationalinsights:Workspace"


def rule(prod: Recording, kind: str) -> RecordedResource:
    return prod.one(RULE, f"alerts-{kind}")


def query_of(r: RecordedResource) -> str:
    [condition] = r.get("criteria.allOf")
    return str(condition["query"])


# -- the resources ---------------------------------------------------------------------------------------------


def test_every_alert_resource_is_a_child_of_the_component(prod: Recording) -> None:
    component = prod.one(COMPONENT)
    children = {r.type for r in prod.children(component)}
    assert {ACTION_GROUP, RULE, METRIC_ALERT, "azure-native:apimanagement:Diagnostic"} <= children


def test_action_group_mails_the_receivers_from_settings(prod: Recording) -> None:
    group = prod.one(ACTION_GROUP)
    assert group.get("emailReceivers") == [
        {"name": "platform-team", "emailAddress": "platform-team@contoso.example", "useCommonAlertSchema": True}
    ]
    assert len(group.get("groupShortName")) <= 12 and group.get("enabled") is True


def test_log_rules_query_the_gateway_workspace_and_notify_the_group(prod: Recording) -> None:
    workspace_id = prod.one(WORKSPACE).id
    group_id = prod.one(ACTION_GROUP).id
    for kind in ("quota-warning", "quota-exhausted", "throttling", "breaker-trips"):
        r = rule(prod, kind)
        assert r.get("kind") == "LogAlert" and r.get("scopes") == [workspace_id], kind
        assert r.get("actions.actionGroups") == [group_id], kind


def test_quota_rules_warn_at_the_setting_and_fail_at_100_percent(prod: Recording) -> None:
    assert "where UsedPercent >= 80" in query_of(rule(prod, "quota-warning"))
    assert "where UsedPercent >= 100" in query_of(rule(prod, "quota-exhausted"))
    assert (rule(prod, "quota-warning").get("severity"), rule(prod, "quota-exhausted").get("severity")) == (2, 1)


def test_quota_rules_know_each_consumers_quota_and_budget_quota(prod: Recording) -> None:
    consumers = prod.outputs["consumers"]
    q = query_of(rule(prod, "quota-warning"))
    for c in consumers.values():
        assert f'"{c["productId"]}", {c["tokenQuota"]}' in q
    # customer-support's quota is what its 100 USD budget buys
    assert consumers["customer-support"]["tokenQuota"] == consumers["customer-support"]["budgetTokenQuota"]


def test_quota_rules_read_the_remaining_quota_header_the_product_policy_returns(prod: Recording) -> None:
    assert QUOTA_HEADER in query_of(rule(prod, "quota-warning"))
    policies = [p.get("value") for p in prod.of_type("azure-native:apimanagement:ProductPolicy")]
    assert any(f'remaining-quota-tokens-header-name="{QUOTA_HEADER}"' in (v or "") for v in policies)


def test_the_header_is_logged_to_gateway_logs_and_nothing_else(prod: Recording) -> None:
    [diagnostic] = [d for d in prod.of_type("azure-native:apimanagement:Diagnostic")
                    if d.get("diagnosticId") == "azuremonitor"]
    assert diagnostic.get("frontend.response.headers") == [QUOTA_HEADER]
    for section in ("frontend.request", "backend.request", "backend.response", "frontend.response"):
        assert diagnostic.get(f"{section}.body.bytes") == 0, section
    assert diagnostic.get("logClientIp") is False


def test_quota_rules_alert_once_per_consumer(prod: Recording) -> None:
    [condition] = rule(prod, "quota-warning").get("criteria.allOf")
    assert condition["dimensions"] == [{"name": "ProductId", "operator": "Include", "values": ["*"]}]


def test_throttling_rule_uses_the_settings(prod: Recording) -> None:
    r = rule(prod, "throttling")
    q = query_of(r)
    assert "countif(ResponseCode == 429)" in q and "where Requests >= 20" in q and "ThrottledPercent > 5.0" in q
    assert r.get("windowSize") == "PT15M" and r.get("evaluationFrequency") == "PT5M"


def test_breaker_rule_counts_what_trips_a_breaker(prod: Recording) -> None:
    q = query_of(rule(prod, "breaker-trips"))
    assert "BackendResponseCode between (429 .. 429) or BackendResponseCode between (500 .. 599)" in q
    assert "bin(TimeGenerated, 1m)" in q and "Failures >= 3" in q
    assert "ResponseCode == 503 and isempty(Backend)" in q


def test_ptu_rule_watches_the_provisioned_utilisation_of_each_real_ptu_deployment(prod: Recording) -> None:
    ptu = [(a["name"], d["name"]) for a in prod.outputs["openaiAccounts"] if a["tier"] == "ptu"
           for d in a["deployments"] if d["sku"].endswith("ProvisionedManaged")]
    alerts = prod.of_type(METRIC_ALERT)
    assert ptu and len(alerts) == len(ptu)
    for (account_name, deployment), alert in zip(ptu, alerts, strict=True):
        account = prod.one("azure-native:cognitiveservices:Account", f"openai-{account_name}")
        assert alert.get("scopes") == [account.id]
        [criterion] = alert.get("criteria.allOf")
        assert criterion["metricName"] == PTU_METRIC and criterion["threshold"] == 90
        assert criterion["dimensions"] == [{"name": "ModelDeploymentName", "operator": "Include",
                                            "values": [deployment]}]


def test_a_simulated_ptu_gets_no_utilisation_rule(dev_with_alerts: Recording) -> None:
    assert dev_with_alerts.of_type(METRIC_ALERT) == []
    assert dev_with_alerts.of_type(RULE)


def test_alerts_are_off_unless_enabled(dev: Recording) -> None:
    assert dev.of_type(COMPONENT) == [] and dev.of_type(RULE) == []


@pytest.fixture(scope="module")
def dev_with_alerts() -> Recording:
    alerts = {"enabled": True, "emailReceivers": [{"name": "ops", "email": "ops@contoso.example"}]}
    return run_stack("dev", overrides={"alerts": alerts})


# -- queries ---------------------------------------------------------------------------------------------------


def test_a_consumer_name_that_cannot_be_quoted_is_refused() -> None:
    with pytest.raises(ValueError):
        quota_query([{"product_id": 'x"; drop', "tokens": 1}], 80)


@pytest.mark.parametrize(("duration", "minutes"), [("PT1M", 1), ("PT90S", 1), ("PT2H", 120), ("P1D", 1440)])
def test_breaker_interval_in_minutes(duration: str, minutes: int) -> None:
    assert iso_minutes(duration) == minutes


def test_breaker_window_is_one_a_log_alert_accepts() -> None:
    assert (log_window(1), log_window(7), log_window(5000)) == (5, 10, 1440)


# -- settings: each class of bad input -------------------------------------------------------------------------


def alerts_config(**fields: object) -> dict:
    config = raw_config("prod")
    for key, value in fields.items():
        config = with_value(config, f"alerts.{key}", value)
    return config


def test_enabled_alerts_need_a_receiver() -> None:
    line = only(problems(alerts_config(emailReceivers=[])))
    assert line == ("genai-gateway:alerts.emailReceivers: []: at least one receiver is required when "
                    "alerts.enabled is true")


def test_a_receiver_needs_an_email_address() -> None:
    line = only(problems(alerts_config(emailReceivers=[{"name": "ops", "email": "not-an-address"}])))
    assert line == (
        "genai-gateway:alerts.emailReceivers[0].email: 'not-an-address': "
        "must be an email address such as 'platform@contoso.com'"
    )


@pytest.mark.parametrize("name", ["", "-ops", "ops/team"])
def test_a_receiver_name_starts_with_a_letter_or_digit_and_holds_no_separator(name: str) -> None:
    line = only(problems(alerts_config(emailReceivers=[{"name": name, "email": "a@contoso.example"}])))
    assert line.startswith(
        f"genai-gateway:alerts.emailReceivers[0].name: {name!r}: must be 1 to 128 letters, digits, spaces, "
        "underscores, periods or hyphens, starting with a letter or digit"
    )


def test_receiver_names_are_unique() -> None:
    receivers = [{"name": "ops", "email": "a@contoso.example"}, {"name": "OPS", "email": "b@contoso.example"}]
    assert only(problems(alerts_config(emailReceivers=receivers))) == (
        "genai-gateway:alerts.emailReceivers: 'ops': receiver names must be unique")


@pytest.mark.parametrize(("key", "value"), [
    ("quotaWarningPercent", 100), ("quotaWarningPercent", 0), ("throttlingPercent", 0),
    ("throttlingMinRequests", 0), ("ptuUtilizationPercent", 101), ("throttlingWindowMinutes", 7),
])
def test_thresholds_outside_their_range_are_refused(key: str, value: object) -> None:
    assert only(problems(alerts_config(**{key: value}))).startswith(f"genai-gateway:alerts.{key}: {value}:")


def test_an_unknown_alert_key_names_the_allowed_ones() -> None:
    line = only(problems(alerts_config(emailReceiver=[])))
    assert line.startswith("genai-gateway:alerts.emailReceiver: unknown key: allowed keys:")
    assert "did you mean 'emailReceivers'?" in line


def test_disabled_alerts_need_nothing() -> None:
    config = with_value(raw_config("prod"), "alerts", DELETE)
    assert problems(config) == []


# -- the workbook's budget burn ----------------------------------------------------------------------------------


def test_workbook_budget_burn_knows_each_monthly_quota(prod: Recording) -> None:
    workbook = prod.one("azure-native:applicationinsights:Workbook")
    document = json.loads(workbook.get("serializedData"))
    quotas = json.loads(workbook_parameters(document)["ConsumerQuotas"]["value"])
    consumers = prod.outputs["consumers"]
    assert quotas == {name: c["tokenQuota"] for name, c in consumers.items() if c["tokenQuotaPeriod"] == "Monthly"}
    [item] = [i for i in document["items"] if i.get("name") == "budget-burn"]
    assert "row_cumsum" in item["content"]["query"] and "quotas[Consumer]" in item["content"]["query"]


def test_each_api_diagnostic_that_replaces_the_services_logs_the_header_too(prod: Recording) -> None:
    template = prod.one("azure-native:resources:Deployment", "policies-llm-logging").get("properties.template")
    diagnostics = template["resources"]
    assert diagnostics
    for d in diagnostics:
        properties = d["properties"]
        assert properties["frontend"]["response"]["headers"] == [QUOTA_HEADER]
        for side in ("frontend", "backend"):
            for direction in ("request", "response"):
                assert properties[side][direction]["body"]["bytes"] == 0
        assert properties["frontend"]["request"]["headers"] == [] and properties["backend"]["response"]["headers"] == []
