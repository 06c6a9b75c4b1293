"""The circuit breaker of an OpenAI backend, as a plain record every component that declares a backend shares."""

from typing import TypedDict

from pulumi_azure_native import apimanagement


class StatusCodeRange(TypedDict):
    min: int
    max: int


class CircuitBreaker(TypedDict):
    """When a backend trips (failures within an interval, by status code) and how long it rests at least."""

    failure_count: int
    interval: str  # ISO 8601 duration, e.g. "PT1M"
    trip_duration: str  # ISO 8601 duration
    status_code_ranges: list[StatusCodeRange]


# Three 429s or 5xx within a minute trip a backend for at least a minute (longer when it sends Retry-After).
DEFAULT_BREAKER: CircuitBreaker = {
    "failure_count": 3, "interval": "PT1M", "trip_duration": "PT1M",
    "status_code_ranges": [{"min": 429, "max": 429}, {"min": 500, "max": 599}],
}


def circuit_breaker_args(breaker: CircuitBreaker) -> apimanagement.BackendCircuitBreakerArgs:
    """The one breaker rule Azure allows per backend: trips on the configured codes, rests per Retry-After."""
    return apimanagement.BackendCircuitBreakerArgs(
        rules=[
            apimanagement.CircuitBreakerRuleArgs(
                name="openai-throttling-and-errors",
                failure_condition=apimanagement.CircuitBreakerFailureConditionArgs(
                    count=breaker["failure_count"],
                    interval=breaker["interval"],
                    status_code_ranges=[
                        apimanagement.FailureStatusCodeRangeArgs(min=r["min"], max=r["max"])
                        for r in breaker["status_code_ranges"]
                    ],
                    error_reasons=["Server errors"],
                ),
                trip_duration=breaker["trip_duration"],
                # A throttled deployment rests exactly as long as Azure OpenAI asks.
                accept_retry_after=True,
            )
        ]
    )
