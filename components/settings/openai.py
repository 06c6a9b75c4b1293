"""The Azure OpenAI capacity the gateway fronts: accounts (PTU or pay-as-you-go), their regions and deployments."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Literal

from pydantic import Field

from ..gateway_checks import ACCOUNT_NAME_PATTERN, DEPLOYMENT_NAME_PATTERN
from .base import Model, Problem, item_key
from .forms import REGION, Form, matching

if TYPE_CHECKING:
    from . import GatewaySettings

Tier = Literal["ptu", "paygo"]
DeploymentSku = Literal[
    "Standard",
    "GlobalStandard",
    "DataZoneStandard",
    "ProvisionedManaged",
    "GlobalProvisionedManaged",
    "DataZoneProvisionedManaged",
]
VersionUpgradeOption = Literal["OnceNewDefaultVersionAvailable", "OnceCurrentVersionExpired", "NoAutoUpgrade"]

# Capacity of these SKUs is in PTUs; of the others in thousands of tokens per minute.
PROVISIONED_SKUS: frozenset[str] = frozenset(
    {"ProvisionedManaged", "GlobalProvisionedManaged", "DataZoneProvisionedManaged"}
)
# Smallest deployment and step of a provisioned deployment, in PTUs. Global and Data Zone provisioned: 15, then
# steps of 5; regional provisioned: 50 in steps of 50, or 25 in steps of 25 for mini and nano models (the
# provisioned minimums in the shared azure-facts.md; Azure's model capacities API reports the per-model values).
PTU_MINIMUM_AND_STEP: dict[str, tuple[int, int]] = {
    "GlobalProvisionedManaged": (15, 5),
    "DataZoneProvisionedManaged": (15, 5),
    "ProvisionedManaged": (50, 50),
}
REGIONAL_SMALL_MODEL_PTU = (25, 25)
# Which upgrade option a deployment gets when the stack does not say. Automatic model updates exist only for
# the Standard deployment types ("Automatic model updates are only supported for Standard deployment types",
# azure-ai-docs articles/foundry/openai/how-to/working-with-models.md, 2026-02-12):
# - Standard, GlobalStandard, DataZoneStandard: OnceCurrentVersionExpired. The version stays pinned (every
#   member of a pool serves the same version, and the model-lifecycle guardrail warns 90 days before the
#   retirement), yet at retirement the deployment moves to the default version instead of answering errors
#   (NoAutoUpgrade "stops working" then). OnceNewDefaultVersionAvailable would change the model under the
#   consumers within two weeks of a new default, on each account at its own time.
# - Provisioned types: NoAutoUpgrade, which states what happens: provisioned deployments are never upgraded
#   automatically; they move by an in-place migration (a new version in the same deployment) that the stack
#   declares. An automatic option there is refused rather than silently meaningless.
STANDARD_UPGRADE_OPTION = "OnceCurrentVersionExpired"
PROVISIONED_UPGRADE_OPTION = "NoAutoUpgrade"

# The account name is used in Azure names and as the gateway's backend id.
ACCOUNT_NAME = Form(
    ACCOUNT_NAME_PATTERN,
    "lowercase letters, digits and hyphens, starting and ending with a letter or digit, such as 'paygo-1'",
)
DEPLOYMENT_NAME = Form(
    DEPLOYMENT_NAME_PATTERN,
    "2 to 64 letters, digits, hyphens, underscores or periods, starting with a letter or digit, such as 'gpt-4.1'",
)
MODEL_NAME = Form(
    r"^[a-z0-9][a-z0-9.-]*$",
    "a model name as Azure OpenAI lists it: lowercase letters, digits, periods and hyphens, starting with a "
    "letter or digit, such as 'gpt-4.1-mini'",
)
MODEL_VERSION = Form(
    r"^[A-Za-z0-9][A-Za-z0-9.-]*$",
    "a model version as Azure OpenAI lists it: letters, digits, periods and hyphens, starting with a letter or "
    "digit, such as '2025-04-14'",
)

# The custom subdomain (and Azure name) of an account is Naming.unique(ACCOUNT_ABBREVIATION, <account name>):
# `oai-<prefix>-<environment>-<account>-<suffix>`. Azure allows 2-64 alphanumerics and hyphens, starting and
# ending with an alphanumeric; the prefix and the suffix guarantee both ends, the length is checked below.
from ..naming import ACCOUNT_ABBREVIATION, SUBDOMAIN_MAX_LENGTH  # noqa: E402 (kept next to the rule they serve)

# Length of the stack-wide random suffix (ApimBaseline's RandomString).
UNIQUE_SUFFIX_LENGTH = 5


class ModelSettings(Model):
    """An OpenAI model (format is always OpenAI)."""

    name: str = matching(MODEL_NAME, max_length=64)
    version: str = matching(MODEL_VERSION, max_length=32)


class DeploymentSettings(Model):
    name: str = matching(DEPLOYMENT_NAME)
    model: ModelSettings
    sku: DeploymentSku
    # Thousands of tokens per minute for Standard SKUs, PTUs for provisioned ones.
    capacity: int = Field(gt=0)
    # None: the default of the deployment type (STANDARD_UPGRADE_OPTION / PROVISIONED_UPGRADE_OPTION).
    version_upgrade_option: VersionUpgradeOption | None = None

    @property
    def provisioned(self) -> bool:
        return self.sku in PROVISIONED_SKUS

    @property
    def upgrade_option(self) -> str:
        """The versionUpgradeOption the deployment is created with."""
        if self.version_upgrade_option is not None:
            return self.version_upgrade_option
        return PROVISIONED_UPGRADE_OPTION if self.provisioned else STANDARD_UPGRADE_OPTION

    @property
    def ptu_minimum_and_step(self) -> tuple[int, int] | None:
        """(smallest deployment, step) in PTUs for a provisioned SKU; None for the Standard types."""
        if not self.provisioned:
            return None
        if self.sku == "ProvisionedManaged" and any(w in self.model.name.split("-") for w in ("mini", "nano")):
            return REGIONAL_SMALL_MODEL_PTU
        return PTU_MINIMUM_AND_STEP[self.sku]


class AccountSettings(Model):
    name: str = matching(ACCOUNT_NAME)
    # Same form as the gateway's own location.
    location: str = matching(REGION)
    tier: Tier
    # A Standard deployment standing in for PTU capacity (cheap dev environments only).
    simulated: bool = False
    deployments: list[DeploymentSettings] = Field(min_length=1)

    @property
    def deployment_names(self) -> list[str]:
        return [d.name for d in self.deployments]

    @property
    def capacity_tier(self) -> str:
        """`ptu`, `ptu-simulated` or `paygo`: what the plan and the account's tags show."""
        return "ptu-simulated" if self.tier == "ptu" and self.simulated else self.tier


class OpenAISettings(Model):
    accounts: list[AccountSettings] = Field(min_length=1)

    def account(self, name: str) -> AccountSettings:
        for account in self.accounts:
            if account.name == name:
                return account
        raise KeyError(f"no OpenAI account {name!r}; known: {', '.join(a.name for a in self.accounts)}")

    def problems(self, key: str, whole: GatewaySettings) -> Iterable[Problem]:
        first_index: dict[str, int] = {}
        for i, account in enumerate(self.accounts):
            at = item_key(f"{key}.accounts", self.accounts, i)
            if account.name in first_index:
                yield Problem(
                    f"{at}.name",
                    repr(account.name),
                    f"account names must be unique; already used by accounts[{first_index[account.name]}]",
                )
            first_index.setdefault(account.name, i)
            yield from _account_problems(account, at, whole)


def subdomain_length(account_name: str, name_prefix: str, environment: str) -> int:
    """Length of the account's custom subdomain, `oai-<prefix>-<environment>-<account>-<suffix>`."""
    base = "-".join([ACCOUNT_ABBREVIATION, name_prefix, environment, account_name])
    return len(base) + 1 + UNIQUE_SUFFIX_LENGTH


def _account_problems(account: AccountSettings, at: str, whole: GatewaySettings) -> Iterable[Problem]:
    length = subdomain_length(account.name, whole.name_prefix, whole.environment)
    if length > SUBDOMAIN_MAX_LENGTH:
        room = len(account.name) - (length - SUBDOMAIN_MAX_LENGTH)
        yield Problem(
            f"{at}.name",
            repr(account.name),
            f"the custom subdomain {ACCOUNT_ABBREVIATION}-{whole.name_prefix}-{whole.environment}-<name>-<suffix> "
            f"would be {length} characters (Azure allows at most {SUBDOMAIN_MAX_LENGTH}); "
            f"use at most {room} characters",
        )
    if account.simulated and account.tier != "ptu":
        yield Problem(f"{at}.simulated", "true", f"only a ptu account can be simulated; tier is {account.tier!r}")
    if account.simulated and whole.is_production:
        yield Problem(
            f"{at}.simulated",
            "true",
            f"a simulated PTU is not allowed in environment {whole.environment!r}; use a provisioned SKU",
        )
    seen: dict[str, int] = {}
    for j, deployment in enumerate(account.deployments):
        where = item_key(f"{at}.deployments", account.deployments, j)
        if deployment.name in seen:
            yield Problem(
                f"{where}.name",
                repr(deployment.name),
                f"deployment names must be unique in an account; already used by deployments[{seen[deployment.name]}]",
            )
        seen.setdefault(deployment.name, j)
        sku_problems = list(_sku_problems(account, deployment, f"{where}.sku"))
        yield from sku_problems
        if not sku_problems:  # sizes and upgrade options only mean something for a SKU the account may use
            yield from _provisioned_problems(deployment, where)


def _provisioned_problems(deployment: DeploymentSettings, where: str) -> Iterable[Problem]:
    sizing = deployment.ptu_minimum_and_step
    if sizing is None:
        return
    minimum, step = sizing
    if deployment.capacity < minimum or deployment.capacity % step:
        yield Problem(
            f"{where}.capacity",
            str(deployment.capacity),
            f"{deployment.sku} of {deployment.model.name} is sized in PTUs: at least {minimum}, in steps of {step}",
        )
    if deployment.version_upgrade_option not in (None, PROVISIONED_UPGRADE_OPTION):
        yield Problem(
            f"{where}.versionUpgradeOption",
            repr(deployment.version_upgrade_option),
            f"automatic model updates exist only for Standard deployment types; a {deployment.sku} deployment "
            f"uses {PROVISIONED_UPGRADE_OPTION} and moves to a new version by changing model.version",
        )


def _sku_problems(account: AccountSettings, deployment: DeploymentSettings, at: str) -> Iterable[Problem]:
    provisioned = ", ".join(sorted(PROVISIONED_SKUS))
    if account.tier == "ptu" and not account.simulated and not deployment.provisioned:
        yield Problem(
            at,
            repr(deployment.sku),
            f"a ptu account needs a provisioned SKU ({provisioned}), or simulated: true for a stand-in",
        )
    elif account.tier == "ptu" and account.simulated and deployment.provisioned:
        yield Problem(
            at,
            repr(deployment.sku),
            "a simulated PTU stands in with a Standard, GlobalStandard or DataZoneStandard deployment; "
            "remove simulated to deploy real provisioned capacity",
        )
    elif account.tier == "paygo" and deployment.provisioned:
        yield Problem(
            at,
            repr(deployment.sku),
            "a paygo account uses Standard, GlobalStandard or DataZoneStandard; provisioned capacity belongs "
            "in a ptu account",
        )
