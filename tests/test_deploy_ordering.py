"""Creation order and permissions Azure enforces at deploy time, as the plan's dependency graph shows them.

- Event Hubs Capture's linked-access check runs against the identity that creates the event hub: that identity
  gets Storage Blob Data Contributor on the capture account (or the stack says it has it already), and the hub
  is created after the assignment has had time to propagate.
- A Cognitive Services account refuses a private endpoint while it applies a model deployment: each account's
  endpoint waits for its last deployment.
- The App Gateway reads its Key Vault certificate at creation: it waits for its role to propagate, with a
  pulumiverse-time Sleep, a real resource a `pulumi up` waits for.
- Every reference between resources is covered by a dependency (the references-have-dependencies rule).
"""

from __future__ import annotations

import copy
from typing import Any

import pytest

from components.access import ROLE_DEFINITIONS
from components.settings.ingress import ROLE_PROPAGATION_SECONDS
from policies import rules
from policies.rules import PlanResource, uncovered_references
from tests.guardrail_support import assert_fails, check, find
from tests.support import only, problems, with_value
from tools.azure_mocks import OBJECT_ID
from tools.guardrails import load_pack_config, plan_resources, reconcile
from tools.harness import RecordedResource, Recording, run_stack

SLEEP = "time:index/sleep:Sleep"
BLOB_CONTRIBUTOR = ROLE_DEFINITIONS["Storage Blob Data Contributor"]
SECRETS_USER = ROLE_DEFINITIONS["Key Vault Secrets User"]


def role_assignments(recording: Recording, role: str, scope: str | None = None) -> list[RecordedResource]:
    return [
        r for r in recording.of_type(rules.ROLE_ASSIGNMENT)
        if str(r.get("roleDefinitionId")).endswith(role) and (scope is None or r.get("scope") == scope)
    ]


def capture_hub(recording: Recording) -> RecordedResource:
    [hub] = [h for h in recording.of_type(rules.EVENT_HUB) if h.get("captureDescription.enabled")]
    return hub


# -- Event Hubs Capture: the deploying identity ---------------------------------------------------------
def test_the_deploying_identity_gets_blob_access_on_the_capture_account(prod: Recording) -> None:
    account = find(prod, rules.STORAGE_ACCOUNT, "telemetry-capture")
    [deployer] = [a for a in role_assignments(prod, BLOB_CONTRIBUTOR, account.id) if a.get("principalId") == OBJECT_ID]
    # The object id authorization.getClientConfig reports for whoever runs `pulumi up`.
    assert deployer.get("principalType") == "ServicePrincipal"


def test_the_capture_hub_waits_for_both_capture_roles_after_propagation(prod: Recording) -> None:
    hub, account = capture_hub(prod), find(prod, rules.STORAGE_ACCOUNT, "telemetry-capture")
    assignments = role_assignments(prod, BLOB_CONTRIBUTOR, account.id)
    assert {a.get("principalId") == OBJECT_ID for a in assignments} == {True, False}  # deployer and namespace
    [sleep] = [s for s in prod.of_type(SLEEP) if s.name == "telemetry-capture-roles-propagation"]
    assert sleep.urn in hub.dependencies
    assert all(prod.depends_on(sleep, a) for a in assignments)
    assert sleep.get("createDuration") == "180s"


def test_inherited_deployer_access_declares_no_assignment_but_still_waits(prod_config: dict) -> None:
    telemetry = with_value(prod_config, "telemetry.capture.deployerAccess", "inherited")["telemetry"]
    recording = run_stack("prod", overrides={"telemetry": telemetry})
    account = find(recording, rules.STORAGE_ACCOUNT, "telemetry-capture")
    assignments = role_assignments(recording, BLOB_CONTRIBUTOR, account.id)
    assert [a.get("principalId") for a in assignments if a.get("principalId") == OBJECT_ID] == []
    assert len(assignments) == 1 and recording.depends_on(capture_hub(recording), assignments[0])


def test_no_wait_when_propagation_is_set_to_zero(prod_config: dict) -> None:
    telemetry = with_value(prod_config, "telemetry.capture.rolePropagationSeconds", 0)["telemetry"]
    recording = run_stack("prod", overrides={"telemetry": telemetry})
    hub = capture_hub(recording)
    assert not [s for s in recording.of_type(SLEEP) if s.name.startswith("telemetry")]
    account = find(recording, rules.STORAGE_ACCOUNT, "telemetry-capture")
    assert all(recording.depends_on(hub, a) for a in role_assignments(recording, BLOB_CONTRIBUTOR, account.id))


@pytest.mark.parametrize(("key", "value", "allowed"), [
    ("telemetry.capture.deployerAccess", "someone-else", "input should be 'grant' or 'inherited'"),
    ("telemetry.capture.deployerPrincipalType", "Robot", "input should be 'User', 'ServicePrincipal' or 'Group'"),
    ("telemetry.capture.rolePropagationSeconds", 3600, "input should be less than or equal to 1800"),
    ("ingress.rolePropagationSeconds", -1, "input should be greater than or equal to 0"),
])
def test_bad_deployer_and_wait_settings_are_rejected_naming_the_key(
    prod_config: dict, key: str, value: Any, allowed: str
) -> None:
    shown = repr(value) if isinstance(value, str) else str(value)
    assert only(problems(with_value(prod_config, key, value))) == f"genai-gateway:{key}: {shown}: {allowed}"


# -- Cognitive Services accounts: private endpoint after the last deployment ----------------------------
def test_each_account_private_endpoint_waits_for_its_last_deployment(stack: Recording) -> None:
    accounts = stack.of_type(rules.COGNITIVE_ACCOUNT)
    for account in accounts:
        deployments = [d for d in stack.of_type(rules.DEPLOYMENT) if d.get("accountName") == account.get("accountName")]
        endpoints = [
            pe for pe in stack.of_type(rules.PRIVATE_ENDPOINT)
            if pe.get("privateLinkServiceConnections.0.privateLinkServiceId") == account.id
        ]
        assert len(endpoints) == 1, account.name
        if not deployments:
            continue  # Content Safety has no model deployments
        # Deployments are chained: the last is the one no other deployment of the account waits for.
        [last] = [d for d in deployments if not any(stack.depends_on(o, d) for o in deployments if o is not d)]
        assert last.urn in endpoints[0].dependencies, account.name
        assert all(stack.depends_on(endpoints[0], d) for d in deployments)


def test_a_private_endpoint_not_waiting_for_the_deployments_fails_the_guardrail(stack: Recording) -> None:
    rule = "private-endpoint-after-deployments"
    assert reconcile(rules.POLICIES, load_pack_config(stack.stack))[rule][0] == "mandatory"
    broken = copy.deepcopy(stack)
    endpoint = find(broken, rules.PRIVATE_ENDPOINT, "openai-ptu-1-pe")
    endpoint.dependencies = [d for d in endpoint.dependencies if "cognitiveservices:Deployment" not in d]
    assert_fails(check(broken, rule), rule, "mandatory", "does not wait for its deployment(s) openai-ptu-1-gpt-5.4",
                 "openai-ptu-1-pe")


# -- App Gateway: the certificate read waits for its role ------------------------------------------------
def test_the_app_gateway_waits_for_its_key_vault_role_to_propagate(prod: Recording) -> None:
    gateway = find(prod, rules.APP_GATEWAY)
    [assignment] = [a for a in role_assignments(prod, SECRETS_USER) if a.name.startswith("gateway-ingress")]
    [sleep] = [s for s in prod.of_type(SLEEP) if s.name == "gateway-ingress-keyvault-role-propagation"]
    assert sleep.urn in gateway.dependencies and assignment.urn in sleep.dependencies
    assert sleep.get("createDuration") == f"{ROLE_PROPAGATION_SECONDS}s"
    # A replaced assignment replaces the wait.
    assert assignment.id in sleep.get("triggers").values()


def test_the_wait_is_a_real_resource_in_the_plan(prod: Recording) -> None:
    sleeps = prod.of_type(SLEEP)
    assert len(sleeps) == 2 and all(s.custom for s in sleeps)


def test_the_propagation_wait_is_configurable(prod_config: dict) -> None:
    ingress = with_value(prod_config, "ingress.rolePropagationSeconds", 600)["ingress"]
    recording = run_stack("prod", overrides={"ingress": ingress})
    [sleep] = [s for s in recording.of_type(SLEEP) if s.name.startswith("gateway-ingress")]
    assert sleep.get("createDuration") == "600s"


# -- the platform vault resolves from the VNet ------------------------------------------------------------
def test_a_stack_zone_shadowing_the_platform_vault_is_refused() -> None:
    resources = _shadowed_vault_stack(record_for=None)
    violations = check(resources, "ingress-key-vault-resolvable", {})
    assert_fails(violations, "ingress-key-vault-resolvable", "mandatory", "has no record for it", "agw")


def test_an_a_record_for_the_platform_vault_resolves_it() -> None:
    assert check(_shadowed_vault_stack(record_for="kv-platform"), "ingress-key-vault-resolvable", {}) == []
    assert check(_shadowed_vault_stack(record_for="kv-other"), "ingress-key-vault-resolvable", {}) != []


def test_without_a_vault_zone_of_its_own_the_vnet_resolves_the_vault(prod: Recording) -> None:
    broken = _shadowed_vault_stack(record_for=None)
    broken.resources = [r for r in broken.resources if r.type != rules.PRIVATE_ZONE]
    assert check(broken, "ingress-key-vault-resolvable", {}) == []


def test_the_vault_rule_is_mandatory_in_prod() -> None:
    assert reconcile(rules.POLICIES, load_pack_config("prod"))["ingress-key-vault-resolvable"][0] == "mandatory"


def _resource(rtype: str, name: str, inputs: dict[str, Any], rid: str | None = None,
              deps: list[str] | None = None) -> RecordedResource:
    urn = f"urn:pulumi:t::genai-gateway::{rtype}::{name}"
    return RecordedResource(urn, rtype, name, None, True, inputs, deps or [], {}, False, rid)


def _shadowed_vault_stack(record_for: str | None) -> Recording:
    zone = _resource(rules.PRIVATE_ZONE, "kv-zone", {"privateZoneName": "privatelink.vaultcore.azure.net"}, "/z")
    link = _resource(rules.ZONE_LINK, "kv-zone-link", {"privateZoneName": "privatelink.vaultcore.azure.net"})
    gateway = _resource(rules.APP_GATEWAY, "agw", {"sslCertificates": [
        {"name": "listener", "keyVaultSecretId": "https://kv-platform.vault.azure.net/secrets/tls"}]})
    resources = [zone, link, gateway]
    if record_for:
        resources.append(_resource(rules.RECORD_SET, "kv-record", {
            "privateZoneName": "privatelink.vaultcore.azure.net", "recordType": "A",
            "relativeRecordSetName": record_for, "aRecords": [{"ipv4Address": "10.0.0.4"}]}))
    return Recording(project="genai-gateway", stack="t", resources=resources, outputs={})


# -- every reference is covered by a dependency ------------------------------------------------------------
def test_both_stacks_cover_every_reference_with_a_dependency(stack: Recording) -> None:
    assert uncovered_references(plan_resources(stack)) == []
    assert check(stack, "references-have-dependencies") == []


def test_a_deployment_naming_its_account_without_depending_on_it_is_caught(dev: Recording) -> None:
    broken = copy.deepcopy(dev)
    deployment = find(broken, rules.DEPLOYMENT)
    deployment.dependencies = []
    deployment.property_dependencies = {}
    violations = check(broken, "references-have-dependencies")
    assert_fails(violations, "references-have-dependencies", "mandatory", "(accountName) but does not depend on it",
                 deployment.name)


def test_the_rule_is_mandatory_in_both_stacks() -> None:
    for stack_name in ("dev", "prod"):
        level, _ = reconcile(rules.ALL_RULES, load_pack_config(stack_name))["references-have-dependencies"]
        assert level == "mandatory"


def _plan(*resources: tuple[str, str, dict[str, Any], str | None, list[str]]) -> list[PlanResource]:
    return [
        PlanResource(urn=f"urn:{name}", type=rtype, name=name, parent=None, custom=True, id=rid, inputs=inputs,
                     dependencies=tuple(f"urn:{d}" for d in deps))
        for rtype, name, inputs, rid, deps in resources
    ]


SERVICE = ("azure-native:apimanagement:ApiManagementService", "apim", {"serviceName": "apim-x"}, "/s/apim-x")
APIM_ID = "/subscriptions/0/resourceGroups/rg/providers/Microsoft.ApiManagement/service/apim-x"


@pytest.mark.parametrize(("referrer", "target"), [
    # an ARM id in the inputs
    (("azure-native:authorization:RoleAssignment", "role", {"scope": APIM_ID + "/loggers/l"}, "/r/1"),
     ("azure-native:apimanagement:ApiManagementService", "apim", {"serviceName": "apim-x"}, APIM_ID)),
    # a service host name that carries the resource's name
    (("azure-native:apimanagement:Backend", "backend", {"url": "https://oai-x.openai.azure.com/openai"}, "/b/1"),
     ("azure-native:cognitiveservices:Account", "account", {"accountName": "oai-x"}, "/rg/accounts/oai-x")),
    # a parent name
    (("azure-native:apimanagement:Backend", "backend", {"serviceName": "apim-x", "backendId": "b"}, "/s/apim-x/b"),
     SERVICE),
    # policy documents: fragment-id, backend-id, logger-id, {{named value}}
    (("azure-native:apimanagement:ApiPolicy", "policy", {"value": '<include-fragment fragment-id="f1" />'}, "/p"),
     ("azure-native:apimanagement:PolicyFragment", "fragment", {"id": "f1"}, "/s/apim-x/policyFragments/f1")),
    (("azure-native:apimanagement:PolicyFragment", "f2", {"value": '<set-backend-service backend-id="pool-a" />',
                                                          "id": "f2"}, "/f/f2"),
     ("azure-native:apimanagement:Backend", "pool", {"backendId": "pool-a"}, "/s/apim-x/backends/pool-a")),
    (("azure-native:apimanagement:PolicyFragment", "f3", {"value": '<log-to-eventhub logger-id="usage">x'
                                                          '</log-to-eventhub>', "id": "f3"}, "/f/f3"),
     ("azure-native:apimanagement:Logger", "logger", {"loggerId": "usage"}, "/s/apim-x/loggers/usage")),
    (("azure-native:apimanagement:PolicyFragment", "f4", {"value": "<set-header name='x'><value>{{hmac-key}}"
                                                          "</value></set-header>", "id": "f4"}, "/f/f4"),
     ("azure-native:apimanagement:NamedValue", "nv", {"displayName": "hmac-key"}, "/s/apim-x/namedValues/nv")),
])
def test_each_kind_of_reference_needs_a_dependency(referrer: tuple, target: tuple) -> None:
    missing = uncovered_references(_plan((*referrer, []), (*target, [])))
    assert [(m.source, m.target) for m in missing] == [(f"urn:{referrer[1]}", f"urn:{target[1]}")]
    assert uncovered_references(_plan((*referrer, [target[1]]), (*target, []))) == []


def test_a_transitive_dependency_covers_a_reference() -> None:
    middle = ("azure-native:apimanagement:Product", "product", {"productId": "p"}, "/s/apim-x/products/p")
    backend = ("azure-native:apimanagement:Backend", "backend", {"serviceName": "apim-x"}, "/s/apim-x/backends/b")
    assert uncovered_references(_plan((*backend, ["product"]), (*middle, ["apim"]), (*SERVICE, []))) == []


def test_an_expression_or_an_undeclared_entity_is_not_a_reference() -> None:
    policy = ("azure-native:apimanagement:ApiPolicy", "policy",
              {"value": '<set-backend-service backend-id="@(context.Variables["b"])" /><include-fragment '
                        'fragment-id="elsewhere" />'}, "/p")
    assert uncovered_references(_plan((*policy, []))) == []
