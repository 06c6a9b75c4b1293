"""Guardrails of the GenAI gateway, as pulumi-policy policies.

Used two ways, with the same objects:
- by the Pulumi CLI: `policies/__main__.py` builds the `PolicyPack` from `POLICIES`
  (`pulumi preview --policy-pack policies --policy-pack-config policies/config/<stack>.json`);
- offline by `python -m tools.plan`: `tools/guardrails.py` builds `ResourceValidationArgs` /
  `StackValidationArgs` from the recorded resources the way the engine does and calls each policy's
  `validate`.

What a validator sees, as the engine hands it over:
- resource policies get the resource's input properties, camelCase at every level (`disableLocalAuth`),
  numbers as floats, secrets unwrapped to their plain value, values unknown during preview as sentinels that
  raise `UnknownValueError` when read (the engine then reports "can't run policy during preview" as advisory);
- stack policies get every resource with its properties, options (`protect`, `parent`), `dependencies` and
  `property_dependencies`. The CLI passes the resources' outputs there; azure-native echoes the inputs in
  its outputs. Offline the same inputs are passed. To work in a preview, where ids of new resources are
  still unknown, stack policies follow `parent` and `property_dependencies` to link resources (a private
  endpoint to the account it targets, a policy to its API), and compare ids only when both are known.
- pulumi-policy stack validation does not see stack outputs. `PLAN_ONLY_RULES` (no secret in a plain
  output) are therefore evaluated by the offline plan only, on the recorded stack outputs; they report the
  same way.

Every violation message names the resource and says how to fix it. Levels per stack come from
`policies/config/<stack>.json` (pack configuration); the level given here is the default.

One module per area (`network`, `identity`, `backends`, `consumers`, `apim`, `production`,
`plan_only`), sharing `base`; this package re-exports every rule and the shared names, so
`from policies.rules import ...` works for the CLI entry point, the offline plan and the tests.
"""

from __future__ import annotations

from pulumi_policy import Policy

from .apim import (
    apim_diagnostic_no_payload,
    apim_hardened_protocols,
    apim_managed_identity,
    apim_min_api_version,
    apim_subnet_nsg_rules,
)
from .backends import (
    backend_circuit_breaker,
    backend_pool_shape,
    backend_pool_spillover,
)
from .base import (
    ADVISORY,
    API,
    API_DIAGNOSTIC,
    API_POLICY,
    APIM,
    APIM_INBOUND_RULES,
    APP_GATEWAY,
    APP_INSIGHTS,
    BACKEND,
    COGNITIVE_ACCOUNT,
    COGNITIVE_SERVICES_AUDIENCE,
    DATA_PLANE_ROLES,
    DIAGNOSTIC,
    ENTRA_ID_POLICIES,
    EVENTHUB_NAMESPACE,
    INJECTION_SKUS,
    KEY_VAULT,
    LEGACY_PROTOCOL_SETTINGS,
    MANDATORY,
    MAX_POOL_MEMBERS,
    MIN_CONTROL_PLANE_API_VERSION,
    NSG,
    OPENAI_DNS_ZONE,
    OPENAI_GROUP_ID,
    OPENAI_URL,
    PACK_DESCRIPTION,
    PACK_NAME,
    POLICY_FRAGMENT,
    PRIVATE_ENDPOINT,
    PRIVATE_ZONE,
    PRIVILEGED_ROLES,
    PRODUCT,
    PRODUCT_POLICY,
    REDIS_CACHE,
    REDIS_DATABASE,
    REDIS_ENTERPRISE,
    ROLE_ASSIGNMENT,
    SECURITY_RULE,
    SIMULATED_PTU_TAG,
    STATEFUL_TYPES,
    STORAGE_ACCOUNT,
    SUBNET,
    SUBSCRIPTION,
    TOKEN_LIMIT_POLICIES,
    UNKNOWN,
    WAF_POLICY,
    WORKSPACE,
    ZONE_GROUP,
    ResourceCheck,
    Stack,
    StackCheck,
    config,
    elements,
    get,
    included_fragments,
    is_false,
    is_true,
    items,
    label,
    last_segment,
    number,
    peek,
    resource_policy,
    same,
    short_type,
    stack_policy,
    text,
)
from .consumers import (
    api_policy_managed_identity,
    consumer_auth_required,
    product_token_limit,
    subscription_keys_not_inline,
)
from .identity import (
    LOCAL_AUTH_EXCEPTION_TAG,
    STATED_LOCAL_AUTH_EXCEPTIONS,
    local_auth_exceptions,
    no_local_auth,
    role_assignment_least_privilege,
)
from .network import (
    no_public_network_access,
    openai_private_endpoint,
    tls_minimum,
)
from .plan_only import PLAN_ONLY_RULES, PlanOnlyRule
from .production import (
    prod_no_simulated_ptu,
    prod_protect_stateful,
    prod_waf_prevention,
    prod_zone_redundancy,
)

POLICIES: list[Policy] = [
    no_public_network_access,
    no_local_auth,
    local_auth_exceptions,
    tls_minimum,
    openai_private_endpoint,
    backend_circuit_breaker,
    backend_pool_shape,
    backend_pool_spillover,
    api_policy_managed_identity,
    product_token_limit,
    consumer_auth_required,
    subscription_keys_not_inline,
    role_assignment_least_privilege,
    apim_hardened_protocols,
    apim_min_api_version,
    apim_managed_identity,
    apim_diagnostic_no_payload,
    apim_subnet_nsg_rules,
    prod_zone_redundancy,
    prod_waf_prevention,
    prod_protect_stateful,
    prod_no_simulated_ptu,
]

Rule = Policy | PlanOnlyRule
# Every rule: what the Pulumi CLI runs, then what only the offline plan runs.
ALL_RULES: list[Rule] = [*POLICIES, *PLAN_ONLY_RULES]

__all__ = [
    "ADVISORY",
    "ALL_RULES",
    "API",
    "APIM",
    "APIM_INBOUND_RULES",
    "API_DIAGNOSTIC",
    "API_POLICY",
    "APP_GATEWAY",
    "APP_INSIGHTS",
    "BACKEND",
    "COGNITIVE_ACCOUNT",
    "COGNITIVE_SERVICES_AUDIENCE",
    "DATA_PLANE_ROLES",
    "DIAGNOSTIC",
    "ENTRA_ID_POLICIES",
    "EVENTHUB_NAMESPACE",
    "INJECTION_SKUS",
    "KEY_VAULT",
    "LEGACY_PROTOCOL_SETTINGS",
    "LOCAL_AUTH_EXCEPTION_TAG",
    "MANDATORY",
    "MAX_POOL_MEMBERS",
    "MIN_CONTROL_PLANE_API_VERSION",
    "NSG",
    "OPENAI_DNS_ZONE",
    "OPENAI_GROUP_ID",
    "OPENAI_URL",
    "PACK_DESCRIPTION",
    "PACK_NAME",
    "PLAN_ONLY_RULES",
    "POLICIES",
    "POLICY_FRAGMENT",
    "PRIVATE_ENDPOINT",
    "PRIVATE_ZONE",
    "PRIVILEGED_ROLES",
    "PRODUCT",
    "PRODUCT_POLICY",
    "REDIS_CACHE",
    "REDIS_DATABASE",
    "REDIS_ENTERPRISE",
    "ROLE_ASSIGNMENT",
    "SECURITY_RULE",
    "SIMULATED_PTU_TAG",
    "STATED_LOCAL_AUTH_EXCEPTIONS",
    "STATEFUL_TYPES",
    "STORAGE_ACCOUNT",
    "SUBNET",
    "SUBSCRIPTION",
    "TOKEN_LIMIT_POLICIES",
    "UNKNOWN",
    "WAF_POLICY",
    "WORKSPACE",
    "ZONE_GROUP",
    "PlanOnlyRule",
    "ResourceCheck",
    "Rule",
    "Stack",
    "StackCheck",
    "api_policy_managed_identity",
    "apim_diagnostic_no_payload",
    "apim_hardened_protocols",
    "apim_managed_identity",
    "apim_min_api_version",
    "apim_subnet_nsg_rules",
    "backend_circuit_breaker",
    "backend_pool_shape",
    "backend_pool_spillover",
    "config",
    "consumer_auth_required",
    "elements",
    "get",
    "included_fragments",
    "is_false",
    "is_true",
    "items",
    "label",
    "last_segment",
    "local_auth_exceptions",
    "no_local_auth",
    "no_public_network_access",
    "number",
    "openai_private_endpoint",
    "peek",
    "prod_no_simulated_ptu",
    "prod_protect_stateful",
    "prod_waf_prevention",
    "prod_zone_redundancy",
    "product_token_limit",
    "resource_policy",
    "role_assignment_least_privilege",
    "same",
    "short_type",
    "stack_policy",
    "subscription_keys_not_inline",
    "text",
    "tls_minimum",
]
