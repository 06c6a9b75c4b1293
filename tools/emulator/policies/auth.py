"""Caller authentication: validate-azure-ad-token."""

from __future__ import annotations

import json

from lxml import etree

from ..context import JwtValue, RequestState, as_text
from ..pipeline import Executor, PolicyFailure, policy


def _values(element: etree._Element, container: str, item: str) -> list[str]:
    found = element.find(container)
    if found is None:
        return []
    return [(v.text or "").strip() for v in found if isinstance(v.tag, str) and v.tag == item]


@policy(
    "validate-azure-ad-token",
    sections=("inbound",),
    children=("client-application-ids", "audiences", "backend-application-ids", "required-claims", "decryption-keys"),
)
def validate_azure_ad_token(ex: Executor, element: etree._Element, state: RequestState, level: int) -> None:
    """https://learn.microsoft.com/azure/api-management/validate-azure-ad-token-policy: the bearer token in
    `header-name` (default Authorization) must be a Microsoft Entra ID token of `tenant-id` (v1 or v2 issuer),
    signed by the tenant's keys, within its lifetime, for one of the `audiences`, issued to one of the
    `client-application-ids` (claim appid or azp). Otherwise the request fails with failed-validation-httpcode
    (401) and failed-validation-error-message; on success the Jwt goes to output-token-variable-name."""
    gw = ex.gateway
    tenant = as_text(ex.attr(element, "tenant-id", state))
    header = as_text(ex.attr(element, "header-name", state, "Authorization"))
    status = int(ex.attr(element, "failed-validation-httpcode", state, "401"))
    message = as_text(
        ex.attr(element, "failed-validation-error-message", state, "Unauthorized. Access token is missing or invalid.")
    )
    if element.find("required-claims") is not None or element.find("decryption-keys") is not None:
        raise NotImplementedError("validate-azure-ad-token required-claims / decryption-keys")

    def fail(reason: str) -> None:
        raise PolicyFailure(
            "validate-azure-ad-token",
            reason,
            message,
            status,
            {"WWW-Authenticate": 'Bearer error="invalid_token"'},
            json.dumps({"statusCode": status, "message": message}),
        )

    raw = state.request.headers.get(header)
    if not raw:
        fail("TokenNotPresent")
    assert raw is not None
    token = raw[7:].strip() if raw.lower().startswith("bearer ") else raw.strip()
    claims = gw.issuer.verify(token)
    if claims is None:
        fail("TokenSignatureInvalid")
    assert claims is not None
    if claims.get("iss") not in (
        f"https://login.microsoftonline.com/{tenant}/v2.0",
        f"https://sts.windows.net/{tenant}/",
    ):
        fail("TokenIssuerNotAllowed")
    if not gw.issuer.lifetime_ok(claims):
        fail("TokenExpired")
    audiences = _values(element, "audiences", "audience")
    if audiences and claims.get("aud") not in audiences:
        fail("TokenAudienceNotAllowed")
    clients = [c.lower() for c in _values(element, "client-application-ids", "application-id")]
    if clients and str(claims.get("azp", claims.get("appid", ""))).lower() not in clients:
        fail("TokenClientAppIdNotAllowed")
    variable = element.get("output-token-variable-name")
    if variable:
        state.variables[variable] = JwtValue(token)
