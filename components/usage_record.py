"""The usage record: the JSON document the gateway sends to Event Hubs per request (`schemas/usage-record.v2.json`).

The schema file is the contract between the policy that emits the record (the usage-record fragment) and the
chargeback pipeline that reads it. Version 2 adds the API surface, the tier that answered, the token split
(cached prompt and reasoning tokens) and whether the semantic cache answered; every field is always present
(null when unknown). Version 1 records (`schemas/usage-record.v1.json`) stay readable by chargeback. Tests
compare the field names the policy emits with the v2 schema.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

SCHEMAS_DIR = Path(__file__).resolve().parent / "schemas"
SCHEMA_PATH = SCHEMAS_DIR / "usage-record.v2.json"
V1_SCHEMA_PATH = SCHEMAS_DIR / "usage-record.v1.json"
SCHEMA_VERSION = "2.0"


@cache
def load_schema(path: Path = SCHEMA_PATH) -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of the usage record (v2 unless another path is given)."""
    schema: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return schema


def _fields(kind: str) -> frozenset[str]:
    schema = load_schema()
    return frozenset(schema["required"] if kind == "required" else schema["properties"])


ALL_FIELDS: frozenset[str] = _fields("all")
REQUIRED_FIELDS: frozenset[str] = _fields("required")
# Version 2 has none: a record always carries every field, null when unknown or not enabled.
OPTIONAL_FIELDS: frozenset[str] = ALL_FIELDS - REQUIRED_FIELDS
