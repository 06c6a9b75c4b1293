"""Subscription keys, before any policy runs, and the gateway's own answers for refused keys.

https://learn.microsoft.com/azure/api-management/api-management-subscriptions: the key is read from the API's
header name, else its query parameter name; without a key an API that requires one answers 401; a key that
matches no active subscription is refused 401, also where the key is optional (the emulator follows that page's
summary table; its Considerations section reads the other way, and only a live check settles it); a product
subscription opens only the APIs of its product and brings the product's policy; an API-scoped or all-APIs
subscription brings no product.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from .context import RequestState
from .model import GatewayModel, Subscription


@dataclass
class Answer:
    status: int
    reason: str
    headers: list[tuple[str, str]]
    body: bytes
    chunks: list[bytes] | None


def error_body(status: int, message: str) -> bytes:
    return json.dumps({"statusCode": status, "message": message}).encode()


def check_subscription(model: GatewayModel, state: RequestState) -> Answer | None:
    """None when the request may proceed (with its subscription and product set), else the refusal."""
    api = state.api
    key = state.request.headers.get(api.key_header)
    if key is None:
        key = next((v for k, v in state.url.query if k == api.key_query), None)
    if key is None:
        if api.subscription_required:
            return Answer(
                401,
                "Access Denied",
                [
                    ("Content-Type", "application/json"),
                    (
                        "WWW-Authenticate",
                        'AzureApiManagementKey realm="https://gateway",name="' + api.key_header + '",type="header"',
                    ),
                ],
                error_body(
                    401,
                    "Access denied due to missing subscription key. Make sure to include subscription key when "
                    "making requests to an API.",
                ),
                None,
            )
        return None
    subscription = _by_key(model, key)
    if subscription is None or not _opens(model, subscription, api.api_id):
        return Answer(
            401,
            "Access Denied",
            [("Content-Type", "application/json")],
            error_body(
                401,
                "Access denied due to invalid subscription key. Make sure to provide a valid key for an active "
                "subscription.",
            ),
            None,
        )
    state.subscription, state.subscription_key = subscription, key
    if subscription.scope_kind == "product":
        state.product = model.products[subscription.scope_id]
    return None


def _by_key(model: GatewayModel, key: str) -> Subscription | None:
    for subscription in model.subscriptions.values():
        if subscription.active and key in (subscription.primary_key, subscription.secondary_key):
            return subscription
    return None


def _opens(model: GatewayModel, subscription: Subscription, api_id: str) -> bool:
    if subscription.scope_kind == "all":
        return True
    if subscription.scope_kind == "api":
        return subscription.scope_id == api_id
    product = model.products.get(subscription.scope_id)
    return product is not None and api_id in product.api_ids
