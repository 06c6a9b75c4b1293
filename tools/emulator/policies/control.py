"""Control flow: choose, set-variable, retry, return-response."""

from __future__ import annotations

from lxml import etree

from ..context import Headers, RequestState, Response
from ..pipeline import Executor, ReturnResponse, policy, reason_phrase
from .transform import apply_set_body, apply_set_header


def _truthy(value: object, element: etree._Element) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    raise TypeError(f"<{element.tag}> condition is not a bool: {value!r}")


@policy("choose", children=None)
def choose(ex: Executor, element: etree._Element, state: RequestState, level: int) -> None:
    """https://learn.microsoft.com/azure/api-management/choose-policy: the first `when` whose condition is
    true runs; otherwise `otherwise`, if present."""
    for branch in element:
        if not isinstance(branch.tag, str):
            continue
        if branch.tag == "when":
            if _truthy(ex.attr(branch, "condition", state), branch):
                ex.run_children(branch, state, state.chain, level)
                return
        elif branch.tag == "otherwise":
            ex.run_children(branch, state, state.chain, level)
            return


@policy("set-variable")
def set_variable(ex: Executor, element: etree._Element, state: RequestState, level: int) -> None:
    """https://learn.microsoft.com/azure/api-management/set-variable-policy: the value of an expression keeps
    its type (the allowed types are listed there); a literal is a string."""
    state.variables[element.get("name", "")] = ex.attr(element, "value", state, "")


@policy("retry", children=None)
def retry(ex: Executor, element: etree._Element, state: RequestState, level: int) -> None:
    """https://learn.microsoft.com/azure/api-management/retry-policy: runs the child policies once, then again
    while `condition` is true, at most `count` more times. Waits between attempts (interval, delta,
    max-interval, first-fast-retry) are not slept: the emulator's clock is advanced only by the control API,
    and they are recorded as warnings when non-zero."""
    count = int(ex.attr(element, "count", state, "0"))
    if not 1 <= count <= 50:
        raise ValueError(f"<retry> count must be 1-50, got {count}")
    interval = int(ex.attr(element, "interval", state, "0"))
    ex.run_children(element, state, state.chain, level)
    for attempt in range(count):
        if not _truthy(ex.attr(element, "condition", state), element):
            return
        first_fast = str(ex.attr(element, "first-fast-retry", state, "false")).lower() == "true"
        if interval and not (first_fast and attempt == 0):
            state.warnings.append(f"retry would wait {interval} s before attempt {attempt + 2}")
        ex.run_children(element, state, state.chain, level)


@policy("return-response", children=("set-status", "set-header", "set-body"))
def return_response(ex: Executor, element: etree._Element, state: RequestState, level: int) -> None:
    """https://learn.microsoft.com/azure/api-management/return-response-policy: stops the pipeline and answers
    with a new response (200 with no body unless the children set them); response-variable-name starts from a
    stored response instead."""
    stored = element.get("response-variable-name")
    if stored:
        raise NotImplementedError("return-response with response-variable-name")
    response = Response(headers=Headers(), body=None, status=200, reason="OK")
    for child in element:
        if not isinstance(child.tag, str):
            continue
        if child.tag == "set-status":
            response.status = int(ex.attr(child, "code", state, "200"))
            response.reason = str(ex.attr(child, "reason", state, reason_phrase(response.status)))
        elif child.tag == "set-header":
            apply_set_header(ex, child, state, response.headers)
        elif child.tag == "set-body":
            apply_set_body(ex, child, state, response)
    state.response = response
    raise ReturnResponse()
