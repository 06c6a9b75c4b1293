"""What every rule shares: resource types, Azure facts, reading properties and policy documents, the
links between resources in a stack (`Stack`), and the builders of resource and stack policies."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from pulumi_policy import (
    EnforcementLevel,
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
DEPLOYMENT = "azure-native:cognitiveservices:Deployment"
EVENTHUB_NAMESPACE = "azure-native:eventhub:Namespace"
EVENT_HUB = "azure-native:eventhub:EventHub"
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
ZONE_LINK = "azure-native:privatedns:VirtualNetworkLink"
RECORD_SET = "azure-native:privatedns:PrivateRecordSet"
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
KEY_VAULT_DNS_ZONE = "privatelink.vaultcore.azure.net"
COGNITIVE_SERVICES_AUDIENCE = "https://cognitiveservices.azure.com"
# A backend URL that reaches Azure OpenAI (an account endpoint + "openai").
# A backend URL that reaches Azure OpenAI: an openai.azure.com endpoint, or a multi-service endpoint + "/openai".
OPENAI_URL = re.compile(
    r"^https://[a-z0-9][a-z0-9-]*\.(openai\.azure\.com(/|$)|(cognitiveservices|services\.ai)\.azure\.com/openai(/|$))",
    re.IGNORECASE,
)
MAX_POOL_MEMBERS = 30
# Legacy protocols that must be off on the gateway, client side and towards backends.
_SECURITY = "Microsoft.WindowsAzure.ApiManagement.Gateway.Security"
LEGACY_PROTOCOL_SETTINGS = tuple(
    f"{_SECURITY}.{key}"
    for key in (
        "Protocols.Tls10",
        "Protocols.Tls11",
        "Protocols.Ssl30",
        "Backend.Protocols.Tls10",
        "Backend.Protocols.Tls11",
        "Backend.Protocols.Ssl30",
    )
)
# The cipher suites PSRule for Azure's Azure.APIM.Ciphers lists as weak or deprecated: 3DES, the TLS_RSA_WITH_AES_*
# suites and the ECDHE CBC suites (https://azure.github.io/PSRule.Rules.Azure/en/rules/Azure.APIM.Ciphers/).
WEAK_CIPHER_SUITES = (
    "TripleDes168",
    "TLS_RSA_WITH_AES_128_CBC_SHA",
    "TLS_RSA_WITH_AES_256_CBC_SHA",
    "TLS_RSA_WITH_AES_128_CBC_SHA256",
    "TLS_RSA_WITH_AES_256_CBC_SHA256",
    "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA",
    "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA",
    "TLS_RSA_WITH_AES_128_GCM_SHA256",
)
WEAK_CIPHER_SETTINGS = tuple(f"{_SECURITY}.Ciphers.{suite}" for suite in WEAK_CIPHER_SUITES)
# Application Gateway predefined TLS policies with TLS 1.2 as the minimum and GCM suites only.
GCM_ONLY_APP_GATEWAY_POLICIES = ("AppGwSslPolicy20220101S",)
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


