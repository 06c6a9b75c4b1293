"""Guardrails, API Management (policies/rules/apim.py): hardened protocols and ciphers, a minimum control-plane API
version, a managed identity, diagnostics that log no payloads or credentials, and the NSG rules an injected
gateway subnet needs.
"""

from __future__ import annotations

from policies import rules
from tests.guardrail_support import DELETE, assert_fails, changed, check, edited, find
from tools.harness import Recording


def test_apim_hardened_protocols(dev: Recording) -> None:
    rule, key = "apim-hardened-protocols", "Microsoft.WindowsAzure.ApiManagement.Gateway.Security.Protocols.Tls10"
    broken = edited(dev, lambda r: find(r, rules.APIM).inputs["customProperties"].update({key: "true"}))
    assert_fails(check(broken, rule), rule, "mandatory", "leaves Protocols.Tls10 enabled", "gateway-apim")
    cipher = "Microsoft.WindowsAzure.ApiManagement.Gateway.Security.Ciphers.TripleDes168"
    broken = edited(dev, lambda r: find(r, rules.APIM).inputs["customProperties"].pop(cipher))
    assert_fails(check(broken, rule), rule, "mandatory", "Ciphers.TripleDes168", "gateway-apim")


def test_apim_min_api_version(dev: Recording) -> None:
    rule = "apim-min-api-version"
    broken = changed(dev, rules.APIM, apiVersionConstraint=DELETE)
    assert_fails(check(broken, rule), rule, "mandatory", "minApiVersion unset", "gateway-apim")
    broken = changed(dev, rules.APIM, apiVersionConstraint__minApiVersion="2019-12-01")
    assert_fails(check(broken, rule), rule, "mandatory", "minApiVersion 2019-12-01", "gateway-apim")


def test_apim_managed_identity(dev: Recording) -> None:
    rule = "apim-managed-identity"
    broken = changed(dev, rules.APIM, identity={"type": "None"})
    assert_fails(check(broken, rule), rule, "mandatory", "identity.type None", "gateway-apim")


def test_apim_diagnostic_no_payload(dev: Recording) -> None:
    rule = "apim-diagnostic-no-payload"
    broken = changed(dev, rules.DIAGNOSTIC, frontend__request__body__bytes=8192)
    assert_fails(
        check(broken, rule),
        rule,
        "mandatory",
        "8192 bytes of frontend request bodies",
        "gateway-appinsights-diagnostic",
    )
    for diagnostic in ("policies-api-diagnostic", "policies-api-v1-diagnostic"):
        broken = changed(dev, rules.API_DIAGNOSTIC, diagnostic, backend__request__headers=["Api-Key"])
        assert_fails(check(broken, rule), rule, "mandatory", "credential header(s) ['api-key']", diagnostic)


def test_apim_subnet_nsg_rules(dev: Recording, prod: Recording) -> None:
    rule, nsg = "apim-subnet-nsg-rules", "gateway-apim-nsg"
    for recording in (dev, prod):
        rules_now = find(recording, rules.NSG, nsg).get("securityRules")
        no_management = [r for r in rules_now if r["name"] != "AllowApimManagement"]
        broken = changed(recording, rules.NSG, nsg, securityRules=no_management)
        assert_fails(check(broken, rule), rule, "mandatory", "allowing TCP 3443 from ApiManagement", nsg)
    deny = {
        "name": "DenyAllInbound",
        "priority": 90,
        "direction": "Inbound",
        "access": "Deny",
        "protocol": "*",
        "sourceAddressPrefix": "*",
        "sourcePortRange": "*",
        "destinationAddressPrefix": "*",
        "destinationPortRange": "*",
    }
    broken = changed(dev, rules.NSG, nsg, securityRules=[deny, *find(dev, rules.NSG, nsg).get("securityRules")])
    assert_fails(check(broken, rule), rule, "mandatory", "denies TCP 6390 from AzureLoadBalancer", nsg)


def test_apim_subnet_nsg_rules_skip_v2_outbound_integration(dev: Recording) -> None:
    rules_now = find(dev, rules.NSG, "gateway-apim-nsg").get("securityRules")
    v2 = changed(
        changed(dev, rules.APIM, sku__name="StandardV2"),
        rules.NSG,
        "gateway-apim-nsg",
        securityRules=[r for r in rules_now if r["direction"] == "Outbound"],
    )
    assert check(v2, "apim-subnet-nsg-rules") == []
