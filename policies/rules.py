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
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pulumi_policy import (
    EnforcementLevel,
    Policy,
    PolicyConfigSchema,
    PolicyResource,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    Secret,
    StackValidationArgs,
    StackValidationPolicy,
    proxy,
)
from pulumi_policy.proxy import UnknownValueError

PACK_NAME = "genai-gateway-guardrails"
PACK_DESCRIPTION = (
    "Guardrails of the GenAI gateway on Azure API Management: private, key-less model capacity, resilient "
    "backends, keyless and token-limited API policies, least-privilege roles and production resilience."
)

MANDATORY = EnforcementLevel.MANDATORY
ADVISORY = EnforcementLevel.ADVISORY

# -- resource types ------------------------------------------------------------------------------------
COGNITIVE_ACCOUNT = "azure-native:cognitiveservices:Account"
EVENTHUB_NAMESPACE = "azure-native:eventhub:Namespace"
STORAGE_ACCOUNT = "azure-native:storage:StorageAccount"
KEY_VAULT = "azure-native:keyvault:Vault"
REDIS_ENTERPRISE = "azure-native:redisenterprise:RedisEnterprise"
REDIS_DATABASE = "azure-native:redisenterprise:Database"
REDIS_CACHE = "azure-native:cache:Redis"
APP_INSIGHTS = "azure-native:applicationinsights:Component"
WORKSPACE = "azure-native:operationalinsights:Workspace"
APP_GATEWAY = "azure-native:network:ApplicationGateway"
WAF_POLICY = "azure-native:network:WebApplicationFirewallPolicy"
PRIVATE_ENDPOINT = "azure-native:network:PrivateEndpoint"
ZONE_GROUP = "azure-native:network:PrivateDnsZoneGroup"
PRIVATE_ZONE = "azure-native:privatedns:PrivateZone"
SUBNET = "azure-native:network:Subnet"
NSG = "azure-native:network:NetworkSecurityGroup"
SECURITY_RULE = "azure-native:network:SecurityRule"
ROLE_ASSIGNMENT = "azure-native:authorization:RoleAssignment"
APIM = "azure-native:apimanagement:ApiManagementService"
BACKEND = "azure-native:apimanagement:Backend"
API = "azure-native:apimanagement:Api"
API_POLICY = "azure-native:apimanagement:ApiPolicy"
POLICY_FRAGMENT = "azure-native:apimanagement:PolicyFragment"
PRODUCT = "azure-native:apimanagement:Product"
PRODUCT_POLICY = "azure-native:apimanagement:ProductPolicy"
SUBSCRIPTION = "azure-native:apimanagement:Subscription"
DIAGNOSTIC = "azure-native:apimanagement:Diagnostic"
API_DIAGNOSTIC = "azure-native:apimanagement:ApiDiagnostic"

# -- Azure facts the rules rely on -----------------------------------------------------------------------
OPENAI_GROUP_ID = "account"
OPENAI_DNS_ZONE = "privatelink.openai.azure.com"
COGNITIVE_SERVICES_AUDIENCE = "https://cognitiveservices.azure.com"
# A backend URL that reaches Azure OpenAI (an account endpoint + "openai").
# A backend URL that reaches Azure OpenAI: an openai.azure.com endpoint, or a multi-service endpoint + "/openai".
OPENAI_URL = re.compile(
    r"^https://[a-z0-9][a-z0-9-]*\.(openai\.azure\.com(/|$)|(cognitiveservices|services\.ai)\.azure\.com/openai(/|$))",
    re.IGNORECASE,
)
MAX_POOL_MEMBERS = 30
# Legacy protocols and the 3DES cipher that must be off on the gateway, client side and towards backends.
LEGACY_PROTOCOL_SETTINGS = tuple(
    f"Microsoft.WindowsAzure.ApiManagement.Gateway.Security.{key}"
    for key in (
        "Protocols.Tls10",
        "Protocols.Tls11",
        "Protocols.Ssl30",
        "Backend.Protocols.Tls10",
        "Backend.Protocols.Tls11",
        "Backend.Protocols.Ssl30",
        "Ciphers.TripleDes168",
    )
)
# Control-plane API versions before this one are retired.
MIN_CONTROL_PLANE_API_VERSION = "2021-08-01"
# Built-in roles that are never granted by this program: they manage resources or access, not data.
PRIVILEGED_ROLES: dict[str, str] = {
    "8e3af657-a8ff-443c-a75c-2fe8c4bcb635": "Owner",
    "b24988ac-6180-42a0-ab88-20f7382dd24c": "Contributor",
    "18d7d88d-d35e-4fb5-a5c3-7773c20a72d9": "User Access Administrator",
    "25fbc0a9-bd7c-42a3-aa1a-3b75d497ee68": "Cognitive Services Contributor",
}
# The data-plane roles the gateway's identities may hold (kept equal to components/access.py ROLE_DEFINITIONS).
DATA_PLANE_ROLES: dict[str, str] = {
    "5e0bd9bd-7b93-4f28-af87-19fc36ad61bd": "Cognitive Services OpenAI User",
    "a97b65f3-24c7-4388-baec-2e87135dc908": "Cognitive Services User",
    "2b629674-e913-4c01-ae53-ef4638d8f975": "Azure Event Hubs Data Sender",
    "3913510d-42f4-4e42-8a64-420c390055eb": "Monitoring Metrics Publisher",
    "ba92f5b4-2d11-453d-a403-e96b0029c9fe": "Storage Blob Data Contributor",
    "4633458b-17de-408a-b874-0445c86b69e6": "Key Vault Secrets User",
}
# Inbound rules the subnet of a classic VNet-injected API Management needs: (service tag, port, purpose).
APIM_INBOUND_RULES = (
    ("ApiManagement", 3443, "the management endpoint"),
    ("AzureLoadBalancer", 6390, "the Azure infrastructure load balancer"),
)
INJECTION_SKUS = ("Developer", "Premium")
TOKEN_LIMIT_POLICIES = ("llm-token-limit", "azure-openai-token-limit")
ENTRA_ID_POLICIES = ("validate-azure-ad-token", "validate-jwt")
SIMULATED_PTU_TAG = "ptu-simulated"
STATEFUL_TYPES = (APIM, WORKSPACE, COGNITIVE_ACCOUNT, EVENTHUB_NAMESPACE, STORAGE_ACCOUNT, KEY_VAULT)


# -- reading properties -------------------------------------------------------------------------------
class _Unknown:
    def __repr__(self) -> str:
        return "<unknown during preview>"


UNKNOWN: Any = _Unknown()


def get(props: Any, path: str, default: Any = None) -> Any:
    """A nested property by dotted path (`properties.networkAcls.defaultAction`, `rules.0.name`).

    Missing keys give `default`; a value unknown during preview raises `UnknownValueError`, as the engine's
    property proxy does, so the engine reports that the policy can't run yet.
    """
    value = props
    for part in path.split("."):
        if isinstance(value, Mapping):
            try:
                value = value[part]
            except KeyError:
                return default
        elif _is_list(value) and part.isdigit():
            if int(part) >= len(value):
                return default
            value = value[int(part)]
        else:
            return default
        if isinstance(value, Secret):
            value = value.value
        if value is None:
            return default
    return value


def peek(props: Any, path: str, default: Any = None) -> Any:
    """Like `get`, but a value unknown during preview gives `UNKNOWN` instead of raising."""
    try:
        return get(props, path, default)
    except UnknownValueError:
        return UNKNOWN


_UNKNOWN_SENTINELS = frozenset(
    getattr(proxy, name) for name in dir(proxy) if name.startswith("UNKNOWN_") and name.endswith("_VALUE")
)


def _is_unknown(value: Any) -> bool:
    """Whether a raw value is the engine's "unknown during preview" sentinel."""
    return isinstance(value, str) and value in _UNKNOWN_SENTINELS


def _is_list(value: Any) -> bool:
    return isinstance(value, Sequence) and not isinstance(value, str | bytes)


def items(value: Any) -> list[Any]:
    """A list property as a list (missing or not a list: empty)."""
    return list(value) if _is_list(value) else []


def text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def same(a: Any, b: Any) -> bool:
    """Case-insensitive equality of two known strings (Azure enums and ids are case-insensitive)."""
    return isinstance(a, str) and isinstance(b, str) and a.lower() == b.lower()


def is_true(value: Any) -> bool:
    return value is True or (isinstance(value, str) and value.lower() == "true")


def is_false(value: Any) -> bool:
    return value is False or (isinstance(value, str) and value.lower() == "false")


def number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return None
    return None


def last_segment(resource_id: Any) -> str:
    return text(resource_id).rstrip("/").rsplit("/", 1)[-1]


def short_type(resource_type: str) -> str:
    """`azure-native:apimanagement:Backend` -> `apimanagement:Backend`."""
    return resource_type.split(":", 1)[1] if resource_type.startswith("azure-native:") else resource_type


def label(resource_type: str, name: str) -> str:
    return f"{short_type(resource_type)} '{name}'"


def config(args: ResourceValidationArgs | StackValidationArgs, schema: PolicyConfigSchema | None) -> dict[str, Any]:
    """The policy's configuration with the schema's defaults filled in (the CLI does the same)."""
    values: dict[str, Any] = {}
    if schema is not None:
        values = {k: v["default"] for k, v in schema.properties.items() if "default" in v}
    values.update(args.get_config() or {})
    return values


# -- reading policy documents -------------------------------------------------------------------------
_ELEMENT = re.compile(r"<\s*([A-Za-z][\w.-]*)((?:[^>\"']|\"[^\"]*\"|'[^']*')*)>", re.DOTALL)
_ATTRIBUTE = re.compile(r"([\w.:-]+)\s*=\s*(?:\"([^\"]*)\"|'([^']*)')", re.DOTALL)


def elements(document: str, tag: str) -> list[dict[str, str]]:
    """The attributes of every `<tag ...>` in a policy document (rawxml: expressions may hold quotes)."""
    found = []
    for match in _ELEMENT.finditer(document):
        if match.group(1).lower() == tag.lower():
            found.append(
                {a.group(1).lower(): a.group(2) if a.group(2) is not None else a.group(3)
                 for a in _ATTRIBUTE.finditer(match.group(2))}
            )
    return found


def included_fragments(document: str) -> list[str]:
    return [a["fragment-id"] for a in elements(document, "include-fragment") if a.get("fragment-id")]


# -- linking resources in a stack ---------------------------------------------------------------------
class Stack:
    """The resources a stack policy receives, with the links the rules follow."""

    def __init__(self, resources: Sequence[PolicyResource]) -> None:
        self.resources = list(resources)

    def of_type(self, *types: str) -> list[PolicyResource]:
        return [r for r in self.resources if r.resource_type in types]

    @staticmethod
    def linked(resource: PolicyResource, prop: str, target: PolicyResource, *target_keys: str) -> bool:
        """Whether `resource` points at `target` through input `prop`.

        True when `target` is its parent, when the engine records `prop` as depending on `target`, or when the
        known value of `prop` equals `target`'s known id, or one of `target_keys` (e.g. its `apiId`).
        """
        if resource.parent is target:
            return True
        if any(d is target for d in resource.property_dependencies.get(prop, [])):
            return True
        value = peek(resource.props, prop)
        if not isinstance(value, str):
            return False
        candidates = [peek(target.props, "id")] + [peek(target.props, k) for k in target_keys]
        return any(same(value, c) or same(last_segment(value), c) for c in candidates if isinstance(c, str) and c)

    @staticmethod
    def depends_on(resource: PolicyResource, prop: str, target: PolicyResource) -> bool:
        return any(d is target for d in resource.property_dependencies.get(prop, []))

    def fragments(self) -> dict[str, str]:
        """Policy fragment id -> its document. The id is the `id` input (the ARM id's last segment in outputs)."""
        found = {}
        for fragment in self.of_type(POLICY_FRAGMENT):
            fragment_id = last_segment(peek(fragment.props, "id")) or text(peek(fragment.props, "name"))
            found[fragment_id] = text(peek(fragment.props, "value"))
        return found

    def effective_document(self, document: str) -> tuple[str, list[str]]:
        """A policy document with the documents of the fragments it includes; and the missing fragment ids."""
        fragments = self.fragments()
        parts, missing = [document], []
        for fragment_id in included_fragments(document):
            if fragment_id in fragments:
                parts.append(fragments[fragment_id])
            else:
                missing.append(fragment_id)
        return "\n".join(parts), missing


# -- building policies ------------------------------------------------------------------------------
ResourceCheck = Callable[[ResourceValidationArgs, dict[str, Any]], Iterable[str]]
StackCheck = Callable[[Stack, dict[str, Any]], Iterable[tuple[str, str | None]]]


def resource_policy(
    name: str,
    description: str,
    types: Sequence[str],
    remediation: str,
    level: EnforcementLevel = MANDATORY,
    schema: PolicyConfigSchema | None = None,
) -> Callable[[ResourceCheck], ResourceValidationPolicy]:
    """A resource policy for `types` whose check yields one message per violation."""

    def build(check: ResourceCheck) -> ResourceValidationPolicy:
        def validate(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
            if args.resource_type not in types:
                return
            for message in check(args, config(args, schema)):
                report_violation(message, None)

        return ResourceValidationPolicy(
            name=name,
            description=description,
            validate=validate,
            enforcement_level=level,
            config_schema=schema,
            remediation_steps=remediation,
        )

    return build


def stack_policy(
    name: str,
    description: str,
    remediation: str,
    level: EnforcementLevel = MANDATORY,
    schema: PolicyConfigSchema | None = None,
) -> Callable[[StackCheck], StackValidationPolicy]:
    """A stack policy whose check yields (message, urn of the offending resource or None) per violation."""

    def build(check: StackCheck) -> StackValidationPolicy:
        def validate(args: StackValidationArgs, report_violation: ReportViolation) -> None:
            for message, urn in check(Stack(args.resources), config(args, schema)):
                report_violation(message, urn)

        return StackValidationPolicy(
            name=name,
            description=description,
            validate=validate,
            enforcement_level=level,
            config_schema=schema,
            remediation_steps=remediation,
        )

    return build


def _strings(description: str, default: Sequence[str]) -> dict[str, Any]:
    return {"type": "array", "items": {"type": "string"}, "description": description, "default": list(default)}


# == 1. network isolation ==============================================================================
@resource_policy(
    "no-public-network-access",
    "Azure OpenAI (and every Cognitive Services account), Event Hubs, Key Vault, Redis and storage accounts "
    "take no traffic from public networks.",
    (COGNITIVE_ACCOUNT, EVENTHUB_NAMESPACE, KEY_VAULT, REDIS_ENTERPRISE, REDIS_CACHE, STORAGE_ACCOUNT),
    "Set publicNetworkAccess to Disabled (Cognitive Services and Key Vault: under properties) and reach the "
    "service through a private endpoint. Cognitive Services accounts also set networkAcls.defaultAction Deny. "
    "A storage account that a trusted Azure service writes to from outside the VNet (Event Hubs Capture) may "
    "keep its endpoint on only behind a deny-all firewall: networkRuleSet defaultAction Deny, no IP or VNet "
    "rules, bypass AzureServices.",
    schema=PolicyConfigSchema(
        {
            "allowTrustedServicesFirewall": {
                "type": "boolean",
                "default": True,
                "description": "Accept a storage account whose public endpoint is on behind a deny-all firewall "
                "that only trusted Azure services bypass (Event Hubs Capture needs it).",
            }
        }
    ),
)
def no_public_network_access(args: ResourceValidationArgs, cfg: dict[str, Any]) -> Iterator[str]:
    props, what = args.props, label(args.resource_type, args.name)
    if args.resource_type == COGNITIVE_ACCOUNT:
        access = get(props, "properties.publicNetworkAccess")
        if not same(access, "Disabled"):
            yield (f"{what} has properties.publicNetworkAccess {access or 'unset (Enabled)'}: set it to Disabled and "
                   "reach the account through its private endpoint.")
        default_action = get(props, "properties.networkAcls.defaultAction")
        if not same(default_action, "Deny"):
            yield (f"{what} has properties.networkAcls.defaultAction {default_action or 'unset (Allow)'}: set it "
                   "to Deny with no IP or virtual network rules.")
    elif args.resource_type == KEY_VAULT:
        access = get(props, "properties.publicNetworkAccess")
        if not same(access, "Disabled"):
            yield (f"{what} has properties.publicNetworkAccess {access or 'unset (Enabled)'}: set it to Disabled "
                   "and use a private endpoint (group vault, zone privatelink.vaultcore.azure.net).")
    elif args.resource_type == STORAGE_ACCOUNT:
        if is_true(get(props, "allowBlobPublicAccess")):
            yield f"{what} allows anonymous blob access: set allowBlobPublicAccess to false."
        access = get(props, "publicNetworkAccess")
        if same(access, "Disabled"):
            return
        rules = get(props, "networkRuleSet") or {}
        deny_all = (
            same(get(rules, "defaultAction"), "Deny")
            and not items(get(rules, "ipRules"))
            and not items(get(rules, "virtualNetworkRules"))
        )
        if not (cfg["allowTrustedServicesFirewall"] and deny_all):
            yield (f"{what} has publicNetworkAccess {access or 'unset (Enabled)'} without a deny-all firewall: set "
                   "publicNetworkAccess to Disabled, or (only for a trusted-service writer such as Event Hubs "
                   "Capture) networkRuleSet defaultAction Deny with no ipRules or virtualNetworkRules and bypass "
                   "AzureServices.")
    else:  # Event Hubs namespace, Redis
        access = get(props, "publicNetworkAccess")
        if not same(access, "Disabled"):
            yield (f"{what} has publicNetworkAccess {access or 'unset (Enabled)'}: set it to Disabled and reach it "
                   "through its private endpoint.")


# The tag that states why a resource keeps key authentication (set by the component that needs it).
LOCAL_AUTH_EXCEPTION_TAG = "localAuthException"
# Stated exceptions: API Management can only send a key to these (no managed-identity credential in ARM).
STATED_LOCAL_AUTH_EXCEPTIONS = (
    "llm-content-safety-backend-credentials",  # backend entity of llm-content-safety: header from Key Vault
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
    "Management can only send a key (the llm-content-safety backend, the external cache's connection string), "
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


_MODERN_TLS = ("1.2", "1.3")
_MODERN_APP_GATEWAY_POLICIES = ("AppGwSslPolicy20170401S", "AppGwSslPolicy20220101", "AppGwSslPolicy20220101S")


@resource_policy(
    "tls-1-2-minimum",
    "Every service that has a minimum TLS setting requires TLS 1.2 or later.",
    (EVENTHUB_NAMESPACE, STORAGE_ACCOUNT, REDIS_ENTERPRISE, REDIS_CACHE, APP_GATEWAY),
    "Event Hubs and Redis: minimumTlsVersion '1.2'; storage: minimumTlsVersion TLS1_2 and "
    "enableHttpsTrafficOnly true; Application Gateway: sslPolicy Predefined AppGwSslPolicy20220101 (or Custom "
    "with minProtocolVersion TLSv1_2). API Management's protocols are checked by apim-hardened-protocols.",
)
def tls_minimum(args: ResourceValidationArgs, cfg: dict[str, Any]) -> Iterator[str]:
    props, what, kind = args.props, label(args.resource_type, args.name), args.resource_type
    if kind == STORAGE_ACCOUNT:
        version = get(props, "minimumTlsVersion")
        if text(version).upper() not in ("TLS1_2", "TLS1_3"):
            yield f"{what} has minimumTlsVersion {version or 'unset'}: set it to TLS1_2."
        if is_false(get(props, "enableHttpsTrafficOnly")):
            yield f"{what} accepts plain HTTP: set enableHttpsTrafficOnly to true."
    elif kind == APP_GATEWAY:
        policy = get(props, "sslPolicy") or {}
        policy_type, policy_name = get(policy, "policyType"), get(policy, "policyName")
        minimum = get(policy, "minProtocolVersion")
        ok = (same(policy_type, "Predefined") and text(policy_name) in _MODERN_APP_GATEWAY_POLICIES) or (
            text(policy_type).lower() in ("custom", "customv2") and text(minimum).upper() in ("TLSV1_2", "TLSV1_3")
        )
        if not ok:
            yield (f"{what} has sslPolicy {policy_type or 'unset'} {policy_name or minimum or ''}".rstrip()
                   + ": use policyType Predefined with policyName AppGwSslPolicy20220101 (TLS 1.2 minimum).")
    else:
        version = get(props, "minimumTlsVersion")
        if text(version) not in _MODERN_TLS:
            yield f"{what} has minimumTlsVersion {version or 'unset'}: set it to '1.2'."


@stack_policy(
    "openai-private-endpoint",
    "Every Azure OpenAI account is reached through a private endpoint (group 'account') registered in the "
    "privatelink.openai.azure.com zone by a DNS zone group.",
    "Create a network.PrivateEndpoint whose privateLinkServiceConnections target the account's id with groupIds "
    "['account'], and a network.PrivateDnsZoneGroup on that endpoint pointing at the privatelink.openai.azure.com "
    "private zone linked to the gateway's VNet (components/private_link.py private_endpoint does both).",
)
def openai_private_endpoint(stack: Stack, cfg: dict[str, Any]) -> Iterator[tuple[str, str | None]]:
    endpoints = stack.of_type(PRIVATE_ENDPOINT)
    for account in stack.of_type(COGNITIVE_ACCOUNT):
        if not same(peek(account.props, "kind"), "OpenAI"):
            continue
        what = label(account.resource_type, account.name)
        targeting = [pe for pe in endpoints if _targets(pe, account)]
        right_group = [pe for pe in targeting if _group_ids(pe) & {OPENAI_GROUP_ID}]
        if not targeting:
            yield (f"{what} has no private endpoint: add a PrivateEndpoint whose privateLinkServiceConnections "
                   f"target the account with groupIds ['{OPENAI_GROUP_ID}'].", account.urn)
            continue
        if not right_group:
            groups = sorted(set().union(*(_group_ids(pe) for pe in targeting)))
            yield (f"{what} is targeted by private endpoint(s) with groupIds {groups}: the Azure OpenAI "
                   f"sub-resource is '{OPENAI_GROUP_ID}'.", account.urn)
            continue
        zoned = False
        for pe in right_group:
            for zone_group in stack.of_type(ZONE_GROUP):
                if not Stack.linked(zone_group, "privateEndpointName", pe, "privateEndpointName", "name"):
                    continue
                configs = items(get(zone_group.props, "privateDnsZoneConfigs"))
                if not configs:
                    continue
                zones = _zone_names(stack, zone_group)
                if zones and OPENAI_DNS_ZONE not in zones:
                    yield (f"{what}: DNS zone group '{zone_group.name}' registers endpoint '{pe.name}' in "
                           f"{sorted(zones)}; use the {OPENAI_DNS_ZONE} zone.", zone_group.urn)
                zoned = True
        if not zoned:
            names = ", ".join(f"'{pe.name}'" for pe in right_group)
            yield (f"{what}: private endpoint {names} has no DNS zone group, so the account's name does not resolve "
                   f"to it: add a PrivateDnsZoneGroup pointing at {OPENAI_DNS_ZONE}.", account.urn)


def _connections(pe: PolicyResource) -> list[Any]:
    return items(get(pe.props, "privateLinkServiceConnections")) + items(
        get(pe.props, "manualPrivateLinkServiceConnections")
    )


def _group_ids(pe: PolicyResource) -> set[str]:
    return {text(g).lower() for c in _connections(pe) for g in items(get(c, "groupIds"))}


def _targets(pe: PolicyResource, account: PolicyResource) -> bool:
    for prop in ("privateLinkServiceConnections", "manualPrivateLinkServiceConnections"):
        if Stack.depends_on(pe, prop, account):
            return True
    account_id = peek(account.props, "id")
    return any(same(peek(c, "privateLinkServiceId"), account_id) for c in _connections(pe))


def _zone_names(stack: Stack, zone_group: PolicyResource) -> set[str]:
    """Names of the private zones a zone group registers in, where they can be told during preview."""
    names = set()
    for zone in stack.of_type(PRIVATE_ZONE):
        if Stack.depends_on(zone_group, "privateDnsZoneConfigs", zone):
            names.add(text(peek(zone.props, "privateZoneName")).lower())
    for zone_config in items(get(zone_group.props, "privateDnsZoneConfigs")):
        zone_id = peek(zone_config, "privateDnsZoneId")
        if isinstance(zone_id, str) and "/privatednszones/" in zone_id.lower():
            names.add(last_segment(zone_id).lower())
    return {n for n in names if n}


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


# == 5. API Management service ========================================================================
@resource_policy(
    "apim-hardened-protocols",
    "API Management has TLS 1.0/1.1, SSL 3.0 and the 3DES cipher disabled, client side and towards backends.",
    (APIM,),
    "Set customProperties Microsoft.WindowsAzure.ApiManagement.Gateway.Security.{Protocols,Backend.Protocols}."
    "{Tls10,Tls11,Ssl30} and ...Ciphers.TripleDes168 to \"false\" (components/apim_baseline.py HARDENED_PROTOCOLS).",
)
def apim_hardened_protocols(args: ResourceValidationArgs, cfg: dict[str, Any]) -> Iterator[str]:
    custom = get(args.props, "customProperties") or {}
    # The keys hold dots: look them up whole, not as paths.
    settings = custom if isinstance(custom, Mapping) else {}
    weak = [key for key in LEGACY_PROTOCOL_SETTINGS if not is_false(settings.get(key))]
    if weak:
        names = ", ".join(k.rsplit("Security.", 1)[-1] for k in weak)
        yield (f"{label(args.resource_type, args.name)} leaves {names} enabled or unset: set each of these "
               "customProperties to \"false\".")


@resource_policy(
    "apim-min-api-version",
    f"API Management refuses control-plane API versions older than {MIN_CONTROL_PLANE_API_VERSION}.",
    (APIM,),
    f"Set apiVersionConstraint.minApiVersion to {MIN_CONTROL_PLANE_API_VERSION} or later (settings key "
    "apim.minApiVersion).",
)
def apim_min_api_version(args: ResourceValidationArgs, cfg: dict[str, Any]) -> Iterator[str]:
    version = text(get(args.props, "apiVersionConstraint.minApiVersion"))
    if not version or version[:10] < MIN_CONTROL_PLANE_API_VERSION:
        yield (f"{label(args.resource_type, args.name)} has apiVersionConstraint.minApiVersion {version or 'unset'}: "
               f"set it to {MIN_CONTROL_PLANE_API_VERSION} or later so retired API versions can't manage it.")


@resource_policy(
    "apim-managed-identity",
    "API Management has a managed identity, which it uses for Azure OpenAI, Event Hubs and Key Vault.",
    (APIM,),
    "Set identity.type to SystemAssigned, UserAssigned or 'SystemAssigned, UserAssigned' (with the gateway's "
    "user-assigned identity in userAssignedIdentities).",
)
def apim_managed_identity(args: ResourceValidationArgs, cfg: dict[str, Any]) -> Iterator[str]:
    kind = text(get(args.props, "identity.type"))
    if "assigned" not in kind.lower():
        yield (f"{label(args.resource_type, args.name)} has identity.type {kind or 'unset'}: give it a managed "
               "identity (SystemAssigned and/or UserAssigned) so policies authenticate without keys.")


_SENSITIVE_HEADERS = ("api-key", "authorization", "ocp-apim-subscription-key")


@resource_policy(
    "apim-diagnostic-no-payload",
    "API Management diagnostics never log request or response bodies (prompts, completions) or credential "
    "headers.",
    (DIAGNOSTIC, API_DIAGNOSTIC),
    "In every apimanagement.Diagnostic / ApiDiagnostic set frontend and backend request/response body.bytes to 0 "
    "and log no api-key, Authorization or Ocp-Apim-Subscription-Key header. Token counts go to metrics and the "
    "usage event hub instead.",
    schema=PolicyConfigSchema(
        {"forbiddenHeaders": _strings("Headers that are never logged (case-insensitive).", _SENSITIVE_HEADERS)}
    ),
)
def apim_diagnostic_no_payload(args: ResourceValidationArgs, cfg: dict[str, Any]) -> Iterator[str]:
    what = label(args.resource_type, args.name)
    forbidden = {h.lower() for h in cfg["forbiddenHeaders"]}
    for side in ("frontend", "backend"):
        for message in ("request", "response"):
            at = f"{side}.{message}"
            size = number(get(args.props, f"{at}.body.bytes")) or 0
            if size > 0:
                yield (f"{what} logs up to {int(size)} bytes of {side} {message} bodies (prompts or completions): "
                       f"set {at}.body.bytes to 0.")
            logged = sorted({text(h).lower() for h in items(get(args.props, f"{at}.headers"))} & forbidden)
            if logged:
                yield f"{what} logs credential header(s) {logged} in {at}.headers: remove them."


@stack_policy(
    "apim-subnet-nsg-rules",
    "The NSG of a VNet-injected API Management subnet allows the management endpoint (TCP 3443 from "
    "ApiManagement) and the infrastructure load balancer (TCP 6390 from AzureLoadBalancer).",
    "On the NSG of the API Management subnet add inbound Allow rules: ApiManagement -> VirtualNetwork TCP 3443 and "
    "AzureLoadBalancer -> VirtualNetwork TCP 6390, with no Deny rule of a smaller priority number in front of them "
    "(components/network_rules.py injected_apim_rules).",
)
def apim_subnet_nsg_rules(stack: Stack, cfg: dict[str, Any]) -> Iterator[tuple[str, str | None]]:
    for apim in stack.of_type(APIM):
        sku, mode = peek(apim.props, "sku.name"), peek(apim.props, "virtualNetworkType")
        if text(sku) not in INJECTION_SKUS or text(mode) not in ("External", "Internal"):
            continue  # no classic VNet injection: the v2 tiers integrate outbound only
        what = label(apim.resource_type, apim.name)
        subnets = [
            s for s in stack.of_type(SUBNET)
            if Stack.depends_on(apim, "virtualNetworkConfiguration", s)
            or same(peek(apim.props, "virtualNetworkConfiguration.subnetResourceId"), peek(s.props, "id"))
        ]
        if not subnets:
            yield (f"{what} is injected into a subnet this stack does not declare, so its NSG rules can't be "
                   "checked: declare the subnet and its NSG in the program, or disable this rule for the stack.",
                   apim.urn)
            continue
        for subnet in subnets:
            groups = [
                g for g in stack.of_type(NSG)
                if Stack.depends_on(subnet, "networkSecurityGroup", g)
                or same(peek(subnet.props, "networkSecurityGroup.id"), peek(g.props, "id"))
            ]
            if not groups:
                yield (f"{what}: its subnet '{subnet.name}' has no network security group: attach one with the "
                       "required inbound rules.", subnet.urn)
                continue
            for group in groups:
                rules = items(get(group.props, "securityRules")) + [
                    r.props for r in stack.of_type(SECURITY_RULE)
                    if Stack.linked(r, "networkSecurityGroupName", group, "networkSecurityGroupName", "name")
                ]
                for tag, port, purpose in APIM_INBOUND_RULES:
                    first = _first_inbound_match(rules, tag, port)
                    if first is None:
                        yield (f"{what}: NSG '{group.name}' of subnet '{subnet.name}' has no inbound rule allowing "
                               f"TCP {port} from {tag} ({purpose}): add one.", group.urn)
                    elif not same(get(first, "access"), "Allow"):
                        yield (f"{what}: NSG '{group.name}' denies TCP {port} from {tag} ({purpose}) with rule "
                               f"'{get(first, 'name')}' (priority {get(first, 'priority')}): add an Allow rule with a "
                               "smaller priority number.", group.urn)


def _port_covered(spec: Any, port: int) -> bool:
    spec = text(spec).strip()
    if spec in ("*", "Any"):
        return True
    if "-" in spec:
        low, _, high = spec.partition("-")
        return low.isdigit() and high.isdigit() and int(low) <= port <= int(high)
    return spec.isdigit() and int(spec) == port


def _first_inbound_match(rules: Sequence[Any], tag: str, port: int) -> Any:
    """The rule Azure applies first to inbound TCP `port` from service tag `tag` (None if no rule matches)."""
    matching = []
    for rule in rules:
        if not same(get(rule, "direction"), "Inbound") or text(get(rule, "protocol")).lower() not in ("tcp", "*"):
            continue
        sources = [get(rule, "sourceAddressPrefix"), *items(get(rule, "sourceAddressPrefixes"))]
        if not any(same(s, tag) or text(s) in ("*", "Any") for s in sources):
            continue
        ports = [get(rule, "destinationPortRange"), *items(get(rule, "destinationPortRanges"))]
        if any(_port_covered(p, port) for p in ports if p is not None):
            matching.append(rule)
    matching.sort(key=lambda r: number(get(r, "priority")) or 4096)
    return matching[0] if matching else None


# == 6. production ====================================================================================
@stack_policy(
    "prod-zone-redundancy",
    "Production spreads the gateway and its telemetry across availability zones.",
    "API Management: Premium with zones (at least minZones) and a capacity divisible by the number of zones "
    "(settings apim.sku, apim.zones, apim.capacity); Event Hubs: zoneRedundant true (telemetry.eventHub."
    "zoneRedundant); storage: a ZRS/GZRS SKU; Application Gateway: zones (ingress.zones).",
    level=ADVISORY,
    schema=PolicyConfigSchema(
        {"minZones": {"type": "integer", "minimum": 2, "default": 2, "description": "Zones a zonal resource spans."}}
    ),
)
def prod_zone_redundancy(stack: Stack, cfg: dict[str, Any]) -> Iterator[tuple[str, str | None]]:
    min_zones = int(cfg["minZones"])
    for apim in stack.of_type(APIM):
        what, sku = label(apim.resource_type, apim.name), text(get(apim.props, "sku.name"))
        zones = items(get(apim.props, "zones"))
        if sku != "Premium":
            yield (f"{what} uses SKU {sku or 'unset'}, which has no availability zones: use Premium with "
                   f"{min_zones}+ zones for production.", apim.urn)
        elif len(zones) < min_zones:
            yield (f"{what} spans {len(zones)} zone(s): set zones to at least {min_zones} (e.g. ['1', '2']).",
                   apim.urn)
        else:
            capacity = number(get(apim.props, "sku.capacity")) or 1
            if capacity % len(zones):
                yield (f"{what} has {int(capacity)} unit(s) across {len(zones)} zones: make the capacity a multiple "
                       "of the number of zones.", apim.urn)
    for namespace in stack.of_type(EVENTHUB_NAMESPACE):
        if not is_true(get(namespace.props, "zoneRedundant")):
            yield (f"{label(namespace.resource_type, namespace.name)} is not zone redundant: set zoneRedundant true.",
                   namespace.urn)
    for account in stack.of_type(STORAGE_ACCOUNT):
        sku = text(get(account.props, "sku.name"))
        if "ZRS" not in sku.upper():
            yield (f"{label(account.resource_type, account.name)} uses {sku or 'no SKU'}: use Standard_ZRS (or GZRS) "
                   "in production.", account.urn)
    for gateway in stack.of_type(APP_GATEWAY):
        if len(items(get(gateway.props, "zones"))) < min_zones:
            yield (f"{label(gateway.resource_type, gateway.name)} spans fewer than {min_zones} zones: set zones "
                   "(ingress.zones).", gateway.urn)


@stack_policy(
    "prod-waf-prevention",
    "Production traffic passes a Web Application Firewall that blocks (Prevention mode) with managed rules.",
    "Enable the Application Gateway ingress (ingress.enabled) with ingress.wafMode Prevention; every "
    "WebApplicationFirewallPolicy has policySettings state Enabled, mode Prevention and a managed rule set, and "
    "every Application Gateway links one through firewallPolicy.id.",
    level=ADVISORY,
    schema=PolicyConfigSchema(
        {"requireWaf": {"type": "boolean", "default": True, "description": "The stack must declare a WAF policy."}}
    ),
)
def prod_waf_prevention(stack: Stack, cfg: dict[str, Any]) -> Iterator[tuple[str, str | None]]:
    policies = stack.of_type(WAF_POLICY)
    if cfg["requireWaf"] and not policies:
        yield ("The stack declares no WebApplicationFirewallPolicy: enable the Application Gateway WAF ingress "
               "(ingress.enabled true, wafMode Prevention).", None)
    for policy in policies:
        what = label(policy.resource_type, policy.name)
        state, mode = get(policy.props, "policySettings.state"), get(policy.props, "policySettings.mode")
        if not same(state, "Enabled") or not same(mode, "Prevention"):
            yield (f"{what} is {state or 'unset'} in {mode or 'unset'} mode: set policySettings state Enabled and "
                   "mode Prevention (ingress.wafMode).", policy.urn)
        if not items(get(policy.props, "managedRules.managedRuleSets")):
            yield f"{what} has no managed rule set: add OWASP 3.2 or Microsoft_DefaultRuleSet 2.1.", policy.urn
    for gateway in stack.of_type(APP_GATEWAY):
        if not peek(gateway.props, "firewallPolicy.id") and not gateway.property_dependencies.get("firewallPolicy"):
            yield (f"{label(gateway.resource_type, gateway.name)} has no firewallPolicy: link the WAF policy.",
                   gateway.urn)


@stack_policy(
    "prod-protect-stateful",
    "Production protects stateful resources (API Management, Log Analytics, Cognitive Services accounts, Event "
    "Hubs, storage, Key Vault) from deletion by `pulumi destroy` or a replacement.",
    "Create the resource with pulumi.ResourceOptions(protect=True) (the components do so when settings.environment "
    "is prod); unprotect deliberately with `pulumi state unprotect` before removing it.",
    level=ADVISORY,
    schema=PolicyConfigSchema(
        {"statefulTypes": _strings("Resource types that must be protected.", STATEFUL_TYPES)}
    ),
)
def prod_protect_stateful(stack: Stack, cfg: dict[str, Any]) -> Iterator[tuple[str, str | None]]:
    for resource in stack.of_type(*cfg["statefulTypes"]):
        if not resource.opts.protect:
            yield (f"{label(resource.resource_type, resource.name)} is not protected: set protect=True in its "
                   "resource options.", resource.urn)


@stack_policy(
    "prod-no-simulated-ptu",
    "Production serves real provisioned throughput: no account stands in for PTU with pay-as-you-go deployments.",
    "Give the PTU account real ProvisionedManaged (or GlobalProvisionedManaged/DataZoneProvisionedManaged) "
    "deployments and drop `simulated: true` from openai.accounts in the stack config.",
    level=ADVISORY,
)
def prod_no_simulated_ptu(stack: Stack, cfg: dict[str, Any]) -> Iterator[tuple[str, str | None]]:
    for account in stack.of_type(COGNITIVE_ACCOUNT):
        if same(peek(account.props, "tags.capacityTier"), SIMULATED_PTU_TAG):
            yield (f"{label(account.resource_type, account.name)} is tagged capacityTier {SIMULATED_PTU_TAG}: its "
                   "pay-as-you-go deployments only simulate PTU; deploy provisioned capacity for production.",
                   account.urn)


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


# == plan-only rules ====================================================================================
@dataclass(frozen=True)
class PlanOnlyRule:
    """A rule on what pulumi-policy can't see (stack outputs); evaluated by the offline plan only.

    `validate(outputs, report_violation)` receives the stack outputs with secret values wrapped in
    `pulumi_policy.Secret` (values unknown before deployment as the engine's unknown sentinel).
    """

    name: str
    description: str
    enforcement_level: EnforcementLevel
    remediation_steps: str
    validate: Callable[[Mapping[str, Any], ReportViolation], None]


# Last word(s) of an output name that say it holds a secret ("tokens" is left out: tokensPerMinute, maxTokens).
_SECRET_WORDS = {"key", "keys", "secret", "secrets", "password", "passwords", "token", "credential", "credentials",
                 "sas", "connectionstring", "connectionstrings"}
_SECRET_PATTERNS = re.compile(
    r"AccountKey=|SharedAccessKey=|SharedAccessSignature|InstrumentationKey=|[?&]sig=|-----BEGIN [A-Z ]*PRIVATE KEY",
    re.IGNORECASE,
)


def _looks_secret(name: str) -> bool:
    """Whether an output name says it holds a secret: its last word is key, secret, password, token, ..."""
    words = re.findall(r"[A-Z]?[a-z0-9]+|[A-Z]+(?![a-z])", name)
    if not words:
        return False
    last = words[-1].lower()
    pair = "".join(w.lower() for w in words[-2:])
    return last in _SECRET_WORDS or pair in _SECRET_WORDS


def _check_outputs(outputs: Mapping[str, Any], report_violation: ReportViolation) -> None:
    secret_values: set[str] = set()

    def collect(value: Any, inside_secret: bool) -> None:
        if isinstance(value, Secret):
            collect(value.value, True)
        elif isinstance(value, Mapping):
            for v in value.values():
                collect(v, inside_secret)
        elif _is_list(value):
            for v in value:
                collect(v, inside_secret)
        elif inside_secret and isinstance(value, str) and len(value) >= 8 and not _is_unknown(value):
            secret_values.add(value)

    collect(outputs, False)

    def walk(value: Any, path: str, name: str) -> None:
        if isinstance(value, Secret):
            return
        if name and _looks_secret(name) and value not in (None, "", [], {}):
            report_violation(
                f"Stack output '{path}' is named like a secret but exported in plain text: wrap it in "
                "pulumi.Output.secret(...) (app teams read it with `pulumi stack output --show-secrets`).", None)
            return
        if isinstance(value, Mapping):
            for k, v in value.items():
                walk(v, f"{path}.{k}", str(k))
        elif _is_list(value):
            for i, v in enumerate(value):
                walk(v, f"{path}[{i}]", name)
        elif isinstance(value, str) and not _is_unknown(value) and (
            value in secret_values or _SECRET_PATTERNS.search(value)
        ):
            report_violation(
                f"Stack output '{path}' holds a secret value in plain text: export it with pulumi.Output.secret(...) "
                "or drop it from the outputs.", None)

    for key, value in outputs.items():
        walk(value, key, key)


PLAN_ONLY_RULES: list[PlanOnlyRule] = [
    PlanOnlyRule(
        name="no-secret-in-plain-output",
        description="No secret value in a plain stack output; subscription keys are exported as secrets only "
        "(checked by the offline plan: pulumi-policy does not see stack outputs).",
        enforcement_level=MANDATORY,
        remediation_steps="Export keys, connection strings and tokens with pulumi.Output.secret(...) (as "
        "consumerKeys is), or leave them out of the outputs.",
        validate=_check_outputs,
    ),
]

Rule = Policy | PlanOnlyRule
# Every rule: what the Pulumi CLI runs, then what only the offline plan runs.
ALL_RULES: list[Rule] = [*POLICIES, *PLAN_ONLY_RULES]
