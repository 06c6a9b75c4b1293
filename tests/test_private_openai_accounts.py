"""PrivateOpenAI, accounts and deployments: one locked-down Azure OpenAI account per configured account (no public
network access, no keys, deny by default, a unique custom subdomain, tagged with its tier, logs to the gateway
workspace), and its deployments as the settings give them, created one after another.

Asserted, for every account of both stacks, on the properties Azure receives.
"""

from __future__ import annotations

import re
from itertools import pairwise

from tests.private_openai_support import (
    ACCOUNT,
    COMPONENT,
    DIAGNOSTIC,
    WORKSPACE,
    account_resource,
    accounts_of,
    deployments_of,
    settings_of,
)
from tools.harness import Recording

# Azure's rule for a custom subdomain: 2-64 alphanumerics and hyphens, starting and ending alphanumeric.
SUBDOMAIN = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}[a-z0-9]$")


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
