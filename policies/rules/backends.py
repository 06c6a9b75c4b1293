"""Resilient backends: circuit breakers, pool shape and spill-over."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from pulumi_policy import PolicyResource, ResourceValidationArgs

from .base import (
    ADVISORY,
    BACKEND,
    COGNITIVE_ACCOUNT,
    MAX_POOL_MEMBERS,
    OPENAI_URL,
    UNKNOWN,
    Stack,
    _is_unknown,
    get,
    is_true,
    items,
    label,
    last_segment,
    number,
    peek,
    resource_policy,
    same,
    stack_policy,
)


# == 2. resilient backends ============================================================================
@stack_policy(
    "backend-circuit-breaker",
    "Every Azure OpenAI backend trips on throttling: exactly one circuit-breaker rule that covers 429 and "
    "honours Retry-After.",
    "Give each apimanagement.Backend of type Single that points at an Azure OpenAI endpoint circuitBreaker.rules "
    "with one rule (Azure supports only one): failureCondition.statusCodeRanges covering 429 (and 500-599), a "
    "tripDuration, and acceptRetryAfter true.",
)
def backend_circuit_breaker(stack: Stack, cfg: dict[str, Any]) -> Iterator[tuple[str, str | None]]:
    for backend in stack.of_type(BACKEND):
        if same(peek(backend.props, "type"), "Single") and _is_openai_backend(backend):
            for message in _circuit_breaker_findings(backend):
                yield message, backend.urn


def _is_openai_backend(backend: PolicyResource) -> bool:
    """A backend whose url is an Azure OpenAI endpoint; in a preview, whose url comes from an OpenAI account."""
    url = peek(backend.props, "url")
    if isinstance(url, str) and not _is_unknown(url):
        return bool(OPENAI_URL.match(url))
    return any(
        d.resource_type == COGNITIVE_ACCOUNT and same(peek(d.props, "kind"), "OpenAI")
        for d in backend.property_dependencies.get("url", [])
    )


def _circuit_breaker_findings(backend: PolicyResource) -> Iterator[str]:
    props, what = backend.props, label(backend.resource_type, backend.name)
    rules = items(get(props, "circuitBreaker.rules"))
    if not rules:
        yield (f"{what} (Azure OpenAI) has no circuit breaker: add circuitBreaker.rules with one rule covering 429 "
               "and acceptRetryAfter true, so a throttled backend leaves the pool.")
        return
    if len(rules) > 1:
        yield f"{what} has {len(rules)} circuit-breaker rules: Azure supports exactly one; merge them."
    rule = rules[0]
    rule_name = get(rule, "name", "(unnamed)")
    if not is_true(get(rule, "acceptRetryAfter")):
        yield (f"{what}: circuit-breaker rule '{rule_name}' does not set acceptRetryAfter true: set it so the "
               "backend rests as long as Azure OpenAI's Retry-After asks.")
    ranges = items(get(rule, "failureCondition.statusCodeRanges"))
    if not any((number(get(r, "min")) or 0) <= 429 <= (number(get(r, "max")) or 0) for r in ranges):
        yield (f"{what}: circuit-breaker rule '{rule_name}' does not cover status 429: add "
               "failureCondition.statusCodeRanges {min: 429, max: 429}.")
    if not get(rule, "tripDuration"):
        yield f"{what}: circuit-breaker rule '{rule_name}' has no tripDuration: set one (e.g. PT1M)."


@resource_policy(
    "backend-pool-shape",
    "Every backend pool has members (at most 30, each once, priority and weight 0-100) and no url or protocol.",
    (BACKEND,),
    "An apimanagement.Backend of type Pool lists 1-30 Single backends in pool.services (full ARM ids, each once, "
    "priority and weight 0-100) and leaves url and protocol unset: the service rejects them on a pool.",
)
def backend_pool_shape(args: ResourceValidationArgs, cfg: dict[str, Any]) -> Iterator[str]:
    props, what = args.props, label(args.resource_type, args.name)
    if not same(get(props, "type"), "Pool"):
        return
    members = items(get(props, "pool.services"))
    if not members:
        yield f"{what} has no members: list the Single backends of the deployment in pool.services."
    if len(members) > MAX_POOL_MEMBERS:
        yield f"{what} has {len(members)} members: a pool holds at most {MAX_POOL_MEMBERS}; split it."
    for key in ("url", "protocol"):
        if get(props, key):
            yield f"{what} sets {key} ({get(props, key)}): a pool takes no {key}; remove it."
    seen: set[str] = set()
    for i, member in enumerate(members):
        member_id = peek(member, "id")
        if not member_id:
            yield f"{what}: pool member {i} has no id: set the ARM id of a Single backend."
        elif isinstance(member_id, str):
            if member_id.lower() in seen:
                yield f"{what}: pool member {last_segment(member_id)} is listed twice; list each backend once."
            seen.add(member_id.lower())
        for key in ("priority", "weight"):
            value = peek(member, key)
            if value is not UNKNOWN and value is not None and not 0 <= (number(value) or -1) <= 100:
                yield f"{what}: pool member {i} has {key} {value}: use 0-100."


@resource_policy(
    "backend-pool-spillover",
    "Every backend pool can spill over: it has at least two members, either in two or more priority groups "
    "(PTU first, pay-as-you-go below) or sharing one priority group (round-robin or weighted).",
    (BACKEND,),
    "Add a second member to the pool: for PTU capacity a pay-as-you-go backend with a larger priority number, "
    "for round-robin/weighted pools another account that deploys the model. A single-tier pool with two or more "
    "members is accepted: a tripped member's traffic moves to the others. Advisory in dev (one account may "
    "legitimately serve a model there), mandatory in prod.",
    level=ADVISORY,
)
def backend_pool_spillover(args: ResourceValidationArgs, cfg: dict[str, Any]) -> Iterator[str]:
    props, what = args.props, label(args.resource_type, args.name)
    if not same(get(props, "type"), "Pool"):
        return
    members = items(get(props, "pool.services"))
    if len(members) == 1:
        yield (f"{what} has a single member ({last_segment(peek(members[0], 'id'))}): when it trips or is throttled "
               "there is nowhere to spill over; add a second backend (a lower-priority pay-as-you-go account, or "
               "another account in the same priority group).")
