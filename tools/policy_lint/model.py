"""What the lint reads and reports: document kinds, the names a plan declares, where a fragment is included,
and the lint's findings."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from typing import Literal

Kind = Literal["fragment", "api", "product", "operation", "global"]
Level = Literal["error", "advisory"]

SECTIONS = ("inbound", "backend", "outbound", "on-error")

FRAGMENT_TYPE = "azure-native:apimanagement:PolicyFragment"
POLICY_TYPES: dict[str, Kind] = {
    "azure-native:apimanagement:Policy": "global",
    "azure-native:apimanagement:ProductPolicy": "product",
    "azure-native:apimanagement:ApiPolicy": "api",
    "azure-native:apimanagement:ApiOperationPolicy": "operation",
}


@dataclass(frozen=True)
class References:
    """Names the plan declares, which policies may refer to.

    backends: `backendId` of Backend resources; loggers: `loggerId` of Logger resources; fragments: ids of
    PolicyFragment resources; named_values: `displayName` of NamedValue resources (policies write
    `{{displayName}}`); caches: `cacheId` of Cache resources (external caches).
    """

    backends: AbstractSet[str] = frozenset()
    loggers: AbstractSet[str] = frozenset()
    fragments: AbstractSet[str] = frozenset()
    named_values: AbstractSet[str] = frozenset()
    caches: AbstractSet[str] = frozenset()
    # displayName -> what the compile step substitutes for `{{displayName}}` (see references_of); None where the
    # plan does not know the value (a Key Vault reference, or known only after deployment).
    named_value_values: Mapping[str, str | None] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for f in dataclasses.fields(self):
            if f.name != "named_value_values":
                object.__setattr__(self, f.name, frozenset(getattr(self, f.name)))
        object.__setattr__(self, "named_value_values", dict(self.named_value_values))

    def has(self, kind: str, name: str) -> bool:
        names = {"backend": self.backends, "logger": self.loggers, "fragment": self.fragments}[kind]
        # Azure resource names (backend, logger, fragment ids) are case-insensitive.
        return name.casefold() in {n.casefold() for n in names}


@dataclass(frozen=True)
class Inclusion:
    """Where a fragment is included: the section, the scope of the including document, and its name."""

    section: str
    scope: str
    document: str


@dataclass(frozen=True)
class LintError:
    document: str
    line: int
    element: str
    message: str
    level: Level = "error"
    urn: str | None = None

    def __str__(self) -> str:
        return f"{self.document}, line {self.line}, <{self.element}>: {self.message}"
