"""Azure Monitor diagnostic settings (AVM vocabulary: `diagnostic_settings`): resource logs to Log Analytics."""


from collections.abc import Sequence
from dataclasses import dataclass
from typing import NotRequired, TypedDict

import pulumi
from pulumi_azure_native import apimanagement, monitor


@dataclass(frozen=True)
class DiagnosticSettingSpec:
    workspace_id: pulumi.Input[str]
    # Resource-specific tables (e.g. ApiManagementGatewayLogs) instead of the legacy AzureDiagnostics table.
    dedicated_tables: bool = True
    # Some resource types have only metrics (Redis Enterprise clusters: their logs belong to the databases).
    logs: bool = True
    metrics: bool = True


class DiagnosticSetting(TypedDict):
    """Resource logs and metrics of the component's resources to a Log Analytics workspace (AVM)."""

    workspace_id: pulumi.Input[str]
    dedicated_tables: NotRequired[bool]
    logs: NotRequired[bool]
    metrics: NotRequired[bool]


def diagnostic_setting_spec(record: DiagnosticSetting) -> DiagnosticSettingSpec:
    return DiagnosticSettingSpec(
        record["workspace_id"],
        dedicated_tables=record.get("dedicated_tables", True),
        logs=record.get("logs", True),
        metrics=record.get("metrics", True),
    )


def no_payload_logging(headers: Sequence[str] = ()) -> apimanagement.HttpMessageDiagnosticArgs:
    """APIM diagnostics log no body (prompts, completions), hide a key sent in the query, and log no headers
    but the non-secret ones named (the alerts read the remaining quota from one)."""
    return apimanagement.HttpMessageDiagnosticArgs(
        headers=list(headers),
        body=apimanagement.BodyDiagnosticSettingsArgs(bytes=0),
        data_masking=apimanagement.DataMaskingArgs(
            query_params=[apimanagement.DataMaskingEntityArgs(value="api-key", mode="Hide")]
        ),
    )


def send_logs(
    name: str, resource_uri: pulumi.Input[str], spec: DiagnosticSettingSpec, parent: pulumi.Resource
) -> monitor.DiagnosticSetting:
    return monitor.DiagnosticSetting(
        name,
        name="to-log-analytics",
        resource_uri=resource_uri,
        workspace_id=spec.workspace_id,
        log_analytics_destination_type="Dedicated" if spec.dedicated_tables else None,
        logs=[monitor.DiagnosticsLogSettingsArgs(category_group="allLogs", enabled=True)] if spec.logs else [],
        metrics=[monitor.DiagnosticsMetricSettingsArgs(category="AllMetrics", enabled=True)] if spec.metrics else [],
        opts=pulumi.ResourceOptions(parent=parent),
    )
