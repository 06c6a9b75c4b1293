"""The usage record: the JSON document the gateway sends to Event Hubs per request (`schemas/usage-record.v1.json`).

The schema file is the contract between the policy that emits the record (GatewayPolicies) and the
chargeback pipeline that reads it. Tests compare the field names the policy emits with this schema.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

SCHEMA_PATH = Path(__file__).resolve().parent.parent / "schemas" / "usage-record.v1.json"
SCHEMA_VERSION = "1.0"


@cache
def load_schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of the usage record."""
    schema: dict[str, Any] = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    return schema


def _fields(kind: str) -> frozenset[str]:
    schema = load_schema()
    return frozenset(schema["required"] if kind == "required" else schema["properties"])


ALL_FIELDS: frozenset[str] = _fields("all")
REQUIRED_FIELDS: frozenset[str] = _fields("required")
# Fields a record may leave out: sent only when known (`model`, `servedRegion`) or enabled (`clientIpHash`).
OPTIONAL_FIELDS: frozenset[str] = ALL_FIELDS - REQUIRED_FIELDS
