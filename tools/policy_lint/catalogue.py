"""The catalogue of APIM policy elements (tools/policy_catalogue.json, sourced from the APIM policy reference)
and the .NET types policy expressions may use."""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from ..csharp.allow_list import allowed_types
from ..csharp_expressions import TypeAllowList

CATALOGUE_PATH = Path(__file__).parent.parent / "policy_catalogue.json"


@dataclass(frozen=True)
class Catalogue:
    data: dict[str, Any]
    types: TypeAllowList

    @property
    def policies(self) -> dict[str, dict[str, Any]]:
        return self.data["policies"]  # type: ignore[no-any-return]

    @property
    def fragment_max_bytes(self) -> int:
        return int(self.data["fragment"]["max_bytes"])

    def child_owners(self) -> dict[str, list[str]]:
        """Child element name -> policies it belongs to (for a helpful 'not a policy' message)."""
        owners: dict[str, list[str]] = {}

        def visit(policy: str, spec: dict[str, Any]) -> None:
            for child, child_spec in spec.get("elements", {}).items():
                owners.setdefault(child, [])
                if policy not in owners[child]:
                    owners[child].append(policy)
                visit(policy, child_spec)

        for name, spec in self.policies.items():
            visit(name, spec)
        return owners


@cache
def load_catalogue(path: Path = CATALOGUE_PATH) -> Catalogue:
    data = json.loads(path.read_text())
    expressions = data["expressions"]
    # The .NET allow-list lives once, in tools/csharp/ApimContext.cs (the reference's table, row by row).
    types = TypeAllowList.from_names([*allowed_types(), *expressions["context_types"]])
    return Catalogue(data, types)
