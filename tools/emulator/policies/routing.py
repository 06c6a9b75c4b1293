"""Reaching the backend: forward-request and authentication-managed-identity."""

from __future__ import annotations

from lxml import etree

from ..context import RequestState, as_text
from ..pipeline import Executor, PolicyFailure, policy


@policy("forward-request", sections=("backend",))
def forward_request(ex: Executor, element: etree._Element, state: RequestState, level: int) -> None:
    """https://learn.microsoft.com/azure/api-management/forward-request-policy: sends the request to the
    backend the context names (set-backend-service) and makes its answer context.Response. A backend 4xx/5xx
    is a response, not an error (fail-on-error-status-code defaults to false); a timeout or an unreachable
    backend is an error of forward-request. Each call selects a pool member anew, so a retry around it reaches
    the next member once the first has tripped."""
    timeout = float(ex.attr(element, "timeout", state, "300"))
    buffer_response = str(ex.attr(element, "buffer-response", state, "true")).lower() == "true"
    fail_on_error = str(ex.attr(element, "fail-on-error-status-code", state, "false")).lower() == "true"
    ex.gateway.forward(state, timeout=timeout, buffer_response=buffer_response)
    assert state.response is not None
    if fail_on_error and state.response.status >= 400:
        raise PolicyFailure(
            "forward-request", "BackendError", f"backend answered {state.response.status}", state.response.status
        )


@policy("authentication-managed-identity", sections=("inbound",))
def authentication_managed_identity(ex: Executor, element: etree._Element, state: RequestState, level: int) -> None:
    """https://learn.microsoft.com/azure/api-management/authentication-managed-identity-policy: a token for
    `resource` from the gateway's identity (system-assigned, or the user-assigned one `client-id` names),
    stored in `output-token-variable-name` or else sent as `Authorization: Bearer`."""
    resource = as_text(ex.attr(element, "resource", state))
    client_id = ex.attr(element, "client-id", state)
    token = ex.gateway.managed_identity_token(resource, None if client_id is None else as_text(client_id))
    if token is None:
        if str(ex.attr(element, "ignore-error", state, "false")).lower() == "true":
            return
        raise PolicyFailure(
            "authentication-managed-identity",
            "TokenAcquisitionFailed",
            f"the gateway has no managed identity with client id {client_id}",
            500,
        )
    variable = element.get("output-token-variable-name")
    if variable:
        state.variables[variable] = token
    else:
        state.request.headers.set("Authorization", [f"Bearer {token}"])
