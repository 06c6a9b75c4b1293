"""The gateway's observability: the Log Analytics workspace (or an existing one), workspace-based Application
Insights, and the API Management logger and diagnostic that send the gateway's telemetry there."""

from dataclasses import dataclass
from typing import TypedDict

import pulumi
from pulumi_azure_native import apimanagement, applicationinsights, managedidentity, operationalinsights

from .access import RoleAssignmentSpec, assign_roles
from .diagnostics import no_payload_logging
from .naming import Naming

APP_INSIGHTS_LOGGER_ID = "appinsights"


class Observability(TypedDict, total=False):
    """Log retention and the gateway's Application Insights diagnostic."""

    log_retention_days: int
    sampling_percentage: float
    verbosity: str
    log_client_ip: bool


@dataclass(frozen=True)
class GatewayInsights:
    workspace_id: pulumi.Output[str]
    app_insights_id: pulumi.Output[str]
    connection_string: pulumi.Output[str]
    """Secret: Application Insights' connection string, for the API Management logger."""


def gateway_insights(
    name: str,
    parent: pulumi.Resource,
    *,
    naming: Naming,
    resource_group_name: pulumi.Input[str],
    location: str,
    retention_days: int,
    existing_workspace_id: pulumi.Input[str] | None,
    protect: bool,
    tags: dict[str, str],
) -> GatewayInsights:
    """The workspace (unless an existing one is given) and Application Insights on it."""
    stateful = pulumi.ResourceOptions(parent=parent, protect=protect)
    if existing_workspace_id is not None:
        workspace_id = pulumi.Output.from_input(existing_workspace_id)
    else:
        workspace = operationalinsights.Workspace(
            f"{name}-logs",
            workspace_name=naming.regional("log"),
            resource_group_name=resource_group_name,
            location=location,
            sku=operationalinsights.WorkspaceSkuArgs(name="PerGB2018"),
            retention_in_days=retention_days,
            tags=tags,
            opts=stateful,
        )
        workspace_id = workspace.id
    insights = applicationinsights.Component(
        f"{name}-appinsights",
        resource_name_=naming.regional("appi"),
        resource_group_name=resource_group_name,
        location=location,
        kind="web",
        application_type="web",
        ingestion_mode="LogAnalytics",
        workspace_resource_id=workspace_id,
        # Telemetry is accepted only from Entra-authenticated senders (the gateway's identity).
        disable_local_auth=True,
        retention_in_days=retention_days,
        tags=tags,
        opts=stateful,
    )
    return GatewayInsights(workspace_id, insights.id, pulumi.Output.secret(insights.connection_string))


def app_insights_logging(
    name: str,
    parent: pulumi.Resource,
    *,
    insights: GatewayInsights,
    apim: apimanagement.ApiManagementService,
    apim_name: pulumi.Input[str],
    resource_group_name: pulumi.Input[str],
    identity: managedidentity.UserAssignedIdentity,
    observability: Observability,
) -> pulumi.Output[str]:
    """The gateway's identity may publish to Application Insights; the logger (Entra ID authenticated) and the
    diagnostic that logs errors, sampled requests and token metrics, never payloads. Returns the logger's id."""
    publisher = assign_roles(
        f"{name}-appinsights-role",
        insights.app_insights_id,
        [
            RoleAssignmentSpec(
                "Monitoring Metrics Publisher",
                identity.principal_id,
                description="APIM gateway sends telemetry and token metrics to Application Insights",
            )
        ],
        parent=parent,
    )
    logger = apimanagement.Logger(
        f"{name}-appinsights-logger",
        logger_id=APP_INSIGHTS_LOGGER_ID,
        service_name=apim_name,
        resource_group_name=resource_group_name,
        logger_type="applicationInsights",
        description="Application Insights of the gateway, Entra ID authenticated",
        resource_id=insights.app_insights_id,
        is_buffered=True,
        credentials=pulumi.Output.all(insights.connection_string, identity.client_id).apply(
            lambda v: {"connectionString": v[0], "identityClientId": v[1]}
        ),
        opts=pulumi.ResourceOptions(parent=parent, depends_on=[apim, *publisher]),
    )
    no_payload = no_payload_logging()
    apimanagement.Diagnostic(
        f"{name}-appinsights-diagnostic",
        diagnostic_id="applicationinsights",
        service_name=apim_name,
        resource_group_name=resource_group_name,
        logger_id=logger.id,
        always_log="allErrors",
        http_correlation_protocol="W3C",
        log_client_ip=observability["log_client_ip"],
        verbosity=observability["verbosity"],
        # Custom metrics carry the token counts of llm-emit-token-metric.
        metrics=True,
        sampling=apimanagement.SamplingSettingsArgs(
            sampling_type="fixed", percentage=observability["sampling_percentage"]
        ),
        # Prompts and completions are never logged.
        frontend=apimanagement.PipelineDiagnosticSettingsArgs(request=no_payload, response=no_payload),
        backend=apimanagement.PipelineDiagnosticSettingsArgs(request=no_payload, response=no_payload),
        opts=pulumi.ResourceOptions(parent=parent),
    )
    return logger.id
