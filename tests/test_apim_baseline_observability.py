"""ApimBaseline, observability: workspace-based Application Insights reached with the gateway identity, diagnostics
that send metrics and never payloads, client IPs or keys, and the gateway's resource logs in Log Analytics.
"""

from __future__ import annotations

from components.access import ROLE_DEFINITIONS, assignment_name
from tests.apim_baseline_support import ROLE, apim_of
from tools.azure_mocks import identity_client_id
from tools.harness import Recording


def test_application_insights_is_workspace_based_and_entra_only(stack: Recording) -> None:
    insights = stack.one("azure-native:applicationinsights:Component")
    workspace = stack.one("azure-native:operationalinsights:Workspace")
    assert insights.get("workspaceResourceId") == workspace.id
    assert insights.get("ingestionMode") == "LogAnalytics"
    assert insights.get("disableLocalAuth") is True


def test_app_insights_logger_authenticates_with_the_gateway_identity(stack: Recording) -> None:
    logger = stack.one("azure-native:apimanagement:Logger", "gateway-appinsights-logger")
    insights = stack.one("azure-native:applicationinsights:Component")
    assert logger.get("loggerType") == "applicationInsights"
    assert logger.get("resourceId") == insights.id
    assert logger.get("credentials.identityClientId") == identity_client_id(stack.stack, "gateway-identity")
    assert logger.get("credentials.connectionString").startswith("InstrumentationKey=")


def test_app_insights_connection_string_is_kept_secret(stack: Recording) -> None:
    from tools.harness import Secret

    logger = stack.one("azure-native:apimanagement:Logger", "gateway-appinsights-logger")
    assert isinstance(logger.inputs["credentials"], Secret)


def test_gateway_identity_may_publish_metrics_to_application_insights(stack: Recording) -> None:
    insights = stack.one("azure-native:applicationinsights:Component")
    role = stack.one(ROLE, "gateway-appinsights-role-monitoring-metrics-publisher")
    assert role.get("scope") == insights.id
    assert role.get("roleDefinitionId").endswith(f"/roleDefinitions/{ROLE_DEFINITIONS['Monitoring Metrics Publisher']}")
    assert role.get("principalType") == "ServicePrincipal"
    expected_name = assignment_name(insights.id, role.get("principalId"), "Monitoring Metrics Publisher")
    assert role.get("roleAssignmentName") == expected_name
    logger = stack.one("azure-native:apimanagement:Logger", "gateway-appinsights-logger")
    assert stack.depends_on(logger, role)


def test_service_diagnostic_sends_metrics_and_never_payloads(stack: Recording) -> None:
    diagnostic = stack.one("azure-native:apimanagement:Diagnostic", "gateway-appinsights-diagnostic")
    logger = stack.one("azure-native:apimanagement:Logger", "gateway-appinsights-logger")
    assert diagnostic.get("diagnosticId") == "applicationinsights"
    assert diagnostic.get("loggerId") == logger.id
    assert diagnostic.get("metrics") is True
    assert diagnostic.get("httpCorrelationProtocol") == "W3C"
    assert diagnostic.get("alwaysLog") == "allErrors"
    for side in ("frontend", "backend"):
        for direction in ("request", "response"):
            assert diagnostic.get(f"{side}.{direction}.body.bytes") == 0


def test_client_ips_are_not_logged_by_default(stack: Recording) -> None:
    diagnostics = stack.of_type("azure-native:apimanagement:Diagnostic") + stack.of_type(
        "azure-native:apimanagement:ApiDiagnostic"
    )
    # The service's, one per OpenAI API (key callers; with Entra ID callers also theirs), and with alerts the
    # service's azuremonitor diagnostic that logs the remaining-quota header.
    alerts = [d for d in stack.of_type("azure-native:apimanagement:Diagnostic") if d.name == "alerts-azuremonitor"]
    assert len(diagnostics) == 1 + len(stack.of_type("azure-native:apimanagement:Api")) + len(alerts)
    for diagnostic in diagnostics:
        assert diagnostic.get("logClientIp") is False
    # The LLM logging diagnostics, declared through an ARM template, do not log them either.
    template = stack.one("azure-native:resources:Deployment", "policies-llm-logging").get("properties.template")
    assert {r["properties"]["logClientIp"] for r in template["resources"]} == {False}


def test_gateway_resource_logs_go_to_log_analytics(stack: Recording) -> None:
    setting = stack.one("azure-native:monitor:DiagnosticSetting", "gateway-apim-logs")
    assert setting.get("resourceUri") == apim_of(stack).id
    assert setting.get("workspaceId") == stack.one("azure-native:operationalinsights:Workspace").id
    assert setting.get("logs.0.categoryGroup") == "allLogs"


def test_diagnostics_mask_a_key_sent_in_the_query_string(stack: Recording) -> None:
    for diagnostic in stack.of_type("azure-native:apimanagement:Diagnostic") + stack.of_type(
        "azure-native:apimanagement:ApiDiagnostic"
    ):
        for side in ("frontend", "backend"):
            for direction in ("request", "response"):
                masking = diagnostic.get(f"{side}.{direction}.dataMasking.queryParams")
                assert masking == [{"value": "api-key", "mode": "Hide"}]
