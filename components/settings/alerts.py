"""Azure Monitor alerts on budget burn, throttling, PTU utilisation and circuit breakers (components/alerts.py)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from typing import TYPE_CHECKING, Literal

from pydantic import Field

from .base import Model, Problem
from .forms import EMAIL, Form, matching

if TYPE_CHECKING:
    from . import GatewaySettings

# E-mail addresses have a practical shape (EMAIL); Azure validates the address itself when it sends the
# confirmation. Action group receiver names: unique in the group, at most 128 characters (ARM: EmailReceiver.name).
RECEIVER_NAME = Form(
    r"^[A-Za-z0-9][A-Za-z0-9 _.-]{0,127}$",
    "1 to 128 letters, digits, spaces, underscores, periods or hyphens, starting with a letter or digit, "
    "such as 'Platform on-call'",
)


class EmailReceiver(Model):
    name: str = matching(RECEIVER_NAME)
    email: str = matching(EMAIL, max_length=254)


class AlertSettings(Model):
    """`genai-gateway:alerts`: who is told, and when."""

    enabled: bool = False
    email_receivers: list[EmailReceiver] = Field(default_factory=list, max_length=1000)
    # A consumer's quota (its budget's token quota for budgeted consumers) used up to this share warns;
    # all of it is an error.
    quota_warning_percent: int = Field(80, ge=1, le=99)
    # Share of the gateway's answers that are 429 over `throttlingWindowMinutes`, ignored under minRequests.
    throttling_percent: float = Field(5.0, gt=0, le=100)
    throttling_min_requests: int = Field(20, ge=1)
    # A window a log search alert accepts (components/alerts.py LOG_ALERT_WINDOWS).
    throttling_window_minutes: Literal[5, 10, 15, 30, 45, 60, 120, 180, 240, 300, 360, 1440] = 15
    # Provisioned-managed utilisation (percent of the PTU deployment's capacity) averaged over 15 minutes.
    ptu_utilization_percent: int = Field(90, ge=1, le=100)

    def problems(self, key: str, whole: GatewaySettings) -> Iterable[Problem]:
        if not self.enabled:
            return
        if not self.email_receivers:
            yield Problem(f"{key}.emailReceivers", "[]",
                          "at least one receiver is required when alerts.enabled is true")
        for name, n in Counter(r.name.lower() for r in self.email_receivers).items():
            if n > 1:
                yield Problem(f"{key}.emailReceivers", repr(name), "receiver names must be unique")
