"""Azure Monitor diagnostic settings (AVM vocabulary: `diagnostic_settings`): resource logs to Log Analytics."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
from pulumi_azure_native import monitor


@dataclass(frozen=True)
class DiagnosticSettingSpec:
    workspace_id: pulumi.Input[str]
    # Resource-specific tables (e.g. ApiManagementGatewayLogs) instead of the legacy AzureDiagnostics table.
    dedicated_tables: bool = True


def send_logs(
    name: str, resource_uri: pulumi.Input[str], spec: DiagnosticSettingSpec, parent: pulumi.Resource
) -> monitor.DiagnosticSetting:
    return monitor.DiagnosticSetting(
        name,
        name="to-log-analytics",
        resource_uri=resource_uri,
        workspace_id=spec.workspace_id,
        log_analytics_destination_type="Dedicated" if spec.dedicated_tables else None,
        logs=[monitor.DiagnosticsLogSettingsArgs(category_group="allLogs", enabled=True)],
        metrics=[monitor.DiagnosticsMetricSettingsArgs(category="AllMetrics", enabled=True)],
        opts=pulumi.ResourceOptions(parent=parent),
    )
