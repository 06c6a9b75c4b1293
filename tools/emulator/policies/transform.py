"""Changing the request or the response: set-header, set-query-parameter, set-body, set-status,
set-backend-service and rewrite-uri."""

from __future__ import annotations

import dataclasses
import re
from urllib.parse import parse_qsl

from lxml import etree

from ..context import Headers, Message, RequestState, as_text
from ..pipeline import Executor, policy, reason_phrase


def _target(state: RequestState) -> Message:
    """Inbound and backend change the request; outbound and on-error change the response."""
    if state.section in ("inbound", "backend"):
        return state.request
    assert state.response is not None
    return state.response


def apply_set_header(ex: Executor, element: etree._Element, state: RequestState, headers: Headers) -> None:
    """https://learn.microsoft.com/azure/api-management/set-header-policy: exists-action override (default)
    replaces, skip keeps an existing header, append adds, delete removes; each <value> child is one value."""
    name = str(ex.attr(element, "name", state))
    action = str(ex.attr(element, "exists-action", state, "override"))
    if action == "delete":
        headers.delete(name)
        return
    values = [as_text(ex.text(v, state)) for v in element if isinstance(v.tag, str) and v.tag == "value"]
    if action == "skip":
        if name not in headers:
            headers.set(name, values)
    elif action == "append":
        for value in values:
            headers.append(name, value)
    elif action == "override":
        headers.set(name, values)
    else:
        raise ValueError(f"<set-header> exists-action {action!r} is not override, skip, append or delete")


def apply_set_body(ex: Executor, element: etree._Element, state: RequestState, message: Message) -> None:
    """https://learn.microsoft.com/azure/api-management/set-body-policy: the body becomes the text (or the
    expression's value); a streamed body is replaced as a whole."""
    if element.get("template"):
        raise NotImplementedError("set-body template (liquid)")
    message.body = as_text(ex.text(element, state))
    message.chunks = None
    message.consumed = False
    message.headers.delete("Content-Length")


@policy("set-header", children=("value",))
def set_header(ex: Executor, element: etree._Element, state: RequestState, level: int) -> None:
    apply_set_header(ex, element, state, _target(state).headers)


@policy("set-query-parameter", sections=("inbound", "backend"), children=("value",))
def set_query_parameter(ex: Executor, element: etree._Element, state: RequestState, level: int) -> None:
    """https://learn.microsoft.com/azure/api-management/set-query-parameter-policy: same actions as set-header,
    on the query string of the request forwarded to the backend."""
    name = str(ex.attr(element, "name", state))
    action = str(ex.attr(element, "exists-action", state, "override"))
    values = [as_text(ex.text(v, state)) for v in element if isinstance(v.tag, str) and v.tag == "value"]
    present = any(k == name for k, _ in state.url.query)
    if action == "delete":
        state.url.query = [(k, v) for k, v in state.url.query if k != name]
    elif action == "skip":
        if not present:
            state.url.query += [(name, v) for v in values]
    elif action == "append":
        state.url.query += [(name, v) for v in values]
    elif action == "override":
        state.url.query = [(k, v) for k, v in state.url.query if k != name] + [(name, v) for v in values]
    else:
        raise ValueError(f"<set-query-parameter> exists-action {action!r} is not known")


@policy("set-body")
def set_body(ex: Executor, element: etree._Element, state: RequestState, level: int) -> None:
    apply_set_body(ex, element, state, _target(state))


@policy("set-status", sections=("inbound", "backend", "outbound", "on-error"))
def set_status(ex: Executor, element: etree._Element, state: RequestState, level: int) -> None:
    """https://learn.microsoft.com/azure/api-management/set-status-policy: sets the response's status code
    and reason phrase."""
    if state.response is None:
        raise ValueError("<set-status> outside return-response needs a response")
    state.response.status = int(ex.attr(element, "code", state))
    state.response.reason = str(ex.attr(element, "reason", state, reason_phrase(state.response.status)))


@policy("set-backend-service", sections=("inbound", "backend"))
def set_backend_service(ex: Executor, element: etree._Element, state: RequestState, level: int) -> None:
    """https://learn.microsoft.com/azure/api-management/set-backend-service-policy: the request goes to the
    backend entity `backend-id` (a Single backend or a pool) or to `base-url`."""
    backend_id = ex.attr(element, "backend-id", state)
    if backend_id is not None:
        backend_id = as_text(backend_id)
        if backend_id not in ex.gateway.model.backends:
            raise ValueError(f"<set-backend-service> names backend {backend_id!r}, which the plan lacks")
        state.backend_id, state.backend_url = backend_id, None
    else:
        state.backend_id, state.backend_url = None, as_text(ex.attr(element, "base-url", state))


@policy("rewrite-uri", sections=("inbound",))
def rewrite_uri(ex: Executor, element: etree._Element, state: RequestState, level: int) -> None:
    """https://learn.microsoft.com/azure/api-management/rewrite-uri-policy: `template` (an expression when it is
    one as a whole) is the backend URL relative to the backend's base, path and query; `{name}` takes the
    matched template parameter. With copy-unmatched-params (default true) the request's query parameters the
    operation's template did not match are added, unless the template sets them itself; without it only the
    template's query remains. context.Request.Url takes the new path and query (OriginalUrl keeps the caller's)."""
    template = as_text(ex.attr(element, "template", state))
    copy = str(ex.attr(element, "copy-unmatched-params", state, "true")).lower() == "true"
    path, _, query = template.partition("?")
    path = re.sub(r"\{([^}]+)\}", lambda m: state.matched.get(m.group(1), m.group(0)), path)
    pairs = parse_qsl(query, keep_blank_values=True)
    if copy:
        own = {k for k, _ in pairs}
        pairs += [(k, v) for k, v in state.url.query if k not in own and k not in state.matched]
    state.api_path = path if path.startswith("/") else f"/{path}"
    state.url = dataclasses.replace(state.url, query=pairs)
