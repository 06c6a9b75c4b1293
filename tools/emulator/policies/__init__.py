"""One module per group of policy elements; importing this package registers every implementation."""

from . import auth, cache, control, limits, routing, safety, telemetry, transform

__all__ = ["auth", "cache", "control", "limits", "routing", "safety", "telemetry", "transform"]
