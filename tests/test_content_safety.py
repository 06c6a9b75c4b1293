"""ContentSafety: a private Azure AI Content Safety account behind `llm-content-safety`, on in prod, off in dev.

Asserted on the properties Azure receives. The backend can only carry a key (ARM has no managed-identity
credential on a backend entity), so the key path is asserted too: a private, RBAC-only vault, the key as a
secret end to end, a Key Vault-backed named value, and the account's tagged local-auth exception.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from components.access import assignment_name
from components.cognitive_account import LOCAL_AUTH_EXCEPTION_TAG
from components.content_safety import (
    BACKEND_ID,
    CONTENT_SAFETY_DNS_ZONE,
    FRAGMENT_ID,
    KEY_HEADER,
    KEY_NAMED_VALUE,
    KEY_SECRET_NAME,
    KEY_VAULT_DNS_ZONE,
    LOCAL_AUTH_EXCEPTION,
)
from components.settings import PROJECT
from tests.support import DELETE, only, parse, problems, raw_config, with_value
from tools.azure_mocks import SUBSCRIPTION_ID, AzureMocks
from tools.harness import RecordedResource, Recording, Secret, run_stack
from tools.plan import plan_document
from tools.policy_lint import lint_recording

COMPONENT = "genai-gateway:safety:ContentSafety"
ACCOUNT = "azure-native:cognitiveservices:Account"
VAULT = "azure-native:keyvault:Vault"
SECRET = "azure-native:keyvault:Secret"
NAMED_VALUE = "azure-native:apimanagement:NamedValue"
BACKEND = "azure-native:apimanagement:Backend"
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
KEY_VAULT_SECRETS_USER = "4633458b-17de-408a-b874-0445c86b69e6"
SUBDOMAIN = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}[a-z0-9]$")
VAULT_NAME = re.compile(r"^[a-zA-Z][a-zA-Z0-9-]{1,22}[a-zA-Z0-9]$")


# -- helpers ---------------------------------------------------------------------------------------
def account(r: Recording) -> RecordedResource:
    return r.one(ACCOUNT, "safety-account")


def vault(r: Recording) -> RecordedResource:
    return r.one(VAULT, "safety-vault")


def key_secret(r: Recording) -> RecordedResource:
    return r.one(SECRET, "safety-key-secret")


def named_value(r: Recording) -> RecordedResource:
    return r.one(NAMED_VALUE, "safety-key")


def backend(r: Recording) -> RecordedResource:
    return r.one(BACKEND, "safety-backend")


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


def account_key(r: Recording) -> str:
    """The key the mocks answer `listAccountKeys` with for the Content Safety account."""
    answer, _ = AzureMocks(r.stack).call(
        _CallArgs("azure-native:cognitiveservices:listAccountKeys", {"accountName": account(r).get("accountName")})
    )
    return answer["key1"]


class _CallArgs:
    def __init__(self, token: str, args: dict[str, Any]) -> None:
        self.token, self.args = token, args


def fragment_xml(r: Recording) -> str:
    return fragment(r).get("value")


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
    assert {
        "safety-account",
        "safety-vault",
        "safety-key-secret",
        "safety-key",
        "safety-backend",
        "safety-fragment",
        "safety-cs-pe",
        "safety-kv-pe",
    } <= owned


def test_dev_declares_nothing_of_content_safety(dev: Recording) -> None:
    assert dev.of_type(COMPONENT) == []
    assert [a.get("kind") for a in dev.of_type(ACCOUNT)] == ["OpenAI"] * len(dev.of_type(ACCOUNT))
    # dev's only vault holds app teams' keys (components/consumer_keys.py), never a Content Safety key.
    assert [v.name for v in dev.of_type(VAULT)] == ["keys-vault"]
    assert not [s for s in dev.of_type(SECRET) if not s.name.startswith("keys-")]
    assert BACKEND_ID not in {b.get("backendId") for b in dev.of_type(BACKEND)}
    assert FRAGMENT_ID not in {f.get("id") for f in dev.of_type(FRAGMENT)}
    assert KEY_NAMED_VALUE not in {n.get("namedValueId") for n in dev.of_type(NAMED_VALUE)}


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


def test_account_keeps_local_auth_only_as_the_tagged_exception(prod: Recording) -> None:
    a = account(prod)
    assert a.get("properties.disableLocalAuth") is False
    assert a.get("tags")[LOCAL_AUTH_EXCEPTION_TAG] == LOCAL_AUTH_EXCEPTION == "llm-content-safety-backend-credentials"


def test_no_other_account_claims_the_local_auth_exception(prod: Recording) -> None:
    tagged = [a.name for a in prod.of_type(ACCOUNT) if LOCAL_AUTH_EXCEPTION_TAG in (a.get("tags") or {})]
    assert tagged == ["safety-account"]


def test_custom_subdomain_is_the_globally_unique_account_name(prod: Recording) -> None:
    a = account(prod)
    assert a.get("properties.customSubDomainName") == a.get("accountName")
    assert SUBDOMAIN.match(a.get("accountName"))


def test_account_defaults_to_the_gateway_location(prod: Recording) -> None:
    assert account(prod).get("location") == parse(raw_config("prod")).location


def test_account_and_vault_are_protected_in_production(prod: Recording) -> None:
    assert account(prod).protect and vault(prod).protect


def test_account_and_vault_logs_go_to_the_gateway_workspace(prod: Recording) -> None:
    workspace = prod.one("azure-native:operationalinsights:Workspace").id
    for target in (account(prod), vault(prod)):
        setting = next(d for d in prod.of_type(DIAGNOSTIC) if d.get("resourceUri") == target.id)
        assert setting.get("workspaceId") == workspace
        assert setting.get("logs") == [{"categoryGroup": "allLogs", "enabled": True}]


# -- private endpoints and DNS ---------------------------------------------------------------------
@pytest.mark.parametrize(
    ("endpoint", "target", "group"),
    [("safety-cs-pe", "safety-account", "account"), ("safety-kv-pe", "safety-vault", "vault")],
)
def test_private_endpoint_targets_its_group_from_the_gateway_subnet(
    prod: Recording, endpoint: str, target: str, group: str
) -> None:
    pe = endpoint_of(prod, endpoint)
    connection = pe.get("privateLinkServiceConnections.0")
    target_id = next(r for r in prod.resources if r.name == target).id
    assert (connection["privateLinkServiceId"], connection["groupIds"]) == (target_id, [group])
    assert pe.get("subnet") == {"id": prod.one(SUBNET, "gateway-pe-subnet").id}
    assert pe.get("location") == parse(raw_config("prod")).location


@pytest.mark.parametrize(
    ("endpoint", "group", "zone_name"),
    [
        ("safety-cs-pe", "account", "privatelink.cognitiveservices.azure.com"),
        ("safety-kv-pe", "vault", "privatelink.vaultcore.azure.net"),
    ],
)
def test_private_endpoint_registers_in_its_zone_linked_to_the_vnet(
    prod: Recording, endpoint: str, group: str, zone_name: str
) -> None:
    group_resource = zone_group_of(prod, endpoint_of(prod, endpoint))
    dns_zone = zone(prod, zone_name)
    assert zone_name in (CONTENT_SAFETY_DNS_ZONE, KEY_VAULT_DNS_ZONE)
    assert group_resource.get("privateDnsZoneConfigs") == [{"name": group, "privateDnsZoneId": dns_zone.id}]
    assert dns_zone.get("location") == "global"
    link = next(c for c in prod.children(dns_zone) if c.type == ZONE_LINK)
    assert link.get("virtualNetwork") == {"id": prod.one(VNET).id}
    assert link.get("registrationEnabled") is False


def test_endpoints_and_vault_stay_in_the_gateway_region_when_the_account_moves(eight_levels: Recording) -> None:
    gateway_region = parse(raw_config("dev")).location
    assert account(eight_levels).get("location") == "francecentral"
    assert endpoint_of(eight_levels, "safety-cs-pe").get("location") == gateway_region
    assert vault(eight_levels).get("location") == gateway_region


# -- roles -----------------------------------------------------------------------------------------
def test_gateway_identity_is_cognitive_services_user_on_the_account(prod: Recording) -> None:
    role = prod.one(ROLE, "safety-cs-role-cognitive-services-user")
    principal = fabricated_guid(prod, "gateway-identity", "principal")
    assert role.get("roleDefinitionId") == (
        f"/subscriptions/{SUBSCRIPTION_ID}/providers/Microsoft.Authorization/roleDefinitions/{COGNITIVE_SERVICES_USER}"
    )
    assert (role.get("scope"), role.get("principalId"), role.get("principalType")) == (
        account(prod).id,
        principal,
        "ServicePrincipal",
    )
    assert role.get("roleAssignmentName") == assignment_name(account(prod).id, principal, "Cognitive Services User")


def test_apim_system_identity_is_key_vault_secrets_user_on_the_vault(prod: Recording) -> None:
    # A firewalled vault can be read by API Management only with its system-assigned identity.
    role = prod.one(ROLE, "safety-kv-role-key-vault-secrets-user")
    principal = fabricated_guid(prod, "gateway-apim", "system-principal")
    assert role.get("roleDefinitionId").endswith(f"/roleDefinitions/{KEY_VAULT_SECRETS_USER}")
    assert (role.get("scope"), role.get("principalId")) == (vault(prod).id, principal)


# -- the key path: vault, secret, named value ------------------------------------------------------
def test_vault_authorizes_with_rbac_only_and_is_unreachable_publicly(prod: Recording) -> None:
    props = vault(prod).get("properties")
    assert props["enableRbacAuthorization"] is True
    assert props["publicNetworkAccess"] == "Disabled"
    assert props["networkAcls"] == {
        "defaultAction": "Deny",
        "bypass": "AzureServices",
        "ipRules": [],
        "virtualNetworkRules": [],
    }
    assert "accessPolicies" not in props


def test_vault_keeps_deleted_secrets_with_purge_protection(prod: Recording) -> None:
    props = vault(prod).get("properties")
    assert (props["enableSoftDelete"], props["softDeleteRetentionInDays"], props["enablePurgeProtection"]) == (
        True,
        90,
        True,
    )
    assert (props["enabledForDeployment"], props["enabledForTemplateDeployment"]) == (False, False)


def test_vault_name_fits_azure_rules(prod: Recording) -> None:
    assert VAULT_NAME.match(vault(prod).get("vaultName"))
    assert "--" not in vault(prod).get("vaultName")


def test_vault_secret_holds_the_account_key_as_a_secret(prod: Recording) -> None:
    secret = key_secret(prod)
    assert secret.get("vaultName") == vault(prod).get("vaultName")
    assert secret.get("secretName") == KEY_SECRET_NAME
    assert isinstance(secret.inputs["properties"], Secret)
    assert secret.get("properties.value") == account_key(prod)


def test_account_key_never_appears_in_the_plan_or_the_outputs(prod: Recording) -> None:
    key = account_key(prod)
    document = json.dumps(plan_document(prod, []))
    assert key not in document
    # Not merely masked as [computed]: outside a Secret it is nowhere in any input or output.
    assert key not in json.dumps([_unwrapped(r.inputs) for r in prod.resources], default=str)
    assert key not in json.dumps(_unwrapped(prod.outputs), default=str)


def test_named_value_is_a_secret_read_from_the_versionless_secret_uri(prod: Recording) -> None:
    nv = named_value(prod)
    vault_name = vault(prod).get("vaultName")
    assert (nv.get("namedValueId"), nv.get("displayName"), nv.get("secret")) == (
        KEY_NAMED_VALUE,
        KEY_NAMED_VALUE,
        True,
    )
    assert nv.get("keyVault") == {"secretIdentifier": f"https://{vault_name}.vault.azure.net/secrets/{KEY_SECRET_NAME}"}
    assert nv.get("value") is None


def test_named_value_uses_the_apim_system_identity_not_a_client_id(prod: Recording) -> None:
    assert "identityClientId" not in named_value(prod).get("keyVault")


def test_named_value_waits_for_the_service_the_reader_role_and_the_private_dns(prod: Recording) -> None:
    nv = named_value(prod)
    for dependency in (
        prod.one(APIM),
        prod.one(ROLE, "safety-kv-role-key-vault-secrets-user"),
        zone_group_of(prod, endpoint_of(prod, "safety-kv-pe")),
        key_secret(prod),
    ):
        assert prod.depends_on(nv, dependency), dependency.name


# -- backend and fragment --------------------------------------------------------------------------
def test_backend_sends_the_key_header_from_the_named_value(prod: Recording) -> None:
    b = backend(prod)
    assert b.get("credentials") == {"header": {KEY_HEADER: ["{{content-safety-key}}"]}}
    assert KEY_HEADER == "Ocp-Apim-Subscription-Key"
    assert prod.depends_on(b, named_value(prod))


def test_backend_is_the_account_endpoint_over_validated_tls(prod: Recording) -> None:
    b = backend(prod)
    subdomain = account(prod).get("properties.customSubDomainName")
    assert (b.get("backendId"), b.get("type"), b.get("protocol")) == (BACKEND_ID, "Single", "http")
    assert b.get("url") == f"https://{subdomain}.cognitiveservices.azure.com"
    assert b.get("tls") == {"validateCertificateChain": True, "validateCertificateName": True}


def test_fragment_checks_prompts_with_the_prod_settings(prod: Recording) -> None:
    f = fragment(prod)
    assert (f.get("id"), f.get("format")) == (FRAGMENT_ID, "rawxml")
    assert fragment_xml(prod) == (
        "<fragment>\n"
        '\t<llm-content-safety backend-id="content-safety" shield-prompt="true">\n'
        '\t\t<categories output-type="FourSeverityLevels">\n'
        '\t\t\t<category name="Hate" threshold="4" />\n'
        '\t\t\t<category name="SelfHarm" threshold="4" />\n'
        '\t\t\t<category name="Sexual" threshold="4" />\n'
        '\t\t\t<category name="Violence" threshold="4" />\n'
        "\t\t</categories>\n"
        "\t</llm-content-safety>\n"
        "</fragment>\n"
    )


def test_fragment_follows_output_type_shield_and_unchecked_categories(eight_levels: Recording) -> None:
    xml = fragment_xml(eight_levels)
    assert 'shield-prompt="false"' in xml
    assert '<categories output-type="EightSeverityLevels">' in xml
    assert re.findall(r'<category name="(\w+)" threshold="(\d)" />', xml) == [("Hate", "3"), ("Violence", "5")]


def test_fragment_waits_for_its_backend(prod: Recording) -> None:
    assert prod.depends_on(fragment(prod), backend(prod))


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


def _unwrapped(value: Any) -> Any:
    if isinstance(value, Secret):
        return "[secret]"
    if isinstance(value, dict):
        return {k: _unwrapped(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_unwrapped(v) for v in value]
    return value
