"""What one app team reads from the platform stack: its own access and its own key, nothing of other teams."""

from __future__ import annotations

from typing import Any

# The platform stack exports one secret output per consumer (never a map of every team's key).
KEY_OUTPUT_PREFIX = "consumerKey-"


class UnknownConsumerError(Exception):
    """The configured consumer name is not a consumer of the gateway stack."""


def key_output_name(consumer: str) -> str:
    return f"{KEY_OUTPUT_PREFIX}{consumer}"


def own_access(consumers: Any, consumer: str, gateway_stack: str) -> dict[str, Any]:
    """This team's entry of the gateway's `consumers` output, or a clear error naming the known consumers."""
    if not isinstance(consumers, dict) or not consumers:
        raise UnknownConsumerError(f"gateway stack {gateway_stack!r} exports no consumers: is it deployed?")
    if consumer not in consumers:
        raise UnknownConsumerError(
            f"consumer {consumer!r} is not a consumer of gateway stack {gateway_stack!r} "
            f"(its consumers: {', '.join(sorted(consumers))}); set `consumer` to your team's name in the "
            "gateway's settings (genai-gateway:consumers[].name)"
        )
    access = consumers[consumer]
    if not isinstance(access, dict):
        raise UnknownConsumerError(f"gateway stack {gateway_stack!r}: consumers[{consumer!r}] is not an object")
    return access
