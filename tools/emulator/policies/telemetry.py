"""Telemetry: log-to-eventhub and llm-emit-token-metric."""

from __future__ import annotations

from lxml import etree

from ..context import RequestState, as_text
from ..pipeline import Executor, policy

# Dimensions llm-emit-token-metric fills itself when a <dimension> has no value
# (https://learn.microsoft.com/azure/api-management/llm-emit-token-metric-policy#default-dimension-names-that-may-be-used-without-value).
DEFAULT_DIMENSIONS = (
    "API ID",
    "Operation ID",
    "Product ID",
    "User ID",
    "Subscription ID",
    "Location",
    "Gateway ID",
    "Backend ID",
)
MAX_MESSAGE_BYTES = 200 * 1024


@policy("log-to-eventhub")
def log_to_eventhub(ex: Executor, element: etree._Element, state: RequestState, level: int) -> None:
    """https://learn.microsoft.com/azure/api-management/log-to-eventhub-policy: sends the element's text (or the
    expression's value) to the event hub of logger `logger-id`, with `partition-key` or `partition-id`; a
    message over 200 KB is truncated by APIM, here it is an emulator warning as well."""
    logger_id = element.get("logger-id", "")
    logger = ex.gateway.model.loggers.get(logger_id)
    if logger is None or logger.type != "azureEventHub":
        raise ValueError(f"<log-to-eventhub> logger {logger_id!r} is not an Event Hubs logger of the plan")
    message = as_text(ex.text(element, state))
    if len(message.encode()) > MAX_MESSAGE_BYTES:
        state.warnings.append("log-to-eventhub message over 200 KB")
        message = message.encode()[:MAX_MESSAGE_BYTES].decode(errors="ignore")
    key = ex.attr(element, "partition-key", state)
    pid = ex.attr(element, "partition-id", state)
    ex.gateway.eventhub.send(
        logger.event_hub or logger_id,
        message,
        None if key is None else as_text(key),
        None if pid is None else as_text(pid),
    )


@policy("llm-emit-token-metric", sections=("inbound",), children=("dimension",))
def llm_emit_token_metric(ex: Executor, element: etree._Element, state: RequestState, level: int) -> None:
    """https://learn.microsoft.com/azure/api-management/llm-emit-token-metric-policy: emits Total Tokens, Prompt
    Tokens and Completion Tokens with the dimensions, once the response is known. Dimension values are
    evaluated then (the emulator's reading: Backend ID is only known after forwarding). A streamed response's
    counts are estimated."""
    namespace = as_text(ex.attr(element, "namespace", state, "API Management"))
    dimensions = [d for d in element if isinstance(d.tag, str) and d.tag == "dimension"]
    if len(dimensions) > 5:
        raise ValueError("<llm-emit-token-metric> allows at most 5 custom dimensions")

    def finish(counts: dict[str, int] | None) -> None:
        if counts is None:
            return
        values: dict[str, str] = {}
        for d in dimensions:
            name = d.get("name", "")
            if d.get("value") is not None:
                values[name] = as_text(ex.attr(d, "value", state))
            elif name in DEFAULT_DIMENSIONS:
                values[name] = ex.gateway.default_dimension(name, state)
            else:
                raise ValueError(f"<dimension name={name!r}> has no value and is not a default dimension")
        for metric, key in (
            ("Total Tokens", "total"),
            ("Prompt Tokens", "prompt"),
            ("Completion Tokens", "completion"),
        ):
            ex.gateway.metrics.emit(namespace, metric, counts[key], values)

    state.finishers.append(("metrics", finish))


# https://learn.microsoft.com/azure/api-management/azure-openai-emit-token-metric-policy: the Azure OpenAI form,
# with the same dimensions and metrics.
policy("azure-openai-emit-token-metric", sections=("inbound",), children=("dimension",))(llm_emit_token_metric)
