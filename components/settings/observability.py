"""Logs and metrics of the gateway."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from .base import Model
from .forms import matching
from .network import WORKSPACE_ID


class ObservabilitySettings(Model):
    log_retention_days: int = Field(30, ge=30, le=730)
    # An existing Log Analytics workspace (any subscription) instead of one the stack creates; logRetentionDays
    # then applies to Application Insights only, the workspace keeps its owner's retention.
    existing_workspace_id: str | None = matching(WORKSPACE_ID, None)
    sampling_percentage: float = Field(100.0, ge=0, le=100)
    verbosity: Literal["verbose", "information", "error"] = "information"
    # Client IPs are personal data; log them only where a stack owner decides to.
    log_client_ip: bool = False
    # The Azure Monitor usage workbook (components/usage_workbook.py); it costs nothing while unused.
    usage_workbook: bool = True
