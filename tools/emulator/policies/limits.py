"""Limits: llm-token-limit and rate-limit-by-key, with counters on the emulator clock."""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta

from lxml import etree

from .. import tokens
from ..context import JsonValue, RequestState, as_text
from ..pipeline import Executor, PolicyFailure, policy

QUOTA_PERIODS = ("Hourly", "Daily", "Weekly", "Monthly", "Yearly")


@dataclass
class Window:
    start: datetime
    used: int = 0


class Counters:
    """Counters by key for one kind of limit, shared by every scope that uses the key (as APIM's are)."""

    def __init__(self) -> None:
        self.windows: dict[str, Window] = {}
        self.lock = threading.Lock()

    def window(self, key: str, start: datetime, renew: bool) -> Window:
        with self.lock:
            current = self.windows.get(key)
            if current is None or renew or current.start != start:
                current = Window(start)
                self.windows[key] = current
            return current

    def add(self, window: Window, tokens: int) -> None:
        with self.lock:
            window.used += tokens

    def reset(self) -> None:
        with self.lock:
            self.windows.clear()


def minute_window(counters: Counters, key: str, now: datetime, seconds: float) -> Window:
    """A fixed window of `seconds` that starts at the first request after the previous one ended."""
    with counters.lock:
        current = counters.windows.get(key)
        if current is None or (now - current.start).total_seconds() >= seconds:
            current = Window(now)
            counters.windows[key] = current
        return current


def period_start(now: datetime, period: str) -> datetime:
    """Quota periods in UTC calendar units (the emulator's reading; the reference does not say where they start)."""
    if period == "Hourly":
        return now.replace(minute=0, second=0, microsecond=0)
    if period == "Daily":
        return now.replace(hour=0, minute=0, second=0, microsecond=0)
    if period == "Weekly":
        day = now.replace(hour=0, minute=0, second=0, microsecond=0)
        return day - timedelta(days=day.weekday())
    if period == "Monthly":
        return now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    if period == "Yearly":
        return now.replace(month=1, day=1, hour=0, minute=0, second=0, microsecond=0)
    raise ValueError(f"token-quota-period {period!r} is not one of {', '.join(QUOTA_PERIODS)}")


def period_end(start: datetime, period: str) -> datetime:
    if period == "Hourly":
        return start + timedelta(hours=1)
    if period == "Daily":
        return start + timedelta(days=1)
    if period == "Weekly":
        return start + timedelta(days=7)
    if period == "Monthly":
        return (start.replace(day=28) + timedelta(days=4)).replace(day=1)
    return start.replace(year=start.year + 1)


def request_json(state: RequestState) -> object:
    import json

    try:
        return json.loads(state.request.body or "null")
    except ValueError:
        return None


@policy("llm-token-limit", sections=("inbound",))
def llm_token_limit(ex: Executor, element: etree._Element, state: RequestState, level: int) -> None:
    """https://learn.microsoft.com/azure/api-management/llm-token-limit-policy: per counter key, tokens per
    minute (over: 429 with Retry-After) and/or a token quota per period (over: 403). With estimate-prompt-tokens
    the prompt is estimated before forwarding (tools/emulator/tokens.py says how) and a request whose estimate
    does not fit is refused; without it only an exhausted counter refuses. Consumption is settled from the
    response's usage when it has one; a streamed response is always estimated (prompt estimate plus the streamed
    text's estimate). tokens-consumed-variable-name holds the prompt estimate in inbound and the settled count
    once the response is buffered (in outbound; a stream's completion is counted only after it ends). The limit
    refusal is an error of the policy: on-error runs, with the policy's headers on the response."""
    gw = ex.gateway
    key = "llm-token-limit:" + as_text(ex.attr(element, "counter-key", state))
    tpm = ex.attr(element, "tokens-per-minute", state)
    quota = ex.attr(element, "token-quota", state)
    period = as_text(ex.attr(element, "token-quota-period", state, "")) if quota is not None else ""
    if tpm is None and quota is None:
        raise ValueError("<llm-token-limit> needs tokens-per-minute or token-quota")
    estimate = str(ex.attr(element, "estimate-prompt-tokens", state, "false")).lower() == "true"
    retry_header = element.get("retry-after-header-name", "Retry-After")
    now = gw.clock.now()
    prompt_estimate = tokens.estimate_prompt_tokens(request_json(state)) if estimate else 0

    minute = minute_window(gw.token_counters, key + ":tpm", now, 60) if tpm is not None else None
    quota_window = (
        gw.token_counters.window(key + ":quota:" + period, period_start(now, period), False)
        if quota is not None
        else None
    )

    def refuse(status: int, reason: str, message: str, wait: float, remaining_header: str | None) -> None:
        headers = {retry_header: str(max(1, math.ceil(wait)))} if status == 429 else {}
        if remaining_header and element.get(remaining_header):
            headers[element.get(remaining_header, "")] = "0"
        if element.get("retry-after-variable-name") and status == 429:
            state.variables[element.get("retry-after-variable-name", "")] = max(1, math.ceil(wait))
        body = JsonValue(f'{{"statusCode": {status}, "message": "{message}"}}').text
        raise PolicyFailure(element.tag, reason, message, status, headers, body)

    if minute is not None:
        limit = int(tpm)
        wait = 60 - (now - minute.start).total_seconds()
        if minute.used >= limit or (estimate and minute.used + prompt_estimate > limit):
            refuse(
                429,
                "TokenLimitExceeded",
                f"Token limit is exceeded. Try again in {max(1, math.ceil(wait))} seconds.",
                wait,
                "remaining-tokens-header-name",
            )
    if quota_window is not None:
        limit_q = int(quota)
        if quota_window.used >= limit_q or (estimate and quota_window.used + prompt_estimate > limit_q):
            wait = (period_end(quota_window.start, period) - now).total_seconds()
            refuse(403, "TokenQuotaExceeded", "Token quota is exceeded.", wait, "remaining-quota-tokens-header-name")

    # The estimate counts at once, so concurrent requests see it; the response settles the difference.
    for window in (minute, quota_window):
        if window is not None:
            gw.token_counters.add(window, prompt_estimate)
    _publish(
        element,
        state,
        int(tpm) - minute.used if minute is not None else None,
        int(quota) - quota_window.used if quota_window is not None else None,
        prompt_estimate,
        headers=False,
    )

    settled: list[int] = []

    def settle(counts: dict[str, int] | None, headers: bool) -> None:
        if not settled:
            settled.append(prompt_estimate if counts is None else counts["total"])
            for window in (minute, quota_window):
                if window is not None:
                    gw.token_counters.add(window, settled[0] - prompt_estimate)
        _publish(
            element,
            state,
            int(tpm) - minute.used if minute is not None else None,
            int(quota) - quota_window.used if quota_window is not None else None,
            settled[0],
            headers=headers,
        )

    def received(counts: dict[str, int] | None) -> None:
        # A buffered response settles the count when it arrives, before outbound (the variables show it there).
        if counts is not None:
            settle(counts, headers=False)

    def finish(counts: dict[str, int] | None) -> None:
        # A stream settles only once it has been relayed: outbound saw the prompt estimate.
        settle(counts, headers=True)

    state.on_response.append(received)
    state.finishers.append((element.tag, finish))


def _publish(
    element: etree._Element,
    state: RequestState,
    remaining: int | None,
    remaining_quota: int | None,
    consumed: int,
    *,
    headers: bool,
) -> None:
    pairs = (
        ("remaining-tokens", remaining),
        ("remaining-quota-tokens", remaining_quota),
        ("tokens-consumed", consumed),
    )
    for stem, value in pairs:
        if value is None:
            continue
        value = max(0, value)
        variable = element.get(f"{stem}-variable-name")
        if variable:
            state.variables[variable] = value
        header = element.get(f"{stem}-header-name")
        if headers and header and state.response is not None:
            state.response.headers.set(header, [str(value)])


# https://learn.microsoft.com/azure/api-management/azure-openai-token-limit-policy: the Azure OpenAI form, with
# the same attributes and semantics (it also meters embeddings and completions).
policy("azure-openai-token-limit", sections=("inbound",))(llm_token_limit)


@policy("rate-limit-by-key", sections=("inbound",))
def rate_limit_by_key(ex: Executor, element: etree._Element, state: RequestState, level: int) -> None:
    """https://learn.microsoft.com/azure/api-management/rate-limit-by-key-policy: at most `calls` per
    `renewal-period` seconds per counter key; over it, 429 with Retry-After. The counter grows by
    increment-count (default 1) when increment-condition holds, both evaluated at the end of the request (the
    reference's examples read context.Response there)."""
    gw = ex.gateway
    calls = int(ex.attr(element, "calls", state))
    period = float(ex.attr(element, "renewal-period", state))
    if period > 300:
        raise ValueError("<rate-limit-by-key> renewal-period is at most 300 seconds")
    key = "rate-limit-by-key:" + as_text(ex.attr(element, "counter-key", state))
    now = gw.clock.now()
    window = minute_window(gw.rate_counters, key, now, period)
    wait = period - (now - window.start).total_seconds()
    if window.used >= calls:
        headers = {element.get("retry-after-header-name", "Retry-After"): str(max(1, math.ceil(wait)))}
        if element.get("remaining-calls-header-name"):
            headers[element.get("remaining-calls-header-name", "")] = "0"
        message = f"Rate limit is exceeded. Try again in {max(1, math.ceil(wait))} seconds."
        raise PolicyFailure(
            "rate-limit-by-key",
            "RateLimitExceeded",
            message,
            429,
            headers,
            f'{{"statusCode": 429, "message": "{message}"}}',
        )
    if element.get("remaining-calls-variable-name"):
        state.variables[element.get("remaining-calls-variable-name", "")] = calls - window.used

    def finish(counts: dict[str, int] | None) -> None:
        condition = ex.attr(element, "increment-condition", state, True)
        if condition is True or str(condition).lower() == "true":
            gw.rate_counters.add(window, int(ex.attr(element, "increment-count", state, "1")))
        header = element.get("remaining-calls-header-name")
        if header and state.response is not None:
            state.response.headers.set(header, [str(max(0, calls - window.used))])
        if element.get("total-calls-header-name") and state.response is not None:
            state.response.headers.set(element.get("total-calls-header-name", ""), [str(calls)])

    state.finishers.append(("rate-limit-by-key", finish))
