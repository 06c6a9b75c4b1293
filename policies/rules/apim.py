"""The API Management service: protocols and ciphers, API versions, identity, diagnostics, NSG rules."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from pulumi_policy import PolicyConfigSchema, ResourceValidationArgs

from .base import (
    API_DIAGNOSTIC,
    APIM,
    APIM_INBOUND_RULES,
    DIAGNOSTIC,
    INJECTION_SKUS,
    LEGACY_PROTOCOL_SETTINGS,
    MIN_CONTROL_PLANE_API_VERSION,
    NSG,
    SECURITY_RULE,
    SUBNET,
    WEAK_CIPHER_SETTINGS,
    Stack,
    _strings,
    get,
    is_false,
    items,
    label,
    number,
    peek,
    resource_policy,
    same,
    stack_policy,
    text,
)


# == 5. API Management service ========================================================================
@resource_policy(
    "apim-hardened-protocols",
    "API Management has TLS 1.0/1.1 and SSL 3.0 disabled, client side and towards backends, and every cipher "
    "suite PSRule's Azure.APIM.Ciphers lists as weak (3DES, TLS_RSA_WITH_AES_*, ECDHE CBC) disabled.",
    (APIM,),
    "Set customProperties Microsoft.WindowsAzure.ApiManagement.Gateway.Security.{Protocols,Backend.Protocols}."
    "{Tls10,Tls11,Ssl30} and ...Security.Ciphers.<suite> for each weak suite to \"false\" "
    "(components/apim_baseline.py HARDENED_PROTOCOLS, WEAK_CIPHERS).",
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
    ciphers = [key for key in WEAK_CIPHER_SETTINGS if not is_false(settings.get(key))]
    if ciphers:
        names = ", ".join(k.rsplit("Security.", 1)[-1] for k in ciphers)
        yield (f"{label(args.resource_type, args.name)} leaves the weak cipher suite(s) {names} enabled or unset: "
               "set ...Gateway.Security.Ciphers.<suite> to \"false\" for each (PSRule Azure.APIM.Ciphers).")


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
