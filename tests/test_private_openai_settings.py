"""PrivateOpenAI, settings (no engine): a wrong `openai` setting stops the program before any resource is declared,
naming the key, the value and what is allowed: accounts, deployments, SKUs per tier, simulated PTU, names.
"""

from __future__ import annotations

import pytest

from components.settings import PROJECT
from components.settings.openai import PROVISIONED_SKUS
from tests.private_openai_support import settings_of
from tests.support import DELETE, only, problems, with_value

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
