"""ContentSafety: a private, keyless Azure AI Content Safety account behind `llm-content-safety` (on in prod only).

Asserted on the properties Azure receives. The backend authenticates with API Management's managed identity
(declared through an ARM deployment, since the typed SDK cannot carry `credentials.managedIdentity`): no key is
read, stored or named, and the account refuses keys. The fragment checks only text operations, refuses inputs
longer than Content Safety can check with its own 400, and marks a block so on-error can say it was one.
"""

from __future__ import annotations

import re

import pytest
from lxml import etree

from components.cognitive_account import LOCAL_AUTH_EXCEPTION_TAG
from components.content_safety import (
    BACKEND_API_VERSION,
    BACKEND_DEPLOYMENT,
    BACKEND_ID,
    CONTENT_SAFETY_DNS_ZONE,
    FRAGMENT_ID,
    MAX_TEXT_CHARACTERS,
)
from components.settings import PROJECT
from tests.support import DELETE, only, parse, problems, raw_config, with_value
from tools.azure_mocks import SUBSCRIPTION_ID, AzureMocks, identity_client_id
from tools.harness import RecordedResource, Recording, run_stack
from tools.policy_lint import lint_recording
from tools.rawxml import to_wellformed

COMPONENT = "genai-gateway:safety:ContentSafety"
ACCOUNT = "azure-native:cognitiveservices:Account"
NAMED_VALUE = "azure-native:apimanagement:NamedValue"
BACKEND = "azure-native:apimanagement:Backend"
DEPLOYMENT = "azure-native:resources:Deployment"
FRAGMENT = "azure-native:apimanagement:PolicyFragment"
ROLE = "azure-native:authorization:RoleAssignment"
PRIVATE_ENDPOINT = "azure-native:network:PrivateEndpoint"
ZONE_GROUP = "azure-native:network:PrivateDnsZoneGroup"
ZONE = "azure-native:privatedns:PrivateZone"
ZONE_LINK = "azure-native:privatedns:VirtualNetworkLink"
DIAGNOSTIC = "azure-native:monitor:DiagnosticSetting"
VNET = "azure-native:network:VirtualNetwork"
SUBNET = "azure-native:network:Subnet"
APIM = "azure-native:apimanagement:ApiManagementService"

COGNITIVE_SERVICES_USER = "a97b65f3-24c7-4388-baec-2e87135dc908"
SUBDOMAIN = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}[a-z0-9]$")


# -- helpers ---------------------------------------------------------------------------------------
def account(r: Recording) -> RecordedResource:
    return r.one(ACCOUNT, "safety-account")


def backend_deployment(r: Recording) -> RecordedResource:
    return r.one(DEPLOYMENT, "safety-backend")


def backend(r: Recording) -> dict:
    [declared] = backend_deployment(r).get("properties.template.resources")
    return declared


def fragment(r: Recording) -> RecordedResource:
    return r.one(FRAGMENT, "safety-fragment")


def endpoint_of(r: Recording, name: str) -> RecordedResource:
    return r.one(PRIVATE_ENDPOINT, name)


def zone_group_of(r: Recording, endpoint: RecordedResource) -> RecordedResource:
    return next(c for c in r.children(endpoint) if c.type == ZONE_GROUP)


def zone(r: Recording, zone_name: str) -> RecordedResource:
    return next(z for z in r.of_type(ZONE) if z.get("privateZoneName") == zone_name)


def fabricated_guid(r: Recording, name: str, kind: str) -> str:
    return AzureMocks(r.stack)._guid(name, kind)


def fragment_xml(r: Recording) -> etree._Element:
    return etree.fromstring(to_wellformed(fragment(r).get("value")).encode())


@pytest.fixture(scope="module")
def eight_levels() -> Recording:
    """dev with content safety on: EightSeverityLevels, two categories unchecked, an account in another region."""
    return run_stack(
        "dev",
        {
            "contentSafety": {
                "enabled": True,
                "location": "francecentral",
                "shieldPrompt": False,
                "outputType": "EightSeverityLevels",
                "categories": {"Hate": 3, "SelfHarm": None, "Sexual": None, "Violence": 5},
            }
        },
    )


# -- composition -----------------------------------------------------------------------------------
def test_prod_has_one_content_safety_component_owning_all_its_resources(prod: Recording) -> None:
    component = prod.one(COMPONENT, "safety")
    owned = {r.name for r in prod.descendants(component)}
    assert {"safety-account", "safety-backend", "safety-fragment", "safety-cs-pe"} <= owned


def test_no_key_vault_secret_or_named_value_exists_for_content_safety(prod: Recording) -> None:
    # The stack's only vault holds app teams' keys (components/consumer_keys.py), never a Content Safety key.
    vaults = prod.of_type("azure-native:keyvault:Vault") + prod.of_type("azure-native:keyvault:Secret")
    safety = {r.urn for r in prod.descendants(prod.one(COMPONENT, "safety"))}
    assert vaults and not [v for v in vaults if v.urn in safety or not v.name.startswith("keys-")]
    assert "content-safety-key" not in {n.get("namedValueId") for n in prod.of_type(NAMED_VALUE)}
    # Nothing reads the account's keys.
    assert "listAccountKeys" not in repr([r.inputs for r in prod.resources])


def test_dev_declares_nothing_of_content_safety(dev: Recording) -> None:
    assert dev.of_type(COMPONENT) == []
    assert [a.get("kind") for a in dev.of_type(ACCOUNT)] == ["OpenAI"] * len(dev.of_type(ACCOUNT))
    assert BACKEND_ID not in {b.get("backendId") for b in dev.of_type(BACKEND)}
    assert [d.name for d in dev.of_type(DEPLOYMENT)] == ["policies-llm-logging"]
    assert FRAGMENT_ID not in {f.get("id") for f in dev.of_type(FRAGMENT)}


# -- account ---------------------------------------------------------------------------------------
def test_account_is_kind_content_safety_with_sku_s0_and_a_system_identity(prod: Recording) -> None:
    a = account(prod)
    assert (a.get("kind"), a.get("sku"), a.get("identity")) == (
        "ContentSafety",
        {"name": "S0"},
        {"type": "SystemAssigned"},
    )


def test_account_refuses_public_network_access_and_denies_by_default(prod: Recording) -> None:
    props = account(prod).get("properties")
    assert props["publicNetworkAccess"] == "Disabled"
    assert props["networkAcls"] == {"defaultAction": "Deny", "ipRules": [], "virtualNetworkRules": []}


def test_account_accepts_no_keys(prod: Recording) -> None:
    a = account(prod)
    assert a.get("properties.disableLocalAuth") is True
    assert LOCAL_AUTH_EXCEPTION_TAG not in (a.get("tags") or {})


def test_custom_subdomain_is_the_globally_unique_account_name(prod: Recording) -> None:
    a = account(prod)
    assert a.get("properties.customSubDomainName") == a.get("accountName")
    assert SUBDOMAIN.match(a.get("accountName"))


def test_account_defaults_to_the_gateway_location(prod: Recording) -> None:
    assert account(prod).get("location") == parse(raw_config("prod")).location


def test_account_is_protected_in_production(prod: Recording) -> None:
    assert account(prod).protect


def test_account_logs_go_to_the_gateway_workspace(prod: Recording) -> None:
    workspace = prod.one("azure-native:operationalinsights:Workspace").id
    setting = next(d for d in prod.of_type(DIAGNOSTIC) if d.get("resourceUri") == account(prod).id)
    assert setting.get("workspaceId") == workspace
    assert setting.get("logs") == [{"categoryGroup": "allLogs", "enabled": True}]


# -- private endpoint and DNS ----------------------------------------------------------------------
def test_private_endpoint_targets_the_account_from_the_gateway_subnet(prod: Recording) -> None:
    pe = endpoint_of(prod, "safety-cs-pe")
    connection = pe.get("privateLinkServiceConnections.0")
    assert (connection["privateLinkServiceId"], connection["groupIds"]) == (account(prod).id, ["account"])
    assert pe.get("subnet") == {"id": prod.one(SUBNET, "gateway-pe-subnet").id}
    assert pe.get("location") == parse(raw_config("prod")).location


def test_private_endpoint_registers_in_its_zone_linked_to_the_vnet(prod: Recording) -> None:
    group_resource = zone_group_of(prod, endpoint_of(prod, "safety-cs-pe"))
    dns_zone = zone(prod, CONTENT_SAFETY_DNS_ZONE)
    assert group_resource.get("privateDnsZoneConfigs") == [{"name": "account", "privateDnsZoneId": dns_zone.id}]
    assert dns_zone.get("location") == "global"
    link = next(c for c in prod.children(dns_zone) if c.type == ZONE_LINK)
    assert link.get("virtualNetwork") == {"id": prod.one(VNET).id}
    assert link.get("registrationEnabled") is False


def test_endpoint_stays_in_the_gateway_region_when_the_account_moves(eight_levels: Recording) -> None:
    gateway_region = parse(raw_config("dev")).location
    assert account(eight_levels).get("location") == "francecentral"
    assert endpoint_of(eight_levels, "safety-cs-pe").get("location") == gateway_region


# -- roles -----------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("role_name", "principal_of"),
    [
        ("safety-cs-role-cognitive-services-user", ("gateway-identity", "principal")),
        ("safety-cs-role-cognitive-services-user-apim-system", ("gateway-apim", "system-principal")),
    ],
)
def test_both_apim_identities_are_cognitive_services_user_on_the_account(
    prod: Recording, role_name: str, principal_of: tuple[str, str]
) -> None:
    # Which identity a managed-identity backend credential uses is not documented: both may call.
    role = prod.one(ROLE, role_name)
    principal = fabricated_guid(prod, *principal_of)
    assert role.get("roleDefinitionId") == (
        f"/subscriptions/{SUBSCRIPTION_ID}/providers/Microsoft.Authorization/roleDefinitions/{COGNITIVE_SERVICES_USER}"
    )
    assert (role.get("scope"), role.get("principalId"), role.get("principalType")) == (
        account(prod).id,
        principal,
        "ServicePrincipal",
    )


# -- backend ---------------------------------------------------------------------------------------
def test_backend_authenticates_with_a_managed_identity(prod: Recording) -> None:
    declared = backend(prod)
    assert declared["type"] == "Microsoft.ApiManagement/service/backends"
    assert declared["apiVersion"] == BACKEND_API_VERSION == "2024-06-01-preview"
    assert declared["properties"]["credentials"] == {
        "managedIdentity": {
            "resource": "https://cognitiveservices.azure.com",
            "clientId": "[parameters('identityClientId')]",
        }
    }
    parameters = backend_deployment(prod).get("properties.parameters")
    assert parameters["identityClientId"]["value"] == identity_client_id("prod", "gateway-identity")


def test_backend_is_the_account_endpoint_over_validated_tls(prod: Recording) -> None:
    declared = backend(prod)
    assert declared["name"] == f"[format('{{0}}/{BACKEND_ID}', parameters('serviceName'))]"
    properties = declared["properties"]
    assert (properties["url"], properties["protocol"]) == ("[parameters('endpoint')]", "http")
    assert properties["tls"] == {"validateCertificateChain": True, "validateCertificateName": True}
    parameters = backend_deployment(prod).get("properties.parameters")
    subdomain = account(prod).get("properties.customSubDomainName")
    assert parameters["endpoint"]["value"] == f"https://{subdomain}.cognitiveservices.azure.com"
    assert parameters["serviceName"]["value"] == prod.one(APIM).get("serviceName")


def test_backend_is_an_incremental_deployment_after_the_roles_and_private_dns(prod: Recording) -> None:
    deployment = backend_deployment(prod)
    assert deployment.get("deploymentName") == BACKEND_DEPLOYMENT
    assert deployment.get("properties.mode") == "Incremental"
    for dependency in (
        prod.one(APIM),
        prod.one(ROLE, "safety-cs-role-cognitive-services-user"),
        zone_group_of(prod, endpoint_of(prod, "safety-cs-pe")),
    ):
        assert prod.depends_on(deployment, dependency), dependency.name


# -- fragment --------------------------------------------------------------------------------------
def test_fragment_checks_prompts_with_the_prod_settings(prod: Recording) -> None:
    f = fragment(prod)
    assert (f.get("id"), f.get("format")) == (FRAGMENT_ID, "rawxml")
    policy = fragment_xml(prod).find("choose/when/llm-content-safety")
    assert (policy.get("backend-id"), policy.get("shield-prompt")) == (BACKEND_ID, "true")
    # window-size is not set: the newest reference makes it configurable for responses only.
    assert policy.get("window-size") is None
    assert policy.find("categories").get("output-type") == "FourSeverityLevels"
    assert [(c.get("name"), c.get("threshold")) for c in policy.iter("category")] == [
        ("Hate", "4"), ("SelfHarm", "4"), ("Sexual", "4"), ("Violence", "4"),
    ]  # fmt: skip


def test_only_text_operations_are_checked(prod: Recording) -> None:
    when = fragment_xml(prod).find("choose/when")
    assert when.get("condition") == (
        '@(new string[] { "chat.completions", "completions", "responses" }'
        '.Contains((string)context.Variables.GetValueOrDefault("openai-operation", "")))'
    )
    # Embeddings, audio and images never reach the policy.
    assert "embeddings" not in when.get("condition")


def test_inputs_longer_than_content_safety_can_check_get_their_own_400(prod: Recording) -> None:
    when = fragment_xml(prod).find("choose/when")
    names = [e.tag for e in when]
    assert names.index("set-variable") < names.index("choose") < names.index("llm-content-safety")
    [too_long] = when.iterfind("choose/when")
    expected = f'@((int)context.Variables["content-safety-characters"] > {MAX_TEXT_CHARACTERS})'
    assert too_long.get("condition") == expected
    assert MAX_TEXT_CHARACTERS == 10_000
    response = too_long.find("return-response")
    assert response.find("set-status").get("code") == "400"
    assert "ContentSafetyInputTooLong" in response.find("set-body").text


def test_a_block_is_marked_so_its_403_says_content_safety(prod: Recording) -> None:
    when = fragment_xml(prod).find("choose/when")
    marks = [
        (e.get("name"), e.get("value"))
        for e in when.findall("set-variable")
        if e.get("name") == "content-safety-checking"
    ]
    assert marks == [("content-safety-checking", "@(true)"), ("content-safety-checking", "@(false)")]
    errors = next(f for f in prod.of_type(FRAGMENT) if f.get("id") == "openai-errors").get("value")
    assert 'code = "ContentSafetyBlocked"' in errors and "content-safety-checking" in errors


def test_fragment_follows_output_type_shield_and_unchecked_categories(eight_levels: Recording) -> None:
    policy = fragment_xml(eight_levels).find("choose/when/llm-content-safety")
    assert policy.get("shield-prompt") == "false"
    assert policy.find("categories").get("output-type") == "EightSeverityLevels"
    assert [(c.get("name"), c.get("threshold")) for c in policy.iter("category")] == [("Hate", "3"), ("Violence", "5")]


def test_fragment_waits_for_its_backend(prod: Recording) -> None:
    assert prod.depends_on(fragment(prod), backend_deployment(prod))


def test_fragment_passes_the_policy_lint(prod: Recording, eight_levels: Recording) -> None:
    for recording in (prod, eight_levels):
        errors = [e for e in lint_recording(recording) if e.urn == fragment(recording).urn and e.level == "error"]
        assert errors == []


# -- settings --------------------------------------------------------------------------------------

def test_content_safety_is_off_by_default_with_medium_thresholds(prod_config: dict) -> None:
    settings = parse(with_value(prod_config, "contentSafety", DELETE)).content_safety
    assert settings.enabled is False
    assert (settings.shield_prompt, settings.output_type, settings.location) == (True, "FourSeverityLevels", None)
    assert settings.categories.checked() == [("Hate", 4), ("SelfHarm", 4), ("Sexual", 4), ("Violence", 4)]


def test_dev_is_off_and_prod_is_on() -> None:
    assert parse(raw_config("dev")).content_safety.enabled is False
    assert parse(raw_config("prod")).content_safety.enabled is True


@pytest.mark.parametrize("threshold", [1, 3, 5, 7])
def test_four_severity_levels_accept_only_even_thresholds(prod_config: dict, threshold: int) -> None:
    line = only(problems(with_value(prod_config, "contentSafety.categories.Hate", threshold)))
    assert line == (
        f"{PROJECT}:contentSafety.categories.Hate: {threshold}: "
        "with outputType FourSeverityLevels must be one of 2, 4, 6"
    )


def test_eight_severity_levels_accept_odd_thresholds(prod_config: dict) -> None:
    config = with_value(prod_config, "contentSafety.outputType", "EightSeverityLevels")
    assert problems(with_value(config, "contentSafety.categories.SelfHarm", 3)) == []


def test_threshold_zero_is_rejected_because_it_blocks_every_request(prod_config: dict) -> None:
    line = only(problems(with_value(prod_config, "contentSafety.categories.Violence", 0)))
    assert line.startswith(f"{PROJECT}:contentSafety.categories.Violence: 0: ")
    assert "block every request" in line and "null" in line


def test_threshold_above_seven_is_out_of_range(prod_config: dict) -> None:
    line = only(problems(with_value(prod_config, "contentSafety.categories.Sexual", 8)))
    assert line.startswith(f"{PROJECT}:contentSafety.categories.Sexual: 8: ")
    assert "less than or equal to 7" in line


def test_unknown_output_type_lists_the_allowed_ones(prod_config: dict) -> None:
    line = only(problems(with_value(prod_config, "contentSafety.outputType", "SixSeverityLevels")))
    assert "'FourSeverityLevels' or 'EightSeverityLevels'" in line


def test_unknown_category_is_named_with_the_nearest_one(prod_config: dict) -> None:
    line = only(problems(with_value(prod_config, "contentSafety.categories.Violent", 4)))
    assert line.startswith(f"{PROJECT}:contentSafety.categories.Violent: unknown key")
    assert "did you mean 'Violence'" in line


def test_enabled_content_safety_must_check_something(prod_config: dict) -> None:
    config = with_value(prod_config, "contentSafety.shieldPrompt", False)
    config = with_value(
        config, "contentSafety.categories", {"Hate": None, "SelfHarm": None, "Sexual": None, "Violence": None}
    )
    line = only(problems(config))
    assert line.startswith(f"{PROJECT}:contentSafety.categories: no category checked: ")


def test_location_must_be_a_region_name(prod_config: dict) -> None:
    line = only(problems(with_value(prod_config, "contentSafety.location", "Sweden Central")))
    assert line.startswith(f"{PROJECT}:contentSafety.location: 'Sweden Central': ")


def test_thresholds_of_disabled_content_safety_are_not_checked_against_the_output_type(prod_config: dict) -> None:
    config = with_value(prod_config, "contentSafety.enabled", False)
    assert problems(with_value(config, "contentSafety.categories.Hate", 3)) == []



def test_the_lint_knows_backends_declared_in_arm_templates(prod: Recording) -> None:
    from tools.policy_lint import references_of

    backends = references_of(prod).backends
    assert BACKEND_ID in backends
    # Only backends: the LLM logging template declares diagnostics, which name no backend.
    assert "azuremonitor" not in backends and "azure-openai" not in backends
