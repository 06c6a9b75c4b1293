"""The scenario suite: every behaviour the README claims, written once, run against the emulator (tests) and
against a deployed gateway (`python -m tools.smoke`). One module per area; see base.py for the contract."""

from . import cache, entra, errors, limits, openai_v1, routing, safety, security, spillover, streaming, usage
from .base import SCENARIOS, Consumer, Control, Scenario, Skip, Target

__all__ = [
    "SCENARIOS",
    "Consumer",
    "Control",
    "Scenario",
    "Skip",
    "Target",
    "cache",
    "entra",
    "errors",
    "limits",
    "openai_v1",
    "routing",
    "safety",
    "security",
    "spillover",
    "streaming",
    "usage",
]
