"""The .NET types policy expressions may use, read from the reference's table as ApimContext.cs records it.

The table lives once, in `Apim.Policies.AllowedTypes.Members` of ApimContext.cs (between the BEGIN/END
ALLOW-LIST markers), row by row as https://learn.microsoft.com/azure/api-management/api-management-policy-expressions
(#CLRTypes) lists it: the type as the reference writes it and its supported members ("All" or a list).
"""

from __future__ import annotations

import re
from functools import cache

from .compiler import MODEL

_ROW = re.compile(r'^\s*\{\s*"(?P<type>[^"]+)",\s*"(?P<members>[^"]*)"\s*\},\s*$')


@cache
def allowed_types() -> dict[str, str]:
    """Type as the reference writes it (`System.Collections.Generic.List<T>`) -> supported members."""
    text = MODEL.read_text(encoding="utf-8")
    begin = text.index("// BEGIN ALLOW-LIST")
    end = text.index("// END ALLOW-LIST", begin)
    rows: dict[str, str] = {}
    for line in text[begin:end].splitlines()[1:]:
        if not line.strip():
            continue
        match = _ROW.match(line)
        if match is None:
            raise ValueError(f"{MODEL.name}: unreadable allow-list row: {line.strip()!r}")
        rows[match.group("type")] = match.group("members")
    return rows
