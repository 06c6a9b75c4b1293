"""API policies and consumers: managed identity to backends, token limits, caller authentication."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from pulumi_policy import PolicyResource, ResourceValidationArgs

from .base import (
    API,
    API_POLICY,
    COGNITIVE_SERVICES_AUDIENCE,
    ENTRA_ID_POLICIES,
    PRODUCT,
    PRODUCT_POLICY,
    SUBSCRIPTION,
    TOKEN_LIMIT_POLICIES,
    Stack,
    elements,
    get,
    is_true,
    label,
    peek,
    resource_policy,
    stack_policy,
    text,
)


# == 3. API policies and consumers ======================================================================
@stack_policy(
    "api-policy-managed-identity",
    "The OpenAI API authenticates to its backends with the gateway's managed identity and strips the caller's "
    "key before forwarding.",
    "In the OpenAI API's policy (or a fragment it includes, here openai-load-balancing) add "
    "<authentication-managed-identity resource=\"https://cognitiveservices.azure.com\" .../> in inbound, set the "
    "Authorization header from its token, and <set-header name=\"api-key\" exists-action=\"delete\" /> so the "
    "caller's subscription key never reaches Azure OpenAI.",
)
def api_policy_managed_identity(stack: Stack, cfg: dict[str, Any]) -> Iterator[tuple[str, str | None]]:
    for api in stack.of_type(API):
        if not _is_openai_api(api):
            continue
        what = label(api.resource_type, api.name)
        policies = [p for p in stack.of_type(API_POLICY) if Stack.linked(p, "apiId", api, "apiId", "name")]
        if not policies:
            yield (f"{what} has no ApiPolicy: add one that includes the load-balancing fragment "
                   "(authentication-managed-identity, api-key removal).", api.urn)
            continue
        for policy in policies:
            document, missing = stack.effective_document(text(get(policy.props, "value")))
            where = f"ApiPolicy '{policy.name}' of {what}"
            if missing:
                where += f" (fragments {missing} it includes are not declared)"
            identities = [
                a for a in elements(document, "authentication-managed-identity")
                if a.get("resource", "").rstrip("/").lower() == COGNITIVE_SERVICES_AUDIENCE
            ]
            if not identities:
                yield (f"{where} does not authenticate to Azure OpenAI with a managed identity: add "
                       f"<authentication-managed-identity resource=\"{COGNITIVE_SERVICES_AUDIENCE}\"/> (directly or "
                       "in the included openai-load-balancing fragment).", policy.urn)
            for header in _caller_key_headers(api):
                if not any(
                    a.get("name", "").lower() == header and a.get("exists-action", "").lower() == "delete"
                    for a in elements(document, "set-header")
                ):
                    yield (f"{where} forwards the caller's '{header}' header to the backend: add <set-header "
                           f"name=\"{header}\" exists-action=\"delete\" /> in inbound.", policy.urn)


def _is_openai_api(api: PolicyResource) -> bool:
    names = (peek(api.props, k) for k in ("path", "apiId", "displayName", "name"))
    return any("openai" in n.lower() for n in names if isinstance(n, str))


def _caller_key_headers(api: PolicyResource) -> list[str]:
    """`api-key` (what OpenAI SDKs send), and the API's subscription key header if it is another one."""
    headers = ["api-key"]
    header = peek(api.props, "subscriptionKeyParameterNames.header")
    if isinstance(header, str) and header.lower() not in (*headers, "ocp-apim-subscription-key"):
        headers.append(header.lower())
    return headers


def _product_documents(stack: Stack, product: PolicyResource) -> list[str]:
    documents = []
    for policy in stack.of_type(PRODUCT_POLICY):
        if Stack.linked(policy, "productId", product, "productId", "name"):
            documents.append(stack.effective_document(text(get(policy.props, "value")))[0])
    return documents


@stack_policy(
    "product-token-limit",
    "Every consumer product limits the tokens its subscriptions may use.",
    "Give each apimanagement.Product a ProductPolicy with <llm-token-limit counter-key=\"@(context.Subscription.Id)\" "
    "tokens-per-minute=\"...\" estimate-prompt-tokens=\"true\" /> (or azure-openai-token-limit) in inbound; set "
    "the consumer's tokensPerMinute in the stack config.",
)
def product_token_limit(stack: Stack, cfg: dict[str, Any]) -> Iterator[tuple[str, str | None]]:
    for product in stack.of_type(PRODUCT):
        what = label(product.resource_type, product.name)
        documents = _product_documents(stack, product)
        if not documents:
            yield (f"{what} has no ProductPolicy, so its consumers have no token limit: add one with "
                   "<llm-token-limit>.", product.urn)
        elif not any(elements(d, tag) for d in documents for tag in TOKEN_LIMIT_POLICIES):
            yield (f"{what}'s ProductPolicy has no token limit: add <llm-token-limit counter-key="
                   "\"@(context.Subscription.Id)\" tokens-per-minute=\"...\" estimate-prompt-tokens=\"true\" />.",
                   product.urn)


@stack_policy(
    "consumer-auth-required",
    "No product or API can be called anonymously: each requires a subscription key or validates an Entra ID "
    "token.",
    "Set subscriptionRequired true on every apimanagement.Product and Api, or validate callers' Entra ID tokens "
    "with <validate-azure-ad-token> / <validate-jwt> in the product's (or API's) policy.",
)
def consumer_auth_required(stack: Stack, cfg: dict[str, Any]) -> Iterator[tuple[str, str | None]]:
    for product in stack.of_type(PRODUCT):
        if is_true(peek(product.props, "subscriptionRequired")):
            continue
        if any(elements(d, tag) for d in _product_documents(stack, product) for tag in ENTRA_ID_POLICIES):
            continue
        yield (f"{label(product.resource_type, product.name)} does not require a subscription and validates no "
               "Entra ID token: set subscriptionRequired true, or add <validate-azure-ad-token> to its policy.",
               product.urn)
    for api in stack.of_type(API):
        if is_true(peek(api.props, "subscriptionRequired")):
            continue
        documents = [
            stack.effective_document(text(get(p.props, "value")))[0]
            for p in stack.of_type(API_POLICY) if Stack.linked(p, "apiId", api, "apiId", "name")
        ]
        if any(elements(d, tag) for d in documents for tag in ENTRA_ID_POLICIES):
            continue
        yield (f"{label(api.resource_type, api.name)} does not require a subscription and validates no Entra ID "
               "token: set subscriptionRequired true, or add <validate-azure-ad-token> to its policy.", api.urn)


@resource_policy(
    "subscription-keys-not-inline",
    "Subscription keys are generated by API Management, never written into the program or its config.",
    (SUBSCRIPTION,),
    "Remove primaryKey/secondaryKey from the apimanagement.Subscription: API Management generates them. Read them "
    "with apimanagement.list_subscription_secrets_output and export them only with pulumi.Output.secret. (The "
    "engine hands policies secret inputs unwrapped, so any key input is flagged, secret or not.)",
)
def subscription_keys_not_inline(args: ResourceValidationArgs, cfg: dict[str, Any]) -> Iterator[str]:
    for key in ("primaryKey", "secondaryKey"):
        if peek(args.props, key):
            yield (f"{label(args.resource_type, args.name)} sets {key} as an input, so the key lives in code, config "
                   f"and state: remove {key} and let API Management generate it.")
