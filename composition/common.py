"""What every component's Args share: the stack's tags and the backends' breaker rule."""

from __future__ import annotations

from components.circuit_breaker import CircuitBreaker
from components.settings import GatewaySettings, RoutingSettings


def circuit_breaker_record(routing: RoutingSettings) -> CircuitBreaker:
    """The breaker rule every OpenAI backend of the stack carries (the gateway's and the cache's)."""
    breaker = routing.circuit_breaker
    return {
        "failure_count": breaker.failure_count,
        "interval": breaker.interval,
        "trip_duration": breaker.trip_duration,
        "status_code_ranges": [{"min": r.min, "max": r.max} for r in breaker.status_code_ranges],
    }


def stack_tags(settings: GatewaySettings) -> dict[str, str]:
    return {"environment": settings.environment, "workload": "genai-gateway", **settings.tags}
