"""Optional public ingress: Application Gateway WAF_v2 in front of an Internal gateway."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import TYPE_CHECKING, Literal

from pydantic import Field

from .apim import Zone
from .base import Model, Problem
from .forms import Form, matching, resource_id

if TYPE_CHECKING:
    from . import GatewaySettings

FQDN = Form(
    r"^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$",
    "a fully qualified host name in lowercase, such as 'genai.contoso.com': dot-separated labels of up to 63 "
    "letters, digits or inner hyphens, ending in a top-level domain of letters",
)
# Versionless, so the listener follows certificate rotation in the vault.
KEY_VAULT_SECRET_ID = Form(
    r"^https://(?P<vault>[a-zA-Z0-9-]{3,24})\.vault\.azure\.net/secrets/[a-zA-Z0-9-]{1,127}/?$",
    "the versionless id of a Key Vault secret: https://<vault>.vault.azure.net/secrets/<secret name>, "
    "without a version, so that the listener follows certificate rotation",
)
KEY_VAULT_ID = resource_id(
    "a key vault",
    r"^/subscriptions/[0-9a-fA-F-]{36}/resourceGroups/[^/]+/providers/Microsoft\.KeyVault/vaults/"
    r"(?P<vault>[a-zA-Z0-9-]{3,24})$",
    "Microsoft.KeyVault/vaults/<vault name>",
)
WafRuleSet = Literal["OWASP_3.2", "Microsoft_DefaultRuleSet_2.1"]
# How long resources that Azure checks against a fresh role assignment wait for it to propagate (seconds).
ROLE_PROPAGATION_SECONDS = 180
MAX_ROLE_PROPAGATION_SECONDS = 1800


class IngressSettings(Model):
    enabled: bool = False
    host_name: str | None = matching(FQDN, None, max_length=253)
    certificate_secret_id: str | None = matching(KEY_VAULT_SECRET_ID, None)
    key_vault_id: str | None = matching(KEY_VAULT_ID, None)
    waf_rule_set: WafRuleSet = "OWASP_3.2"
    waf_mode: Literal["Prevention", "Detection"] = "Prevention"
    min_capacity: int = Field(2, ge=0, le=125)
    max_capacity: int = Field(10, ge=2, le=125)
    zones: list[Zone] = Field(default_factory=list)
    # The gateway reads its certificate with a fresh Key Vault Secrets User assignment: wait this long after it.
    role_propagation_seconds: int = Field(ROLE_PROPAGATION_SECONDS, ge=0, le=MAX_ROLE_PROPAGATION_SECONDS)

    def problems(self, key: str, whole: GatewaySettings) -> Iterable[Problem]:
        if not self.enabled:
            return
        for field in ("host_name", "certificate_secret_id", "key_vault_id"):
            if getattr(self, field) is None:
                alias = type(self).model_fields[field].alias
                yield Problem(f"{key}.{alias}", "(missing)", "required when ingress.enabled is true")
        if whole.apim.network_mode != "Internal":
            yield Problem(
                f"{key}.enabled",
                "true",
                f"the WAF ingress fronts an Internal gateway; apim.networkMode is {whole.apim.network_mode!r}",
            )
        if self.min_capacity > self.max_capacity:
            yield Problem(
                f"{key}.minCapacity",
                str(self.min_capacity),
                f"must not exceed maxCapacity ({self.max_capacity})",
            )
        if self.certificate_secret_id and self.key_vault_id:
            secret_vault = re.match(KEY_VAULT_SECRET_ID.pattern, self.certificate_secret_id)
            vault = re.match(KEY_VAULT_ID.pattern, self.key_vault_id)
            if secret_vault and vault and secret_vault["vault"].lower() != vault["vault"].lower():
                yield Problem(
                    f"{key}.certificateSecretId",
                    repr(self.certificate_secret_id),
                    f"must be a secret of the vault named by keyVaultId ({vault['vault']})",
                )

    @property
    def certificate_secret_name(self) -> str:
        """The secret's name in its vault (the last segment of the versionless secret id)."""
        return (self.certificate_secret_id or "").rstrip("/").rsplit("/", 1)[-1]

    @property
    def waf_rule_set_type(self) -> str:
        return self.waf_rule_set.rsplit("_", 1)[0]

    @property
    def waf_rule_set_version(self) -> str:
        return self.waf_rule_set.rsplit("_", 1)[1]
