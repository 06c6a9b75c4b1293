"""Azure resource names, derived from the stack's prefix, environment and a stack-wide random suffix."""

from __future__ import annotations

import re
from dataclasses import dataclass

import pulumi

# An OpenAI account's custom subdomain (and Azure name) is `unique(ACCOUNT_ABBREVIATION, <account name>)`;
# Azure allows 2-64 alphanumerics and hyphens (components/settings/openai.py checks the length).
ACCOUNT_ABBREVIATION = "oai"
SUBDOMAIN_MAX_LENGTH = 64


@dataclass(frozen=True)
class Naming:
    prefix: str
    environment: str
    # Globally unique names (APIM, OpenAI subdomains, namespaces) carry it; created once per stack.
    suffix: pulumi.Output[str]

    def regional(self, abbreviation: str, *parts: str) -> str:
        """A name unique inside its resource group, e.g. `vnet-genai-dev`."""
        return "-".join([abbreviation, self.prefix, self.environment, *parts])

    def unique(self, abbreviation: str, *parts: str, max_length: int = 50) -> pulumi.Output[str]:
        """A globally unique DNS-style name, e.g. `apim-genai-dev-k3x9q`."""
        base = self.regional(abbreviation, *parts)
        return self.suffix.apply(lambda s: _fit(f"{base}-{s}", max_length))

    def unique_alphanumeric(self, abbreviation: str, max_length: int = 24) -> pulumi.Output[str]:
        """For services that allow only lower-case letters and digits (storage accounts)."""
        base = re.sub(r"[^a-z0-9]", "", f"{abbreviation}{self.prefix}{self.environment}")
        return self.suffix.apply(lambda s: (base[: max_length - len(s)] + s))


def _fit(name: str, max_length: int) -> str:
    if len(name) <= max_length:
        return name
    head, _, suffix = name.rpartition("-")
    return f"{head[: max_length - len(suffix) - 1].rstrip('-')}-{suffix}"
