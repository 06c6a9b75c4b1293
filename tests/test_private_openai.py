"""PrivateOpenAI: locked-down Azure OpenAI accounts, chained deployments, private endpoints, keyless access.

Asserted, for every account of both stacks, on the properties Azure receives; the settings rules without
the engine.
"""

from __future__ import annotations

import re
from functools import cache
from itertools import pairwise

import pytest

from components.access import ROLE_DEFINITIONS, assignment_name
from components.private_openai import backend_url
from components.settings import PROJECT, AccountSettings, GatewaySettings
from components.settings.openai import PROVISIONED_SKUS
from tests.support import DELETE, only, parse, problems, raw_config, with_value
from tools.azure_mocks import SUBSCRIPTION_ID, AzureMocks
from tools.harness import RecordedResource, Recording, Secret

COMPONENT = "genai-gateway:openai:PrivateOpenAI"
ACCOUNT = "azure-native:cognitiveservices:Account"
DEPLOYMENT = "azure-native:cognitiveservices:Deployment"
PRIVATE_ENDPOINT = "azure-native:network:PrivateEndpoint"
ZONE_GROUP = "azure-native:network:PrivateDnsZoneGroup"
ZONE = "azure-native:privatedns:PrivateZone"
ZONE_LINK = "azure-native:privatedns:VirtualNetworkLink"
ROLE = "azure-native:authorization:RoleAssignment"
DIAGNOSTIC = "azure-native:monitor:DiagnosticSetting"
IDENTITY = "azure-native:managedidentity:UserAssignedIdentity"
VNET = "azure-native:network:VirtualNetwork"
SUBNET = "azure-native:network:Subnet"
WORKSPACE = "azure-native:operationalinsights:Workspace"

OPENAI_USER_GUID = "5e0bd9bd-7b93-4f28-af87-19fc36ad61bd"
OPENAI_ZONE = "privatelink.openai.azure.com"
# Azure's rule for a custom subdomain: 2-64 alphanumerics and hyphens, starting and ending alphanumeric.
SUBDOMAIN = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}[a-z0-9]$")


# -- helpers ---------------------------------------------------------------------------------------
@cache
def settings_of(stack: str) -> GatewaySettings:
    return parse(raw_config(stack))


def accounts_of(recording: Recording) -> list[AccountSettings]:
    return list(settings_of(recording.stack).openai.accounts)


def account_resource(recording: Recording, account: AccountSettings) -> RecordedResource:
    return recording.one(ACCOUNT, f"openai-{account.name}")


def deployments_of(recording: Recording, account: AccountSettings) -> list[RecordedResource]:
    return [recording.one(DEPLOYMENT, f"openai-{account.name}-{d.name}") for d in account.deployments]


def private_endpoint_of(recording: Recording, account: AccountSettings) -> RecordedResource:
    target = account_resource(recording, account).id
    found = [
        pe
        for pe in recording.of_type(PRIVATE_ENDPOINT)
        if pe.get("privateLinkServiceConnections.0.privateLinkServiceId") == target
    ]
    assert len(found) == 1, f"{account.name}: expected one private endpoint, found {[pe.name for pe in found]}"
    return found[0]


def openai_zone(recording: Recording) -> RecordedResource:
    zones = [z for z in recording.of_type(ZONE) if z.get("privateZoneName") == OPENAI_ZONE]
    assert len(zones) == 1, [z.name for z in zones]
    return zones[0]


def gateway_principal_id(recording: Recording) -> str:
    """The principal id Azure assigns the gateway identity (the mock fabricates it from the resource name)."""
    identity = recording.one(IDENTITY, "gateway-identity")
    return AzureMocks(recording.stack)._guid(identity.name, "principal")


def exported_accounts(recording: Recording) -> dict[str, dict]:
    return {entry["name"]: entry for entry in recording.outputs["openaiAccounts"]}


def contains_secret(value: object) -> bool:
    if isinstance(value, Secret):
        return True
    if isinstance(value, dict):
        return any(contains_secret(v) for v in value.values())
    if isinstance(value, list):
        return any(contains_secret(v) for v in value)
    return False


# -- accounts --------------------------------------------------------------------------------------
def test_one_account_per_configured_account_all_children_of_the_component(stack: Recording) -> None:
    component = stack.one(COMPONENT, "openai")
    openai_accounts = [r for r in stack.of_type(ACCOUNT) if r.get("kind") == "OpenAI"]
    assert sorted(r.name for r in openai_accounts) == sorted(f"openai-{a.name}" for a in accounts_of(stack))
    for account in accounts_of(stack):
        assert account_resource(stack, account).parent == component.urn


def test_accounts_are_kind_openai_with_sku_s0(stack: Recording) -> None:
    for account in accounts_of(stack):
        resource = account_resource(stack, account)
        assert resource.get("kind") == "OpenAI"
        assert resource.get("sku") == {"name": "S0"}


def test_accounts_live_in_their_own_region(stack: Recording) -> None:
    for account in accounts_of(stack):
        assert account_resource(stack, account).get("location") == account.location


def test_accounts_refuse_public_network_access(stack: Recording) -> None:
    for account in accounts_of(stack):
        assert account_resource(stack, account).get("properties.publicNetworkAccess") == "Disabled"


def test_accounts_accept_no_api_keys(stack: Recording) -> None:
    for account in accounts_of(stack):
        assert account_resource(stack, account).get("properties.disableLocalAuth") is True


def test_account_network_acls_default_to_deny_with_no_exceptions(stack: Recording) -> None:
    for account in accounts_of(stack):
        acls = account_resource(stack, account).get("properties.networkAcls")
        assert acls == {"defaultAction": "Deny", "ipRules": [], "virtualNetworkRules": []}


def test_accounts_have_a_system_assigned_identity(stack: Recording) -> None:
    for account in accounts_of(stack):
        assert account_resource(stack, account).get("identity") == {"type": "SystemAssigned"}


def test_custom_subdomain_is_globally_unique_and_within_azure_rules(stack: Recording) -> None:
    settings = settings_of(stack.stack)
    subdomains = []
    for account in accounts_of(stack):
        resource = account_resource(stack, account)
        subdomain = resource.get("properties.customSubDomainName")
        assert subdomain == resource.get("accountName")
        assert SUBDOMAIN.match(subdomain), subdomain
        # prefix, environment, account and the stack-wide 5-character random suffix
        expected = rf"oai-{settings.name_prefix}-{settings.environment}-{account.name}-[a-z0-9]{{5}}"
        assert re.fullmatch(expected, subdomain), subdomain
        subdomains.append(subdomain)
    assert len(set(subdomains)) == len(subdomains)


def test_accounts_are_tagged_with_their_capacity_tier(stack: Recording) -> None:
    for account in accounts_of(stack):
        tags = account_resource(stack, account).get("tags")
        expected = "ptu-simulated" if account.simulated else account.tier
        assert tags["capacityTier"] == expected
        assert tags["openaiAccount"] == account.name


def test_accounts_are_protected_in_production_only(stack: Recording) -> None:
    production = settings_of(stack.stack).is_production
    for account in accounts_of(stack):
        assert account_resource(stack, account).protect is production


# -- deployments -----------------------------------------------------------------------------------
def test_deployments_carry_model_sku_capacity_and_upgrade_policy_from_settings(stack: Recording) -> None:
    for account in accounts_of(stack):
        account_name = account_resource(stack, account).get("accountName")
        for settings, resource in zip(account.deployments, deployments_of(stack, account), strict=True):
            assert resource.get("deploymentName") == settings.name
            assert resource.get("accountName") == account_name
            assert resource.get("properties.model") == {
                "format": "OpenAI",
                "name": settings.model.name,
                "version": settings.model.version,
            }
            assert resource.get("sku") == {"name": settings.sku, "capacity": settings.capacity}
            assert resource.get("properties.versionUpgradeOption") == settings.upgrade_option


def test_deployments_on_one_account_are_created_one_after_another(stack: Recording) -> None:
    for account in accounts_of(stack):
        deployments = deployments_of(stack, account)
        for earlier, later in pairwise(deployments):
            assert stack.depends_on(later, earlier), f"{later.name} does not wait for {earlier.name}"
            assert not stack.depends_on(earlier, later)


def test_every_deployment_waits_for_its_account(stack: Recording) -> None:
    for account in accounts_of(stack):
        resource = account_resource(stack, account)
        for deployment in deployments_of(stack, account):
            assert stack.depends_on(deployment, resource)


# -- private endpoints and DNS ---------------------------------------------------------------------
def test_one_shared_openai_zone_linked_to_the_gateway_vnet_without_registration(stack: Recording) -> None:
    zone = openai_zone(stack)
    assert zone.get("location") == "global"
    links = [link for link in stack.of_type(ZONE_LINK) if link.get("privateZoneName") == OPENAI_ZONE]
    assert len(links) == 1
    assert links[0].get("registrationEnabled") is False
    assert links[0].get("virtualNetwork.id") == stack.one(VNET).id


def test_each_account_has_a_private_endpoint_for_group_account(stack: Recording) -> None:
    for account in accounts_of(stack):
        connection = private_endpoint_of(stack, account).get("privateLinkServiceConnections.0")
        assert connection["privateLinkServiceId"] == account_resource(stack, account).id
        assert connection["groupIds"] == ["account"]


def test_private_endpoints_sit_in_the_gateway_subnet_and_region_whatever_the_account_region(
    stack: Recording,
) -> None:
    subnet = stack.one(SUBNET, "gateway-pe-subnet")
    gateway_location = settings_of(stack.stack).location
    for account in accounts_of(stack):
        endpoint = private_endpoint_of(stack, account)
        assert endpoint.get("subnet.id") == subnet.id
        assert endpoint.get("location") == gateway_location


def test_private_endpoint_registers_in_the_openai_zone(stack: Recording) -> None:
    zone = openai_zone(stack)
    for account in accounts_of(stack):
        endpoint = private_endpoint_of(stack, account)
        groups = [g for g in stack.of_type(ZONE_GROUP) if g.parent == endpoint.urn]
        assert len(groups) == 1
        assert groups[0].get("privateEndpointName") == endpoint.get("privateEndpointName")
        assert groups[0].get("privateDnsZoneConfigs") == [{"name": "account", "privateDnsZoneId": zone.id}]


# -- keyless access and logs -----------------------------------------------------------------------
def test_gateway_identity_is_openai_user_on_each_account(stack: Recording) -> None:
    principal = gateway_principal_id(stack)
    role_id = f"/subscriptions/{SUBSCRIPTION_ID}/providers/Microsoft.Authorization/roleDefinitions/{OPENAI_USER_GUID}"
    assert ROLE_DEFINITIONS["Cognitive Services OpenAI User"] == OPENAI_USER_GUID
    for account in accounts_of(stack):
        scope = account_resource(stack, account).id
        assert scope is not None
        assignments = [r for r in stack.of_type(ROLE) if r.get("scope") == scope and r.get("principalId") == principal]
        assert len(assignments) == 1, [r.name for r in assignments]
        assignment = assignments[0]
        assert assignment.get("roleDefinitionId") == role_id
        assert assignment.get("principalId") == principal
        assert assignment.get("principalType") == "ServicePrincipal"
        assert assignment.get("roleAssignmentName") == assignment_name(
            scope, principal, "Cognitive Services OpenAI User"
        )


def test_account_logs_go_to_the_gateway_workspace(stack: Recording) -> None:
    workspace = stack.one(WORKSPACE)
    for account in accounts_of(stack):
        scope = account_resource(stack, account).id
        settings = [d for d in stack.of_type(DIAGNOSTIC) if d.get("resourceUri") == scope]
        assert len(settings) == 1
        assert settings[0].get("workspaceId") == workspace.id
        assert settings[0].get("logs") == [{"categoryGroup": "allLogs", "enabled": True}]
        # Cognitive Services has no resource-specific tables: its logs land in AzureDiagnostics.
        assert settings[0].get("logAnalyticsDestinationType") is None


# -- capacity tiers and outputs --------------------------------------------------------------------
def test_dev_shows_its_simulated_ptu_in_tags_and_outputs(dev: Recording) -> None:
    ptu = settings_of("dev").openai.account("ptu-1")
    assert ptu.tier == "ptu" and ptu.simulated
    assert account_resource(dev, ptu).get("tags.capacityTier") == "ptu-simulated"
    assert exported_accounts(dev)["ptu-1"]["simulated"] is True
    assert exported_accounts(dev)["ptu-1"]["tier"] == "ptu"
    for deployment in deployments_of(dev, ptu):
        assert deployment.get("sku.name") not in PROVISIONED_SKUS


def test_prod_has_real_provisioned_ptu_and_no_simulation(prod: Recording) -> None:
    assert all(r.get("tags.capacityTier") != "ptu-simulated" for r in prod.of_type(ACCOUNT))
    assert all(entry["simulated"] is False for entry in exported_accounts(prod).values())
    ptu = settings_of("prod").openai.account("ptu-1")
    assert {d.get("sku.name") for d in deployments_of(prod, ptu)} <= PROVISIONED_SKUS


def test_prod_pay_as_you_go_spans_two_regions_with_the_same_deployment_names(prod: Recording) -> None:
    paygo = [a for a in accounts_of(prod) if a.tier == "paygo"]
    assert len({a.location for a in paygo}) == 2
    assert len({tuple(a.deployment_names) for a in paygo}) == 1


def test_exported_account_summary_is_plain_and_matches_the_accounts(stack: Recording) -> None:
    exported = stack.outputs["openaiAccounts"]
    assert not contains_secret(exported)
    by_name = exported_accounts(stack)
    assert list(by_name) == [a.name for a in accounts_of(stack)]
    for account in accounts_of(stack):
        entry = by_name[account.name]
        subdomain = account_resource(stack, account).get("properties.customSubDomainName")
        assert entry["accountName"] == account_resource(stack, account).get("accountName")
        assert entry["region"] == account.location
        assert entry["tier"] == account.tier
        assert entry["simulated"] is account.simulated
        assert entry["endpoint"] == f"https://{subdomain}.openai.azure.com/"
        assert entry["backendUrl"] == f"https://{subdomain}.openai.azure.com/openai"
        assert entry["deployments"] == [
            {"name": d.name, "model": d.model.name, "version": d.model.version, "sku": d.sku, "capacity": d.capacity}
            for d in account.deployments
        ]


@pytest.mark.parametrize("endpoint", ["https://oai-x.openai.azure.com/", "https://oai-x.openai.azure.com"])
def test_backend_url_is_the_endpoint_plus_openai_without_a_double_slash(endpoint: str) -> None:
    assert backend_url(endpoint) == "https://oai-x.openai.azure.com/openai"


# -- settings validation (no engine) ---------------------------------------------------------------
KEY = f"{PROJECT}:openai"


def openai_problems(config: dict) -> list[str]:
    """The error lines about `openai` (rules elsewhere, e.g. pools naming accounts, are not under test here)."""
    return [line for line in problems(config) if line.startswith(f"{KEY}:") or line.startswith(f"{KEY}.")]



def test_both_stacks_have_valid_openai_settings(dev_config: dict, prod_config: dict) -> None:
    assert openai_problems(dev_config) == []
    assert openai_problems(prod_config) == []
    assert settings_of("dev").openai.account("paygo-1").deployment_names == ["gpt-5.4", "text-embedding-3-small"]


def test_openai_section_is_required(dev_config: dict) -> None:
    assert only(openai_problems(with_value(dev_config, "openai", DELETE))) == f"{KEY}: (missing): required key"


def test_at_least_one_account_is_required(dev_config: dict) -> None:
    line = only(openai_problems(with_value(dev_config, "openai.accounts", [])))
    assert line == f"{KEY}.accounts: []: list should have at least 1 item after validation, not 0"


def test_an_account_needs_at_least_one_deployment(dev_config: dict) -> None:
    line = only(openai_problems(with_value(dev_config, "openai.accounts.1.deployments", [])))
    assert line.startswith(f"{KEY}.accounts['paygo-1'].deployments: []:")


def test_account_names_must_be_unique(dev_config: dict) -> None:
    line = only(openai_problems(with_value(dev_config, "openai.accounts.2.name", "paygo-1")))
    assert line == f"{KEY}.accounts[2].name: 'paygo-1': account names must be unique; already used by accounts[1]"


def test_deployment_names_must_be_unique_within_an_account(dev_config: dict) -> None:
    line = only(openai_problems(with_value(dev_config, "openai.accounts.1.deployments.1.name", "gpt-5.4")))
    assert line == (
        f"{KEY}.accounts['paygo-1'].deployments[1].name: 'gpt-5.4': "
        "deployment names must be unique in an account; already used by deployments[0]"
    )


@pytest.mark.parametrize("capacity", [0, -10])
def test_capacity_must_be_greater_than_zero(dev_config: dict, capacity: int) -> None:
    line = only(openai_problems(with_value(dev_config, "openai.accounts.0.deployments.0.capacity", capacity)))
    assert line == (
        f"{KEY}.accounts['ptu-1'].deployments['gpt-5.4'].capacity: "
        f"{capacity}: input should be greater than 0"
    )


def test_unknown_deployment_sku_is_rejected_with_the_known_ones(dev_config: dict) -> None:
    line = only(openai_problems(with_value(dev_config, "openai.accounts.1.deployments.0.sku", "PayAsYouGo")))
    assert line.startswith(f"{KEY}.accounts['paygo-1'].deployments['gpt-5.4'].sku: 'PayAsYouGo': ")
    for sku in ("Standard", "GlobalStandard", "DataZoneStandard", *sorted(PROVISIONED_SKUS)):
        assert f"'{sku}'" in line


def test_unknown_version_upgrade_option_is_rejected(dev_config: dict) -> None:
    config = with_value(dev_config, "openai.accounts.0.deployments.0.versionUpgradeOption", "Always")
    line = only(openai_problems(config))
    assert line.startswith(f"{KEY}.accounts['ptu-1'].deployments['gpt-5.4'].versionUpgradeOption: 'Always': ")
    assert "'NoAutoUpgrade'" in line


def test_model_format_is_not_configurable(dev_config: dict) -> None:
    model = {"name": "gpt-5.4", "version": "2026-03-05", "format": "OpenAI"}
    line = only(openai_problems(with_value(dev_config, "openai.accounts.0.deployments.0.model", model)))
    assert line.startswith(f"{KEY}.accounts['ptu-1'].deployments['gpt-5.4'].model.format: unknown key")


def test_ptu_account_needs_a_provisioned_sku(prod_config: dict) -> None:
    line = only(openai_problems(with_value(prod_config, "openai.accounts.0.deployments.0.sku", "GlobalStandard")))
    assert line.startswith(
        f"{KEY}.accounts['ptu-1'].deployments['gpt-5.4'].sku: "
        f"'GlobalStandard': a ptu account needs a provisioned"
    )
    assert "simulated: true" in line


def test_simulated_ptu_must_not_use_a_provisioned_sku(dev_config: dict) -> None:
    config = with_value(dev_config, "openai.accounts.0.deployments.0.sku", "GlobalProvisionedManaged")
    line = only(openai_problems(config))
    assert line.startswith(
        f"{KEY}.accounts['ptu-1'].deployments['gpt-5.4'].sku: "
        f"'GlobalProvisionedManaged': a simulated PTU"
    )


def test_only_a_ptu_account_can_be_simulated(dev_config: dict) -> None:
    line = only(openai_problems(with_value(dev_config, "openai.accounts.1.simulated", True)))
    assert line == f"{KEY}.accounts['paygo-1'].simulated: true: only a ptu account can be simulated; tier is 'paygo'"


def test_paygo_account_cannot_use_a_provisioned_sku(dev_config: dict) -> None:
    line = only(openai_problems(with_value(dev_config, "openai.accounts.2.deployments.0.sku", "ProvisionedManaged")))
    assert line.startswith(
        f"{KEY}.accounts['paygo-2'].deployments['gpt-5.4'].sku: "
        f"'ProvisionedManaged': a paygo account uses"
    )


def test_prod_does_not_allow_a_simulated_ptu(prod_config: dict) -> None:
    config = with_value(prod_config, "openai.accounts.0.simulated", True)
    config = with_value(config, "openai.accounts.0.deployments.0.sku", "GlobalStandard")
    line = only(openai_problems(config))
    assert line.startswith(
        f"{KEY}.accounts['ptu-1'].simulated: true: "
        f"a simulated PTU is not allowed in environment 'prod'"
    )


def test_a_simulated_ptu_is_allowed_outside_production(dev_config: dict) -> None:
    assert settings_of("dev").openai.account("ptu-1").simulated
    assert openai_problems(dev_config) == []


@pytest.mark.parametrize("name", ["PTU-1", "ptu_1", "-ptu", "ptu-", "ptu.1", "p tu"])
def test_account_name_is_lowercase_letters_digits_and_inner_hyphens(dev_config: dict, name: str) -> None:
    line = only(openai_problems(with_value(dev_config, "openai.accounts.0.name", name)))
    assert line == (
        f"{KEY}.accounts[{name!r}].name: {name!r}: must be lowercase letters, digits and hyphens, starting and "
        "ending with a letter or digit, such as 'paygo-1'"
    )


def test_account_name_must_leave_the_custom_subdomain_within_64_characters(dev_config: dict) -> None:
    # oai-genai-dev-<name>-<5-char suffix>: 14 + name + 6 characters
    longest = "a" * 44
    assert openai_problems(with_value(dev_config, "openai.accounts.0.name", longest)) == []
    line = only(openai_problems(with_value(dev_config, "openai.accounts.0.name", longest + "b")))
    assert line.startswith(f"{KEY}.accounts['{longest}b'].name: '{longest}b': the custom subdomain")
    assert "would be 65 characters (Azure allows at most 64); use at most 44 characters" in line


def test_subdomain_limit_accounts_for_a_longer_environment_name(prod_config: dict) -> None:
    # oai-genai-prod-<name>-<suffix>: one more character of environment leaves one fewer for the name
    assert openai_problems(with_value(prod_config, "openai.accounts.1.name", "a" * 43)) == []
    line = only(openai_problems(with_value(prod_config, "openai.accounts.1.name", "a" * 44)))
    assert "use at most 43 characters" in line
