"""Production resilience: zones, WAF, protection of stateful resources, real PTU."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from pulumi_policy import PolicyConfigSchema

from .base import (
    ADVISORY,
    APIM,
    APP_GATEWAY,
    COGNITIVE_ACCOUNT,
    EVENT_HUB,
    EVENTHUB_NAMESPACE,
    SIMULATED_PTU_TAG,
    STATEFUL_TYPES,
    STORAGE_ACCOUNT,
    WAF_POLICY,
    Stack,
    _strings,
    get,
    is_true,
    items,
    label,
    number,
    peek,
    same,
    stack_policy,
    text,
)


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


_GEO_ZONE_SKUS = ("Standard_GZRS", "Standard_RAGZRS")


@stack_policy(
    "prod-capture-geo-zone-redundant",
    "Production keeps the Event Hubs Capture archive (the usage records, billing data) zone- and geo-redundant.",
    "Set telemetry.capture.storageSku to Standard_GZRS (or Standard_RAGZRS): the capture storage account then "
    "survives the loss of a zone and of the region.",
    level=ADVISORY,
    schema=PolicyConfigSchema({"skus": _strings("Storage SKUs accepted for a capture archive.", _GEO_ZONE_SKUS)}),
)
def prod_capture_geo_zone_redundant(stack: Stack, cfg: dict[str, Any]) -> Iterator[tuple[str, str | None]]:
    accepted = {s.lower() for s in cfg["skus"]}
    hubs = [h for h in stack.of_type(EVENT_HUB) if is_true(peek(h.props, "captureDescription.enabled"))]
    for account in stack.of_type(STORAGE_ACCOUNT):
        if not any(
            Stack.linked(h, "captureDescription", account)
            or same(peek(h.props, "captureDescription.destination.storageAccountResourceId"), peek(account.props, "id"))
            for h in hubs
        ):
            continue
        sku = text(get(account.props, "sku.name"))
        if sku.lower() not in accepted:
            yield (f"{label(account.resource_type, account.name)} archives Event Hubs Capture (usage records) with "
                   f"{sku or 'no SKU'}: use {' or '.join(cfg['skus'])} (telemetry.capture.storageSku).", account.urn)

