"""Identity and access: no key authentication (stated exceptions only), least-privilege roles."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from pulumi_policy import PolicyConfigSchema, PolicyResource, ResourceValidationArgs

from .base import (
    ADVISORY,
    APP_INSIGHTS,
    COGNITIVE_ACCOUNT,
    DATA_PLANE_ROLES,
    EVENTHUB_NAMESPACE,
    KEY_VAULT,
    PRIVILEGED_ROLES,
    REDIS_CACHE,
    REDIS_DATABASE,
    ROLE_ASSIGNMENT,
    STORAGE_ACCOUNT,
    Stack,
    _strings,
    get,
    is_false,
    is_true,
    label,
    last_segment,
    peek,
    resource_policy,
    same,
    stack_policy,
)

# The tag that states why a resource keeps key authentication (set by the component that needs it).
LOCAL_AUTH_EXCEPTION_TAG = "localAuthException"
# Stated exceptions: API Management can only send a key to these. (Content Safety is no longer one: its backend
# authenticates with a managed identity, components/content_safety.py.)
STATED_LOCAL_AUTH_EXCEPTIONS = (
    "apim-external-cache-connection-string",  # APIM external cache (apimanagement.Cache): connection string
)


def _key_auth_finding(resource: PolicyResource) -> str | None:
    """How `resource` accepts keys, with the fix; None when it accepts Entra ID tokens only."""
    props, what, kind = resource.props, label(resource.resource_type, resource.name), resource.resource_type
    if kind == COGNITIVE_ACCOUNT and not is_true(get(props, "properties.disableLocalAuth")):
        return f"{what} accepts API keys: set properties.disableLocalAuth to true and call it with Entra ID."
    if kind in (EVENTHUB_NAMESPACE, APP_INSIGHTS) and not is_true(get(props, "disableLocalAuth")):
        return f"{what} accepts keys (SAS / instrumentation key): set disableLocalAuth to true."
    if kind == STORAGE_ACCOUNT and not is_false(get(props, "allowSharedKeyAccess")):
        return f"{what} accepts account keys and SAS: set allowSharedKeyAccess to false."
    if kind == KEY_VAULT and not is_true(get(props, "properties.enableRbacAuthorization")):
        return (f"{what} uses access policies: set properties.enableRbacAuthorization to true and grant Key Vault "
                "Secrets User.")
    if kind == REDIS_DATABASE and not same(get(props, "accessKeysAuthentication"), "Disabled"):
        return f"{what} accepts access keys: set accessKeysAuthentication to Disabled and use Entra ID."
    if kind == REDIS_CACHE and not is_true(get(props, "disableAccessKeyAuthentication")):
        return f"{what} accepts access keys: set disableAccessKeyAuthentication to true and use Entra ID."
    return None


def _stated_exception(resource: PolicyResource) -> str | None:
    """The `localAuthException` tag of the resource, or of its parent (a Redis database has no tags)."""
    for holder in (resource, resource.parent):
        if holder is not None:
            reason = peek(holder.props, f"tags.{LOCAL_AUTH_EXCEPTION_TAG}")
            if isinstance(reason, str) and reason:
                return reason
    return None


_KEY_AUTH_TYPES = (COGNITIVE_ACCOUNT, EVENTHUB_NAMESPACE, STORAGE_ACCOUNT, APP_INSIGHTS, KEY_VAULT, REDIS_DATABASE,
                   REDIS_CACHE)
_EXCEPTIONS_SCHEMA = PolicyConfigSchema(
    {
        "allowedExceptions": _strings(
            f"Values of the {LOCAL_AUTH_EXCEPTION_TAG} tag under which a resource may keep key auth.",
            STATED_LOCAL_AUTH_EXCEPTIONS,
        )
    }
)


@stack_policy(
    "no-local-auth",
    "Services the gateway calls accept Entra ID (managed identity) tokens only: no account keys, SAS or access "
    "keys, except where API Management can only send a key and the exception is stated.",
    "Cognitive Services: properties.disableLocalAuth true; Event Hubs and Application Insights: disableLocalAuth "
    "true; storage: allowSharedKeyAccess false; Key Vault: properties.enableRbacAuthorization true; Redis "
    "Enterprise database: accessKeysAuthentication Disabled; Azure Cache for Redis: "
    "disableAccessKeyAuthentication true. Grant the gateway's identity a data-plane role instead. Where API "
    "Management can only send a key (the external cache's connection string), "
    f"tag the resource (or the Redis cluster of a database) {LOCAL_AUTH_EXCEPTION_TAG}=<reason> with a reason "
    "listed in allowedExceptions; local-auth-exceptions then reports it on every plan.",
    schema=_EXCEPTIONS_SCHEMA,
)
def no_local_auth(stack: Stack, cfg: dict[str, Any]) -> Iterator[tuple[str, str | None]]:
    allowed = set(cfg["allowedExceptions"])
    for resource in stack.of_type(*_KEY_AUTH_TYPES):
        finding = _key_auth_finding(resource)
        if finding is None:
            continue
        reason = _stated_exception(resource)
        if reason in allowed:
            continue
        if reason:
            finding += (f" Its {LOCAL_AUTH_EXCEPTION_TAG} tag '{reason}' is not a stated exception "
                        f"({', '.join(sorted(allowed)) or 'none'}).")
        yield finding, resource.urn


@stack_policy(
    "local-auth-exceptions",
    "Every resource that keeps key authentication under a stated exception is reported, so reviewers see it in "
    "every plan.",
    "Nothing to fix while API Management can only send a key there: keep the key in Key Vault or a secret, the "
    "resource private (no public network access) and the exception tag on it. Remove the exception when a "
    "managed-identity credential becomes expressible.",
    level=ADVISORY,
    schema=_EXCEPTIONS_SCHEMA,
)
def local_auth_exceptions(stack: Stack, cfg: dict[str, Any]) -> Iterator[tuple[str, str | None]]:
    allowed = set(cfg["allowedExceptions"])
    for resource in stack.of_type(*_KEY_AUTH_TYPES):
        reason = _stated_exception(resource)
        if reason in allowed and _key_auth_finding(resource) is not None:
            yield (f"{label(resource.resource_type, resource.name)} keeps key authentication under the stated "
                   f"exception '{reason}' ({LOCAL_AUTH_EXCEPTION_TAG} tag): check that its key stays in Key Vault "
                   "or a secret and that it is reachable only privately.", resource.urn)


# == 4. identity and access ===========================================================================
_BROAD_SCOPE = re.compile(r"^/subscriptions/[^/]+(/resourceGroups/[^/]+)?/?$", re.IGNORECASE)


@resource_policy(
    "role-assignment-least-privilege",
    "Role assignments grant only allow-listed data-plane roles (never Owner, Contributor, User Access "
    "Administrator or Cognitive Services Contributor), on a single resource.",
    (ROLE_ASSIGNMENT,),
    "Grant the narrowest built-in data-plane role on the one resource the identity uses (e.g. Cognitive Services "
    "OpenAI User on the account, Azure Event Hubs Data Sender on the event hub). A new role is added to "
    "allowedRoleDefinitionIds in policies/config/<stack>.json after review.",
    schema=PolicyConfigSchema(
        {
            "allowedRoleDefinitionIds": _strings(
                "Built-in role definition GUIDs that may be assigned.", tuple(DATA_PLANE_ROLES)
            ),
            "forbiddenRoleDefinitionIds": _strings(
                "Role definition GUIDs that are never assigned.", tuple(PRIVILEGED_ROLES)
            ),
        }
    ),
)
def role_assignment_least_privilege(args: ResourceValidationArgs, cfg: dict[str, Any]) -> Iterator[str]:
    what = label(args.resource_type, args.name)
    role = last_segment(get(args.props, "roleDefinitionId")).lower()
    forbidden = {g.lower() for g in cfg["forbiddenRoleDefinitionIds"]}
    allowed = {g.lower() for g in cfg["allowedRoleDefinitionIds"]}
    if role in forbidden:
        yield (f"{what} grants {PRIVILEGED_ROLES.get(role, 'a privileged role')} ({role}), which manages resources "
               "or access: assign a data-plane role such as Cognitive Services OpenAI User instead.")
    elif role not in allowed:
        yield (f"{what} grants role {role or '(none)'}, which is not on the data-plane allow-list: use one of "
               f"{', '.join(sorted(DATA_PLANE_ROLES.values()))}, or add it to allowedRoleDefinitionIds after review.")
    scope = peek(args.props, "scope")
    if isinstance(scope, str) and _BROAD_SCOPE.match(scope):
        yield (f"{what} is scoped to {scope}: assign the role on the single resource the identity uses, not a "
               "subscription or resource group.")
