"""Guardrails: the pulumi-policy pack in policies/, evaluated offline on the recorded stacks.

For every rule: the real stacks pass it, and a recorded resource changed to break it fails it, with the
rule's name, its level in the stack's pack config (policies/config/<stack>.json) and a message that names
the resource and the fix. Then how the offline evaluation presents resources the way the engine does, the
pack configuration, and the pack's files for the Pulumi CLI.
"""

from __future__ import annotations

import ast
import copy
import json
import re
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from pulumi_policy import EnforcementLevel, ResourceValidationPolicy, StackValidationPolicy
from pulumi_policy.proxy import UnknownValueError

from components.access import ROLE_DEFINITIONS
from policies import rules
from policies.rules import ALL_RULES, PLAN_ONLY_RULES, POLICIES
from tools.guardrails import (
    GuardrailConfigError,
    engine_props,
    evaluate,
    guardrail_violations,
    load_pack_config,
    markdown_table,
    policy_resources,
    reconcile,
)
from tools.harness import RecordedResource, Recording, Secret, Unknown
from tools.stack_config import PROJECT_DIR
from tools.violations import Violation, collect

RULES = {rule.name: rule for rule in ALL_RULES}
PACK_DIR = PROJECT_DIR / "policies"
PROD_ONLY = ("prod-zone-redundancy", "prod-waf-prevention", "prod-protect-stateful", "prod-no-simulated-ptu")
# Reported on prod by design: the stated exceptions to "no local auth" (Content Safety, the external cache).
EXPECTED_REPORTS = {("prod", "local-auth-exceptions")}

OWNER = "8e3af657-a8ff-443c-a75c-2fe8c4bcb635"
CONTRIBUTOR = "b24988ac-6180-42a0-ab88-20f7382dd24c"
DELETE = object()


# -- helpers -------------------------------------------------------------------------------------------
def check(recording: Recording, rule: str, config: dict[str, Any] | None = None) -> list[Violation]:
    """The violations of one rule, under the stack's pack config unless `config` is given."""
    pack_config = load_pack_config(recording.stack) if config is None else config
    return evaluate(recording, pack_config, [RULES[rule]])


def find(recording: Recording, token: str, name: str | None = None) -> RecordedResource:
    """The resource of type `token` named `name` (the first of its type when no name is given)."""
    found = [r for r in recording.of_type(token) if name is None or r.name == name]
    assert found, f"no {token} {name or ''} in stack {recording.stack}"
    return found[0]


def set_path(inputs: dict[str, Any], path: str, value: Any) -> None:
    """Set (or delete, with DELETE) a dotted path of recorded inputs; secrets along the way are entered."""
    *parents, last = path.split(".")
    node: Any = inputs
    for part in parents:
        node = node.value if isinstance(node, Secret) else node
        node = node[int(part)] if part.isdigit() else node.setdefault(part, {})
    node = node.value if isinstance(node, Secret) else node
    key: Any = int(last) if last.isdigit() else last
    if value is DELETE:
        del node[key]
    else:
        node[key] = value


def changed(recording: Recording, token: str, name: str | None = None, **paths: Any) -> Recording:
    """A deep copy of the recording with inputs of one resource changed (`a__b` stands for `a.b`)."""
    copied = copy.deepcopy(recording)
    resource = find(copied, token, name)
    for path, value in paths.items():
        set_path(resource.inputs, path.replace("__", "."), value)
    return copied


def edited(recording: Recording, edit: Callable[[Recording], None]) -> Recording:
    copied = copy.deepcopy(recording)
    edit(copied)
    return copied


def without(recording: Recording, token: str, name: str | None = None) -> Recording:
    """A deep copy without one resource and its descendants."""
    copied = copy.deepcopy(recording)
    gone = find(copied, token, name)
    doomed = {gone.urn, *(r.urn for r in copied.descendants(gone))}
    copied.resources = [r for r in copied.resources if r.urn not in doomed]
    return copied


def with_key_vault(recording: Recording, **properties: Any) -> Recording:
    """A copy with a locked-down Key Vault and `properties` (no stack declares one since Content Safety is keyless)."""
    copied = copy.deepcopy(recording)
    vault_properties: dict[str, Any] = {
        "tenantId": "11111111-2222-4333-8444-555555555555",
        "sku": {"family": "A", "name": "standard"},
        "enableRbacAuthorization": True,
        "publicNetworkAccess": "Disabled",
        "networkAcls": {"defaultAction": "Deny", "bypass": "AzureServices", "ipRules": [], "virtualNetworkRules": []},
        "enableSoftDelete": True,
        "softDeleteRetentionInDays": 90,
        "enablePurgeProtection": True,
        **properties,
    }
    copied.resources.append(
        RecordedResource(
            urn=f"urn:pulumi:{recording.stack}::genai-gateway::{rules.KEY_VAULT}::test-vault",
            type=rules.KEY_VAULT,
            name="test-vault",
            parent=None,
            custom=True,
            inputs={"vaultName": "kv-test", "resourceGroupName": "rg", "location": "swedencentral",
                    "properties": vault_properties},
            dependencies=[],
            property_dependencies={},
            protect=True,
        )
    )
    return copied


def assert_fails(violations: list[Violation], rule: str, level: str, phrase: str, resource: str | None = None) -> None:
    matching = [v for v in violations if v.policy == rule and phrase in v.message]
    assert matching, f"no {rule} violation saying {phrase!r}; got {[v.message for v in violations]}"
    assert {v.level for v in matching} == {level}
    if resource is not None:
        assert all(resource in v.message for v in matching), "the message names the resource"
        assert all(v.urn and v.urn.endswith(f"::{resource}") for v in matching), "the violation points at it"


# -- the pack -------------------------------------------------------------------------------------------
def test_the_pack_has_at_least_15_documented_rules() -> None:
    assert len(POLICIES) >= 15
    assert len(RULES) == len(POLICIES) + len(PLAN_ONLY_RULES), "rule names are unique"
    for rule in RULES.values():
        assert isinstance(rule.enforcement_level, EnforcementLevel), rule.name
        assert len(rule.description) > 30 and rule.remediation_steps, rule.name
    assert all(isinstance(p, ResourceValidationPolicy | StackValidationPolicy) for p in POLICIES)


def test_the_role_allow_list_is_the_programs_data_plane_roles() -> None:
    assert set(rules.DATA_PLANE_ROLES) == set(ROLE_DEFINITIONS.values())
    assert not set(rules.PRIVILEGED_ROLES) & set(ROLE_DEFINITIONS.values())


def test_pulumi_policy_yaml_names_the_python_runtime_and_a_venv_inside_the_pack() -> None:
    document = yaml.safe_load((PACK_DIR / "PulumiPolicy.yaml").read_text())
    assert document["runtime"]["name"] == "python"
    venv = (PACK_DIR / document["runtime"]["options"]["virtualenv"]).resolve()
    assert venv == PACK_DIR / "venv"
    assert (PACK_DIR / "requirements.txt").read_text().count("pulumi-policy") == 1


def test_the_cli_entry_point_only_builds_the_pack_and_is_never_imported() -> None:
    # Importing policies/__main__.py would start the analyzer server and block: the tests only read it.
    assert "policies.__main__" not in sys.modules
    tree = ast.parse((PACK_DIR / "__main__.py").read_text())
    calls = [n.func.id for n in ast.walk(tree) if isinstance(n, ast.Call) and isinstance(n.func, ast.Name)]
    assert calls.count("PolicyPack") == 1
    imports = {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
    assert "rules" in imports
    assert not [n for n in tree.body if isinstance(n, ast.FunctionDef | ast.ClassDef)]


@pytest.mark.parametrize("stack_name", ["dev", "prod"])
def test_each_stack_has_a_valid_pack_config(stack_name: str) -> None:
    settings = reconcile(ALL_RULES, load_pack_config(stack_name), f"{stack_name}.json")
    assert {name for name, (level, _) in settings.items() if level == "mandatory"} >= {
        "no-public-network-access",
        "openai-private-endpoint",
        "backend-circuit-breaker",
        "api-policy-managed-identity",
        "product-token-limit",
        "role-assignment-least-privilege",
    }


def test_the_rules_table_for_the_readme_lists_every_rule_with_its_level_per_stack() -> None:
    table = markdown_table(["dev", "prod"]).splitlines()
    assert len(table) == 2 + len(RULES)
    assert "| `prod-no-simulated-ptu` | disabled | mandatory |" in "\n".join(table)


def test_prod_only_rules_are_disabled_in_dev_and_mandatory_in_prod() -> None:
    dev = reconcile(POLICIES, load_pack_config("dev"))
    prod = reconcile(POLICIES, load_pack_config("prod"))
    for name in PROD_ONLY:
        assert dev[name][0] == "disabled" and prod[name][0] == "mandatory", name
    assert dev["backend-pool-spillover"][0] == "advisory" and prod["backend-pool-spillover"][0] == "mandatory"


# -- the real stacks pass ---------------------------------------------------------------------------------
@pytest.mark.parametrize("rule", sorted(RULES))
def test_the_real_stacks_pass(stack: Recording, rule: str) -> None:
    violations = check(stack, rule)
    if (stack.stack, rule) in EXPECTED_REPORTS:
        assert violations and {v.level for v in violations} == {"advisory"}
    else:
        assert violations == []


def test_the_real_stacks_have_no_mandatory_violation(stack: Recording) -> None:
    assert [v for v in guardrail_violations(stack) if v.level == "mandatory"] == []


def test_dev_runs_without_the_prod_rules_though_it_would_break_them(dev: Recording) -> None:
    # dev simulates PTU, has no zones, no WAF and nothing protected: fine for dev, blocked under prod's config.
    assert [v for v in guardrail_violations(dev) if v.policy in PROD_ONLY] == []
    under_prod = evaluate(dev, load_pack_config("prod"))
    assert {v.policy for v in under_prod if v.level == "mandatory"} == set(PROD_ONLY)


def test_the_plan_collects_guardrail_violations(prod: Recording) -> None:
    broken = changed(prod, rules.EVENTHUB_NAMESPACE, publicNetworkAccess="Enabled")
    assert_fails(collect(broken), "no-public-network-access", "mandatory", "publicNetworkAccess Enabled")


# -- each rule fails on a resource changed to break it -------------------------------------------------
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


def test_no_local_auth(dev: Recording, prod: Recording) -> None:
    rule = "no-local-auth"
    broken = changed(dev, rules.COGNITIVE_ACCOUNT, "openai-paygo-2", properties__disableLocalAuth=False)
    assert_fails(check(broken, rule), rule, "mandatory", "accepts API keys", "openai-paygo-2")
    broken = changed(dev, rules.EVENTHUB_NAMESPACE, disableLocalAuth=DELETE)
    assert_fails(check(broken, rule), rule, "mandatory", "set disableLocalAuth to true", "telemetry-namespace")
    broken = changed(prod, rules.STORAGE_ACCOUNT, allowSharedKeyAccess=True)
    assert_fails(check(broken, rule), rule, "mandatory", "allowSharedKeyAccess to false", "telemetry-capture")
    broken = with_key_vault(prod, enableRbacAuthorization=False)
    assert_fails(check(broken, rule), rule, "mandatory", "enableRbacAuthorization")


def test_no_local_auth_allows_only_stated_exceptions(prod: Recording) -> None:
    rule = "no-local-auth"
    # No Cognitive Services account keeps keys any more: Content Safety authenticates its backend keylessly.
    assert not [a for a in prod.of_type(rules.COGNITIVE_ACCOUNT) if a.get("tags.localAuthException")]
    assert all(a.get("properties.disableLocalAuth") is True for a in prod.of_type(rules.COGNITIVE_ACCOUNT))
    cluster = "cache-redis"
    redis = "azure-native:redisenterprise:RedisEnterprise"
    broken = changed(prod, redis, cluster, tags__localAuthException="convenience")
    assert_fails(check(broken, rule), rule, "mandatory", "'convenience' is not a stated exception")
    untagged = changed(prod, redis, cluster, tags__localAuthException=DELETE)
    assert_fails(check(untagged, rule), rule, "mandatory", "cache-redis-db")


def test_the_content_safety_exception_is_retired(prod: Recording) -> None:
    assert "llm-content-safety-backend-credentials" not in rules.STATED_LOCAL_AUTH_EXCEPTIONS
    [account] = [a for a in prod.of_type(rules.COGNITIVE_ACCOUNT) if a.get("kind") == "ContentSafety"]
    broken = changed(prod, rules.COGNITIVE_ACCOUNT, account.name, properties__disableLocalAuth=False,
                     tags__localAuthException="llm-content-safety-backend-credentials")  # fmt: skip
    rule = "no-local-auth"
    assert_fails(check(broken, rule), rule, "mandatory", "is not a stated exception", account.name)


def test_local_auth_exceptions_are_reported_on_every_plan(prod: Recording) -> None:
    rule = "local-auth-exceptions"
    reported = check(prod, rule)
    assert {v.level for v in reported} == {"advisory"}
    assert all("keeps key authentication under the stated exception" in v.message for v in reported)

    # The tagged resources that keep keys: the Redis database of the tagged cluster (Content Safety is keyless).
    def keeps_keys_under_a_tag(r: RecordedResource) -> bool:
        holders = [r, prod.by_urn(r.parent)] if r.parent else [r]
        tagged = any(h.get("tags.localAuthException") for h in holders)
        keys_on = r.get("properties.disableLocalAuth") is False or r.get("accessKeysAuthentication") == "Enabled"
        return tagged and keys_on

    expected = {r.name for r in prod.resources if keeps_keys_under_a_tag(r)}
    assert expected == {"cache-redis-db"}
    assert {v.urn.rsplit("::", 1)[-1] for v in reported if v.urn} == expected


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


def test_backend_circuit_breaker(dev: Recording) -> None:
    rule, backend = "backend-circuit-breaker", "policies-openai-ptu-1"
    broken = changed(dev, rules.BACKEND, backend, circuitBreaker=DELETE)
    assert_fails(check(broken, rule), rule, "mandatory", "has no circuit breaker", backend)
    broken = changed(dev, rules.BACKEND, backend, circuitBreaker__rules__0__acceptRetryAfter=False)
    assert_fails(check(broken, rule), rule, "mandatory", "acceptRetryAfter true", backend)
    broken = changed(
        dev,
        rules.BACKEND,
        backend,
        circuitBreaker__rules__0__failureCondition__statusCodeRanges=[{"min": 500, "max": 599}],
    )
    assert_fails(check(broken, rule), rule, "mandatory", "does not cover status 429", backend)
    rule_copy = find(dev, rules.BACKEND, backend).get("circuitBreaker.rules.0")
    broken = changed(dev, rules.BACKEND, backend, circuitBreaker__rules=[rule_copy, rule_copy])
    assert_fails(check(broken, rule), rule, "mandatory", "Azure supports exactly one", backend)


def test_backend_circuit_breaker_ignores_backends_that_are_not_azure_openai(dev: Recording) -> None:
    other = changed(
        dev, rules.BACKEND, "policies-openai-ptu-1", url="https://api.contoso.example", circuitBreaker=DELETE
    )
    assert check(other, "backend-circuit-breaker") == []


def test_backend_pool_shape(dev: Recording) -> None:
    rule, pool = "backend-pool-shape", "policies-pool-gpt-5.4"
    broken = changed(dev, rules.BACKEND, pool, pool__services=[])
    assert_fails(check(broken, rule), rule, "mandatory", "has no members", pool)
    member = find(dev, rules.BACKEND, pool).get("pool.services.0")
    many = [{**member, "id": f"{member['id']}-{i}"} for i in range(31)]
    broken = changed(dev, rules.BACKEND, pool, pool__services=many)
    assert_fails(check(broken, rule), rule, "mandatory", "at most 30", pool)
    broken = changed(dev, rules.BACKEND, pool, url="https://example.openai.azure.com/openai", protocol="http")
    assert_fails(check(broken, rule), rule, "mandatory", "a pool takes no url", pool)
    assert_fails(check(broken, rule), rule, "mandatory", "a pool takes no protocol", pool)
    broken = changed(dev, rules.BACKEND, pool, pool__services__0__priority=101)
    assert_fails(check(broken, rule), rule, "mandatory", "priority 101", pool)


def test_backend_pool_spillover_is_advisory_in_dev_and_mandatory_in_prod(dev: Recording, prod: Recording) -> None:
    rule, pool = "backend-pool-spillover", "policies-pool-gpt-5.4"
    for recording, level in ((dev, "advisory"), (prod, "mandatory")):
        member = find(recording, rules.BACKEND, pool).get("pool.services.0")
        broken = changed(recording, rules.BACKEND, pool, pool__services=[member])
        assert_fails(check(broken, rule), rule, level, "nowhere to spill over", pool)


def test_a_single_tier_pool_with_two_members_can_spill_over(prod: Recording) -> None:
    # The weighted embeddings pool has one priority group: a tripped member's share moves to the other.
    pool = find(prod, rules.BACKEND, "policies-pool-text-embedding-3-small")
    assert len({m["priority"] for m in pool.get("pool.services")}) == 1
    assert check(prod, "backend-pool-spillover") == []


def test_api_policy_managed_identity(prod: Recording) -> None:
    rule, policy = "api-policy-managed-identity", "policies-api-policy"
    value = find(prod, rules.API_POLICY, policy).get("value")
    unbalanced = value.replace('<include-fragment fragment-id="openai-load-balancing" />', "")
    broken = changed(prod, rules.API_POLICY, policy, value=unbalanced)
    violations = check(broken, rule)
    assert_fails(violations, rule, "mandatory", "does not authenticate to Azure OpenAI with a managed identity", policy)
    assert_fails(violations, rule, "mandatory", "forwards the caller's 'api-key' header", policy)
    # Every API (dated and v1, key and Entra ID callers) includes the fragment: a broken fragment breaks them all.
    both = {f"policies-{kind}api{surface}-policy" for kind in ("", "entra-") for surface in ("", "-v1")}

    def fails_for_both(violations: list[Violation], phrase: str) -> None:
        assert_fails(violations, rule, "mandatory", phrase)
        matching = [v for v in violations if v.policy == rule and phrase in v.message]
        assert {v.urn.rsplit("::", 1)[-1] for v in matching if v.urn} == both

    fragment = next(f for f in prod.of_type(rules.POLICY_FRAGMENT) if f.get("id") == "openai-load-balancing")
    keeps_key = fragment.get("value").replace('<set-header name="api-key" exists-action="delete" />', "")
    broken = changed(prod, rules.POLICY_FRAGMENT, fragment.name, value=keeps_key)
    fails_for_both(check(broken, rule), "forwards the caller's 'api-key' header")

    wrong_audience = fragment.get("value").replace(
        "https://cognitiveservices.azure.com", "https://management.azure.com"
    )
    broken = changed(prod, rules.POLICY_FRAGMENT, fragment.name, value=wrong_audience)
    fails_for_both(check(broken, rule), "with a managed identity")

    broken = without(prod, rules.API_POLICY, policy)
    assert_fails(check(broken, rule), rule, "mandatory", "has no ApiPolicy", "policies-api")


def test_product_token_limit(dev: Recording) -> None:
    rule, product = "product-token-limit", "policies-consumer-team-alpha"
    policy = find(dev, rules.PRODUCT_POLICY, f"{product}-policy")
    unlimited = "\n".join(line for line in policy.get("value").splitlines() if "token-limit" not in line)
    broken = changed(dev, rules.PRODUCT_POLICY, policy.name, value=unlimited)
    assert_fails(check(broken, rule), rule, "mandatory", "has no token limit", product)
    broken = without(dev, rules.PRODUCT_POLICY, policy.name)
    assert_fails(check(broken, rule), rule, "mandatory", "has no ProductPolicy", product)


def test_consumer_auth_required(dev: Recording) -> None:
    rule, product = "consumer-auth-required", "policies-consumer-team-beta"
    broken = changed(dev, rules.PRODUCT, product, subscriptionRequired=False)
    assert_fails(check(broken, rule), rule, "mandatory", "does not require a subscription", product)
    broken = changed(dev, rules.API, "policies-api", subscriptionRequired=DELETE)
    assert_fails(check(broken, rule), rule, "mandatory", "does not require a subscription", "policies-api")


def test_consumer_auth_accepts_entra_id_instead_of_a_subscription(dev: Recording) -> None:
    product = "policies-consumer-team-beta"
    policy = find(dev, rules.PRODUCT_POLICY, f"{product}-policy")
    entra = policy.get("value").replace(
        "<base />", '<base />\n<validate-azure-ad-token tenant-id="contoso.example" />', 1
    )
    keyless = changed(
        changed(dev, rules.PRODUCT, product, subscriptionRequired=False), rules.PRODUCT_POLICY, policy.name, value=entra
    )
    assert check(keyless, "consumer-auth-required") == []


def test_subscription_keys_not_inline(dev: Recording) -> None:
    rule, subscription = "subscription-keys-not-inline", "policies-consumer-team-gamma-subscription"
    broken = changed(dev, rules.SUBSCRIPTION, subscription, primaryKey=Secret("0123456789abcdef0123456789abcdef"))
    assert_fails(check(broken, rule), rule, "mandatory", "sets primaryKey as an input", subscription)


def test_role_assignment_least_privilege(prod: Recording) -> None:
    rule, name = "role-assignment-least-privilege", "openai-ptu-1-role-cognitive-services-openai-user"
    role_id = find(prod, rules.ROLE_ASSIGNMENT, name).get("roleDefinitionId")
    prefix = role_id.rsplit("/", 1)[0]
    for guid, phrase in ((OWNER, "grants Owner"), (CONTRIBUTOR, "grants Contributor")):
        broken = changed(prod, rules.ROLE_ASSIGNMENT, name, roleDefinitionId=f"{prefix}/{guid}")
        assert_fails(check(broken, rule), rule, "mandatory", phrase, name)
    reader = f"{prefix}/acdd72a7-3385-48ef-bd42-f606fba81ae7"
    broken = changed(prod, rules.ROLE_ASSIGNMENT, name, roleDefinitionId=reader)
    assert_fails(check(broken, rule), rule, "mandatory", "not on the data-plane allow-list", name)
    allowed = {rule: {"allowedRoleDefinitionIds": [*ROLE_DEFINITIONS.values(), "acdd72a7-3385-48ef-bd42-f606fba81ae7"]}}
    assert check(broken, rule, allowed) == []
    broken = changed(prod, rules.ROLE_ASSIGNMENT, name, scope="/subscriptions/00000000-0000-4000-8000-000000000001")
    assert_fails(check(broken, rule), rule, "mandatory", "not a subscription or resource group", name)


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


def test_prod_zone_redundancy(prod: Recording) -> None:
    rule = "prod-zone-redundancy"
    broken = changed(prod, rules.APIM, zones=["1"], sku__capacity=1)
    assert_fails(check(broken, rule), rule, "mandatory", "spans 1 zone(s)", "gateway-apim")
    broken = changed(prod, rules.APIM, sku__capacity=3)
    assert_fails(check(broken, rule), rule, "mandatory", "multiple of the number of zones", "gateway-apim")
    broken = changed(prod, rules.EVENTHUB_NAMESPACE, zoneRedundant=False)
    assert_fails(check(broken, rule), rule, "mandatory", "not zone redundant", "telemetry-namespace")
    broken = changed(prod, rules.STORAGE_ACCOUNT, sku__name="Standard_LRS")
    assert_fails(check(broken, rule), rule, "mandatory", "uses Standard_LRS", "telemetry-capture")


def test_prod_waf_prevention(prod: Recording) -> None:
    rule = "prod-waf-prevention"
    broken = changed(prod, rules.WAF_POLICY, policySettings__mode="Detection")
    assert_fails(check(broken, rule), rule, "mandatory", "in Detection mode", "gateway-ingress-waf")
    broken = without(prod, rules.WAF_POLICY)
    assert_fails(check(broken, rule), rule, "mandatory", "declares no WebApplicationFirewallPolicy")


def test_prod_protect_stateful(prod: Recording) -> None:
    rule = "prod-protect-stateful"
    for token, name in (
        (rules.WORKSPACE, "gateway-logs"),
        (rules.COGNITIVE_ACCOUNT, "openai-ptu-1"),
        (rules.APIM, "gateway-apim"),
    ):
        broken = copy.deepcopy(prod)
        find(broken, token, name).protect = False
        assert_fails(check(broken, rule), rule, "mandatory", "is not protected", name)


def test_prod_no_simulated_ptu(dev: Recording, prod: Recording) -> None:
    rule = "prod-no-simulated-ptu"
    broken = changed(prod, rules.COGNITIVE_ACCOUNT, "openai-ptu-1", tags__capacityTier="ptu-simulated")
    assert_fails(check(broken, rule), rule, "mandatory", "capacityTier ptu-simulated", "openai-ptu-1")
    # dev simulates its PTU on purpose: the rule is disabled there.
    assert find(dev, rules.COGNITIVE_ACCOUNT, "openai-ptu-1").get("tags.capacityTier") == "ptu-simulated"
    assert check(dev, rule) == []


def test_no_secret_in_plain_output(prod: Recording) -> None:
    rule = "no-secret-in-plain-output"
    key = prod.outputs["consumerKey-customer-support"]
    assert isinstance(key, Secret)
    plain = edited(prod, lambda r: r.outputs.update(apiKeys={"customer-support": key.value}))
    assert_fails(check(plain, rule), rule, "mandatory", "Stack output 'apiKeys' is named like a secret")
    a_key = key.value
    leaked = edited(prod, lambda r: r.outputs.update(debug={"header": a_key}))
    assert_fails(check(leaked, rule), rule, "mandatory", "'debug.header' holds a secret value in plain text")
    connection = "Endpoint=sb://x.servicebus.windows.net/;SharedAccessKeyName=send;SharedAccessKey=abc="
    leaked = edited(prod, lambda r: r.outputs.update(eventHub=connection))
    assert_fails(check(leaked, rule), rule, "mandatory", "'eventHub' holds a secret value")


# -- how the evaluation presents resources the way the engine does ----------------------------------------
def test_validators_see_camel_case_inputs_with_secrets_unwrapped_and_unknowns_guarded() -> None:
    props = engine_props(
        {
            "properties": {"disableLocalAuth": True},
            "sku": {"capacity": 2},
            "key": Secret("s3cr3t"),
            "later": Unknown(),
            "fabricated": "id-123",
            "list": [1, Secret({"a": "b"})],
        },
        computed={"id-123"},
    )
    assert props["properties"]["disableLocalAuth"] is True
    assert props["sku"]["capacity"] == 2.0 and isinstance(props["sku"]["capacity"], float)
    assert props["key"] == "s3cr3t"  # the analyzer server drops the secret marker
    assert props["list"][1]["a"] == "b"
    for unknown in ("later", "fabricated"):
        with pytest.raises(UnknownValueError):
            props[unknown]


def test_stack_policies_see_parents_dependencies_and_options(prod: Recording) -> None:
    resources = {r.urn: r for r in policy_resources(prod)}
    recorded = find(prod, rules.ZONE_GROUP, "openai-ptu-1-pe-dns")
    zone_group = resources[recorded.urn]
    assert recorded.parent is not None and zone_group.parent is resources[recorded.parent]
    assert zone_group.parent.resource_type == rules.PRIVATE_ENDPOINT
    assert {d.urn for d in zone_group.dependencies} == {d for d in recorded.dependencies if d in resources}
    assert zone_group.property_dependencies["privateEndpointName"] == [zone_group.parent]
    apim = resources[find(prod, rules.APIM).urn]
    assert apim.parent is not None and apim.opts.parent == apim.parent.urn  # the baseline component
    assert apim.opts.protect is True


def as_in_a_first_preview(recording: Recording) -> Recording:
    """The stack as `pulumi preview` of a new stack sees it: ARM ids and endpoints are not known yet."""
    derived = re.compile(r"^/subscriptions/[^/]+/resourceGroups/|\.(openai|cognitiveservices)\.azure\.com")

    def blank(value: Any) -> Any:
        if isinstance(value, Secret):
            return Secret(blank(value.value))
        if isinstance(value, dict):
            return {k: blank(v) for k, v in value.items()}
        if isinstance(value, list):
            return [blank(v) for v in value]
        return Unknown() if isinstance(value, str) and derived.search(value) else value

    copied = copy.deepcopy(recording)
    for resource in copied.resources:
        resource.inputs = blank(resource.inputs)
    return copied


def test_stack_policies_link_resources_without_ids_as_in_a_first_preview(stack: Recording) -> None:
    # Private endpoint -> account, policy -> API/product, subnet -> NSG, backend -> account: followed through
    # parents and property dependencies, so every rule still runs and finds the same as on known ids.
    preview = as_in_a_first_preview(stack)
    endpoint = find(preview, rules.PRIVATE_ENDPOINT, "openai-ptu-1-pe")
    assert isinstance(endpoint.get("privateLinkServiceConnections.0.privateLinkServiceId"), Unknown)
    assert guardrail_violations(preview) == guardrail_violations(stack)
    broken = changed(preview, rules.BACKEND, "policies-openai-ptu-1", circuitBreaker=DELETE)
    assert_fails(
        check(broken, "backend-circuit-breaker"),
        "backend-circuit-breaker",
        "mandatory",
        "has no circuit breaker",
        "policies-openai-ptu-1",
    )
    broken = without(preview, rules.ZONE_GROUP, "openai-ptu-1-pe-dns")
    assert_fails(
        check(broken, "openai-private-endpoint"),
        "openai-private-endpoint",
        "mandatory",
        "has no DNS zone group",
        "openai-ptu-1",
    )


def test_a_value_unknown_during_preview_is_reported_as_advisory(dev: Recording) -> None:
    unknown_role = changed(dev, rules.ROLE_ASSIGNMENT, roleDefinitionId=Unknown())
    [violation] = check(unknown_role, "role-assignment-least-privilege")
    assert violation.level == "advisory" and "can't run policy 'role-assignment-least-privilege'" in violation.message


# -- configuration --------------------------------------------------------------------------------------
def test_pack_config_levels_follow_the_cli_precedence(dev: Recording) -> None:
    broken = changed(dev, rules.EVENTHUB_NAMESPACE, publicNetworkAccess="Enabled")
    assert check(broken, "no-public-network-access", {"all": "advisory"})[0].level == "advisory"
    overridden = {"all": "advisory", "no-public-network-access": {"enforcementLevel": "mandatory"}}
    assert check(broken, "no-public-network-access", overridden)[0].level == "mandatory"
    assert check(broken, "no-public-network-access", {"no-public-network-access": "disabled"}) == []
    assert check(broken, "no-public-network-access", {"no-public-network-access": "remediate"})[0].level == "mandatory"


@pytest.mark.parametrize(
    ("config", "phrase"),
    [
        ({"no-such-rule": "mandatory"}, "unknown policy 'no-such-rule'"),
        ({"backend-pool-spillover": "blocking"}, "is not one of"),
        ({"prod-zone-redundancy": {"minZone": 2}}, "unknown setting"),
        ({"prod-zone-redundancy": {"minZones": "two"}}, "is not of type integer"),
        ({"prod-zone-redundancy": {"minZones": 1}}, "below the minimum"),
        ({"role-assignment-least-privilege": {"allowedRoleDefinitionIds": "5e0bd9bd"}}, "is not of type array"),
    ],
)
def test_an_invalid_pack_config_is_refused(config: dict[str, Any], phrase: str) -> None:
    with pytest.raises(GuardrailConfigError, match=phrase):
        reconcile(POLICIES, config)


def test_an_invalid_config_file_is_one_mandatory_violation(dev: Recording, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("tools.guardrails.load_pack_config", lambda *stack: {"backend-pool-spillover": "loud"})
    [violation] = guardrail_violations(dev)
    assert violation.policy == "guardrails-config" and violation.level == "mandatory"
    assert "'loud' is not one of" in violation.message


def test_the_config_files_are_json_objects_of_known_policies() -> None:
    for path in sorted((PACK_DIR / "config" / "environments").glob("*.json")):
        reconcile(ALL_RULES, json.loads(path.read_text()), path.name)
    for path in sorted((PACK_DIR / "config").glob("*.json")):
        assert Path(PROJECT_DIR / f"Pulumi.{path.stem}.yaml").exists(), f"{path.name} has no stack"
        reconcile(ALL_RULES, load_pack_config(path.stem), path.name)


def test_rules_see_the_stack_as_parent_of_top_level_resources_and_real_parents_below(prod: Recording) -> None:
    from tools.guardrails import policy_resources

    resources = {r.urn: r for r in policy_resources(prod)}
    component = prod.one("genai-gateway:baseline:ApimBaseline")
    apim = prod.one("azure-native:apimanagement:ApiManagementService")
    assert resources[component.urn].opts.parent == prod.stack_urn
    assert resources[apim.urn].opts.parent == component.urn
    assert resources[apim.urn].parent is resources[component.urn]
    # URNs carry the parent's type chain, as the engine builds them.
    assert (
        apim.urn.split("::")[2] == "genai-gateway:baseline:ApimBaseline$azure-native:apimanagement:ApiManagementService"
    )
