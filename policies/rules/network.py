"""Network isolation: no public endpoints, TLS 1.2 and private endpoints for Azure OpenAI."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from pulumi_policy import PolicyConfigSchema, PolicyResource, ResourceValidationArgs

from .base import (
    APP_GATEWAY,
    COGNITIVE_ACCOUNT,
    EVENTHUB_NAMESPACE,
    GCM_ONLY_APP_GATEWAY_POLICIES,
    KEY_VAULT,
    KEY_VAULT_DNS_ZONE,
    OPENAI_DNS_ZONE,
    OPENAI_GROUP_ID,
    PRIVATE_ENDPOINT,
    PRIVATE_ZONE,
    RECORD_SET,
    REDIS_CACHE,
    REDIS_ENTERPRISE,
    STORAGE_ACCOUNT,
    ZONE_GROUP,
    ZONE_LINK,
    Stack,
    get,
    is_false,
    is_true,
    items,
    label,
    last_segment,
    peek,
    resource_policy,
    same,
    stack_policy,
    text,
)


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


_MODERN_TLS = ("1.2", "1.3")
_MODERN_APP_GATEWAY_POLICIES = ("AppGwSslPolicy20170401S", "AppGwSslPolicy20220101", "AppGwSslPolicy20220101S")


@resource_policy(
    "tls-1-2-minimum",
    "Every service that has a minimum TLS setting requires TLS 1.2 or later.",
    (EVENTHUB_NAMESPACE, STORAGE_ACCOUNT, REDIS_ENTERPRISE, REDIS_CACHE, APP_GATEWAY),
    "Event Hubs and Redis: minimumTlsVersion '1.2'; storage: minimumTlsVersion TLS1_2 and "
    "enableHttpsTrafficOnly true; Application Gateway: sslPolicy Predefined AppGwSslPolicy20220101S (or Custom "
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
                   + ": use policyType Predefined with policyName AppGwSslPolicy20220101S (TLS 1.2 minimum, GCM only).")
    else:
        version = get(props, "minimumTlsVersion")
        if text(version) not in _MODERN_TLS:
            yield f"{what} has minimumTlsVersion {version or 'unset'}: set it to '1.2'."


# Suites an Application Gateway custom policy may keep: ECDHE key exchange with AES-GCM.
_GCM_SUITE = re.compile(r"^TLS_ECDHE_(RSA|ECDSA)_WITH_AES_(128|256)_GCM_SHA(256|384)$")


@resource_policy(
    "app-gateway-strong-ciphers",
    "The Application Gateway listener admits TLS 1.2+ with forward-secret AES-GCM suites only (no CBC suites).",
    (APP_GATEWAY,),
    "Set sslPolicy to policyType Predefined with policyName AppGwSslPolicy20220101S (components/waf_ingress.py "
    "TLS_POLICY), or CustomV2 with minProtocolVersion TLSv1_2 and only TLS_ECDHE_*_WITH_AES_*_GCM_* cipherSuites.",
)
def app_gateway_strong_ciphers(args: ResourceValidationArgs, cfg: dict[str, Any]) -> Iterator[str]:
    policy = get(args.props, "sslPolicy") or {}
    policy_type, policy_name = text(get(policy, "policyType")), text(get(policy, "policyName"))
    if same(policy_type, "Predefined") and policy_name in GCM_ONLY_APP_GATEWAY_POLICIES:
        return
    if policy_type.lower() in ("custom", "customv2"):
        suites = [text(s) for s in items(get(policy, "cipherSuites"))]
        weak = [s for s in suites if not _GCM_SUITE.match(s.upper())]
        minimum = text(get(policy, "minProtocolVersion")).upper()
        if suites and not weak and minimum in ("TLSV1_2", "TLSV1_3"):
            return
        detail = f"cipher suites {', '.join(weak) or '(none listed)'}" if weak or not suites else f"minimum {minimum}"
        yield (f"{label(args.resource_type, args.name)} has a {policy_type} sslPolicy with {detail}: list only "
               "TLS_ECDHE_*_WITH_AES_*_GCM_* suites with minProtocolVersion TLSv1_2, or use AppGwSslPolicy20220101S.")
        return
    yield (f"{label(args.resource_type, args.name)} uses sslPolicy {policy_type or 'unset'} {policy_name}".rstrip()
           + ", which admits CBC suites: use policyType Predefined with policyName AppGwSslPolicy20220101S.")


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


_VAULT_HOST = re.compile(r"^https://([a-z0-9-]+)\.vault\.azure\.net/", re.IGNORECASE)


@stack_policy(
    "ingress-key-vault-resolvable",
    "The Key Vault holding the App Gateway's certificate resolves from the gateway's VNet: a "
    "privatelink.vaultcore.azure.net zone this stack links to its VNet answers for every vault name under it, "
    "so it must know the certificate's vault, or the gateway can't read its certificate.",
    "Either declare no privatelink.vaultcore.azure.net zone of your own and let the VNet resolve the platform "
    "vault (through the platform's zone linked to the VNet, or publicly), or add an A record named after the vault "
    "with its private endpoint's IP to the stack's zone (reachable from the App Gateway subnet). The vault must use "
    "Azure RBAC (enableRbacAuthorization) for the gateway's Key Vault Secrets User assignment to count.",
)
def ingress_key_vault_resolvable(stack: Stack, cfg: dict[str, Any]) -> Iterator[tuple[str, str | None]]:
    zones = [z for z in stack.of_type(PRIVATE_ZONE) if same(peek(z.props, "privateZoneName"), KEY_VAULT_DNS_ZONE)]
    linked = [
        z for z in zones
        if any(Stack.linked(link, "privateZoneName", z, "privateZoneName") for link in stack.of_type(ZONE_LINK))
    ]
    if not linked:
        return
    for gateway in stack.of_type(APP_GATEWAY):
        for certificate in items(get(gateway.props, "sslCertificates")):
            match = _VAULT_HOST.match(text(peek(certificate, "keyVaultSecretId")))
            if match is None:
                continue
            vault = match.group(1).lower()
            if not any(_zone_knows(stack, zone, vault) for zone in linked):
                yield (f"{label(gateway.resource_type, gateway.name)} reads its certificate from vault '{vault}', but "
                       f"this stack links its own {KEY_VAULT_DNS_ZONE} zone to the VNet, which has no record for it: "
                       f"inside the VNet '{vault}.vault.azure.net' then resolves to nothing. Add an A record "
                       f"'{vault}' with the vault's private endpoint IP to that zone, or do not declare the zone.",
                       gateway.urn)


def _zone_knows(stack: Stack, zone: PolicyResource, vault: str) -> bool:
    """Whether the zone has a record for the vault: an A record set, or the zone group of a vault declared here."""
    for record in stack.of_type(RECORD_SET):
        if (Stack.linked(record, "privateZoneName", zone, "privateZoneName")
                and same(peek(record.props, "recordType"), "A")
                and same(peek(record.props, "relativeRecordSetName"), vault)):
            return True
    for declared in stack.of_type(KEY_VAULT):
        if not same(peek(declared.props, "vaultName"), vault):
            continue
        for pe in stack.of_type(PRIVATE_ENDPOINT):
            if not _targets(pe, declared):
                continue
            for zone_group in stack.of_type(ZONE_GROUP):
                if (Stack.linked(zone_group, "privateEndpointName", pe, "privateEndpointName", "name")
                        and Stack.depends_on(zone_group, "privateDnsZoneConfigs", zone)):
                    return True
    return False

