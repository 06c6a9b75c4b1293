"""Security settings at the reference baselines: APIM's weak cipher suites off, the App Gateway on a GCM-only TLS
policy, the production capture archive geo-zone-redundant; each enforced by a guardrail that passes on the stacks
and fails on a changed resource.
"""

from __future__ import annotations

import pytest

from components.apim_baseline import HARDENED_PROTOCOLS, WEAK_CIPHERS
from policies import rules
from tests.guardrail_support import assert_fails, changed, check, edited, find
from tests.support import DELETE as DELETE_KEY
from tests.support import only, problems, with_value
from tools.guardrails import load_pack_config, reconcile
from tools.harness import Recording

CIPHER = "Microsoft.WindowsAzure.ApiManagement.Gateway.Security.Ciphers."
# PSRule for Azure, Azure.APIM.Ciphers (shared azure-facts.md): every suite it lists as weak or deprecated.
PSRULE_WEAK_CIPHERS = {
    "TripleDes168",
    "TLS_RSA_WITH_AES_128_CBC_SHA",
    "TLS_RSA_WITH_AES_256_CBC_SHA",
    "TLS_RSA_WITH_AES_128_CBC_SHA256",
    "TLS_RSA_WITH_AES_256_CBC_SHA256",
    "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA",
    "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA",
    "TLS_RSA_WITH_AES_128_GCM_SHA256",
}


# -- APIM ciphers ------------------------------------------------------------------------------------------
def test_apim_disables_every_cipher_suite_psrule_lists_as_weak(stack: Recording) -> None:
    custom = find(stack, rules.APIM).get("customProperties")
    assert {k.removeprefix(CIPHER) for k, v in custom.items() if k.startswith(CIPHER) and v == "false"} >= (
        PSRULE_WEAK_CIPHERS
    )


def test_the_component_and_the_guardrail_list_the_same_weak_suites() -> None:
    assert set(WEAK_CIPHERS) == set(rules.WEAK_CIPHER_SUITES) == PSRULE_WEAK_CIPHERS
    assert all(HARDENED_PROTOCOLS[f"{CIPHER}{suite}"] == "false" for suite in WEAK_CIPHERS)


@pytest.mark.parametrize("suite", ["TLS_RSA_WITH_AES_128_CBC_SHA", "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA"])
def test_a_weak_cipher_left_on_fails_apim_hardened_protocols(dev: Recording, suite: str) -> None:
    broken = edited(dev, lambda r: find(r, rules.APIM).inputs["customProperties"].update({CIPHER + suite: "true"}))
    assert_fails(check(broken, "apim-hardened-protocols"), "apim-hardened-protocols", "mandatory", suite)


def test_a_weak_cipher_left_unset_fails_apim_hardened_protocols(prod: Recording) -> None:
    suite = "TLS_RSA_WITH_AES_128_GCM_SHA256"
    broken = edited(prod, lambda r: find(r, rules.APIM).inputs["customProperties"].pop(CIPHER + suite))
    assert_fails(check(broken, "apim-hardened-protocols"), "apim-hardened-protocols", "mandatory", suite)


# -- Application Gateway TLS policy ------------------------------------------------------------------------
def test_the_app_gateway_uses_the_gcm_only_tls_policy(prod: Recording) -> None:
    assert find(prod, rules.APP_GATEWAY).get("sslPolicy") == {
        "policyType": "Predefined",
        "policyName": "AppGwSslPolicy20220101S",
    }


def test_the_cbc_admitting_policy_fails_app_gateway_strong_ciphers(prod: Recording) -> None:
    broken = changed(prod, rules.APP_GATEWAY, sslPolicy__policyName="AppGwSslPolicy20220101")
    rule = "app-gateway-strong-ciphers"
    assert_fails(check(broken, rule), rule, "mandatory", "admits CBC suites", "gateway-ingress-agw")


def test_a_custom_policy_with_only_ecdhe_gcm_suites_passes(prod: Recording) -> None:
    strong = {
        "policyType": "CustomV2",
        "minProtocolVersion": "TLSv1_2",
        "cipherSuites": ["TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384", "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256"],
    }
    assert check(changed(prod, rules.APP_GATEWAY, sslPolicy=strong), "app-gateway-strong-ciphers") == []
    weak = {**strong, "cipherSuites": [*strong["cipherSuites"], "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256"]}
    violations = check(changed(prod, rules.APP_GATEWAY, sslPolicy=weak), "app-gateway-strong-ciphers")
    assert_fails(violations, "app-gateway-strong-ciphers", "mandatory", "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256")


# -- capture archive redundancy ----------------------------------------------------------------------------
def test_prod_archives_usage_records_geo_zone_redundantly(prod: Recording) -> None:
    assert find(prod, rules.STORAGE_ACCOUNT, "telemetry-capture").get("sku.name") == "Standard_GZRS"


def test_a_zone_redundant_only_archive_fails_in_prod(prod: Recording) -> None:
    rule = "prod-capture-geo-zone-redundant"
    broken = changed(prod, rules.STORAGE_ACCOUNT, "telemetry-capture", sku__name="Standard_ZRS")
    assert_fails(check(broken, rule), rule, "mandatory", "Standard_ZRS", "telemetry-capture")


def test_the_capture_redundancy_rule_is_mandatory_in_prod_and_off_in_dev() -> None:
    rule = "prod-capture-geo-zone-redundant"
    assert reconcile(rules.POLICIES, load_pack_config("prod"))[rule][0] == "mandatory"
    assert reconcile(rules.POLICIES, load_pack_config("dev"))[rule][0] == "disabled"


def test_prod_settings_refuse_a_capture_archive_without_geo_zone_redundancy(prod_config: dict) -> None:
    line = only(problems(with_value(prod_config, "telemetry.capture.storageSku", "Standard_ZRS")))
    assert line.startswith("genai-gateway:telemetry.capture.storageSku: 'Standard_ZRS': must be one of Standard_GZRS")


def test_prod_settings_refuse_the_default_archive_sku(prod_config: dict) -> None:
    line = only(problems(with_value(prod_config, "telemetry.capture.storageSku", DELETE_KEY)))
    assert "'Standard_ZRS': must be one of Standard_GZRS, Standard_RAGZRS in production" in line


def test_an_unknown_capture_sku_is_rejected(dev_config: dict) -> None:
    line = only(problems(with_value(dev_config, "telemetry.capture.storageSku", "Premium_LRS")))
    assert line.startswith("genai-gateway:telemetry.capture.storageSku: 'Premium_LRS': ")
