"""Guardrails, network (policies/rules/network.py): nothing is reachable from the internet, TLS 1.2 at least, and
every Azure OpenAI account is reached through a private endpoint registered in private DNS.

For each rule a recorded resource changed to break it fails it, with the rule's level and a message naming the
resource and the fix.
"""

from __future__ import annotations

from policies import rules
from tests.guardrail_support import DELETE, assert_fails, changed, check, with_key_vault, without
from tools.harness import Recording


def test_no_public_network_access(dev: Recording, prod: Recording) -> None:
    rule = "no-public-network-access"
    broken = changed(dev, rules.COGNITIVE_ACCOUNT, "openai-paygo-1", properties__publicNetworkAccess="Enabled")
    assert_fails(check(broken, rule), rule, "mandatory", "publicNetworkAccess Enabled", "openai-paygo-1")
    broken = changed(dev, rules.COGNITIVE_ACCOUNT, "openai-ptu-1", properties__networkAcls__defaultAction="Allow")
    assert_fails(check(broken, rule), rule, "mandatory", "defaultAction Allow", "openai-ptu-1")
    broken = changed(prod, rules.EVENTHUB_NAMESPACE, publicNetworkAccess=DELETE)
    assert_fails(check(broken, rule), rule, "mandatory", "unset (Enabled)", "telemetry-namespace")
    broken = changed(prod, rules.STORAGE_ACCOUNT, networkRuleSet__ipRules=[{"value": "203.0.113.7"}])
    assert_fails(check(broken, rule), rule, "mandatory", "without a deny-all firewall", "telemetry-capture")
    assert not check(with_key_vault(prod), rule)
    broken = with_key_vault(prod, publicNetworkAccess="Enabled")
    assert_fails(check(broken, rule), rule, "mandatory", "private endpoint (group vault")


def test_no_public_network_access_can_refuse_the_trusted_services_firewall(prod: Recording) -> None:
    strict = {"no-public-network-access": {"allowTrustedServicesFirewall": False}}
    assert_fails(
        check(prod, "no-public-network-access", strict),
        "no-public-network-access",
        "mandatory",
        "deny-all firewall",
        "telemetry-capture",
    )


def test_tls_1_2_minimum(prod: Recording) -> None:
    rule = "tls-1-2-minimum"
    broken = changed(prod, rules.EVENTHUB_NAMESPACE, minimumTlsVersion="1.0")
    assert_fails(check(broken, rule), rule, "mandatory", "minimumTlsVersion 1.0", "telemetry-namespace")
    broken = changed(prod, rules.STORAGE_ACCOUNT, minimumTlsVersion="TLS1_1")
    assert_fails(check(broken, rule), rule, "mandatory", "set it to TLS1_2", "telemetry-capture")
    broken = changed(prod, rules.APP_GATEWAY, sslPolicy__policyName="AppGwSslPolicy20150501")
    assert_fails(check(broken, rule), rule, "mandatory", "AppGwSslPolicy20220101", "gateway-ingress-agw")


def test_openai_private_endpoint(dev: Recording) -> None:
    rule = "openai-private-endpoint"
    broken = without(dev, rules.PRIVATE_ENDPOINT, "openai-ptu-1-pe")
    assert_fails(check(broken, rule), rule, "mandatory", "has no private endpoint", "openai-ptu-1")
    broken = changed(
        dev, rules.PRIVATE_ENDPOINT, "openai-paygo-1-pe", privateLinkServiceConnections__0__groupIds=["blob"]
    )
    assert_fails(check(broken, rule), rule, "mandatory", "the Azure OpenAI sub-resource is 'account'", "openai-paygo-1")
    broken = without(dev, rules.ZONE_GROUP, "openai-paygo-2-pe-dns")
    assert_fails(check(broken, rule), rule, "mandatory", "has no DNS zone group", "openai-paygo-2")
