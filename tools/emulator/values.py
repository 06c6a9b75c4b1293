"""The values policies and expressions exchange: .NET-typed values a variable can hold (JToken, Jwt, Guid, ...),
their typed encoding `{"t": ..., "v": ...}` for the C# host (ApimHost.cs, Json.Decode/Encode), how APIM writes a
value as text, and context.Variables with its change count."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

INT32 = (-(2**31), 2**31 - 1)


@dataclass(frozen=True)
class JsonValue:
    """A JToken a variable holds (its JSON text)."""

    text: str


@dataclass(frozen=True)
class JwtValue:
    """A Jwt a variable holds (the token as sent)."""

    raw: str


@dataclass(frozen=True)
class GuidValue:
    text: str


def encode(value: Any) -> dict[str, Any]:
    if value is None:
        return {"t": "null", "v": None}
    if isinstance(value, bool):
        return {"t": "bool", "v": value}
    if isinstance(value, int):
        return {"t": "int" if INT32[0] <= value <= INT32[1] else "long", "v": value}
    if isinstance(value, float):
        return {"t": "double", "v": value}
    if isinstance(value, str):
        return {"t": "string", "v": value}
    if isinstance(value, JsonValue):
        return {"t": "json", "v": value.text}
    if isinstance(value, JwtValue):
        return {"t": "jwt", "v": value.raw}
    if isinstance(value, GuidValue):
        return {"t": "guid", "v": value.text}
    if isinstance(value, datetime):
        return {"t": "datetime", "v": value.isoformat()}
    raise TypeError(f"cannot pass a {type(value).__name__} to a policy expression")


def decode(typed: dict[str, Any]) -> Any:
    kind, value = typed["t"], typed.get("v")
    if kind in ("null", "string", "bool", "int", "long", "double"):
        return value
    value = str(value)
    if kind == "json":
        return JsonValue(value)
    if kind == "jwt":
        return JwtValue(value)
    if kind == "guid":
        return GuidValue(value)
    if kind == "datetime":
        return datetime.fromisoformat(value)
    if kind == "timespan":
        return float(value) / 1000.0
    raise TypeError(f"unknown typed value {kind!r}")


def as_text(value: Any) -> str:
    """A value as APIM writes it into a header, query parameter or body (.NET ToString)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "True" if value else "False"
    if isinstance(value, JsonValue):
        return value.text
    if isinstance(value, JwtValue):
        return value.raw
    if isinstance(value, GuidValue):
        return value.text
    return str(value)


class Variables(dict[str, Any]):
    """context.Variables of one request: a dict that numbers its changes, so that the C# host is sent only the
    variables set or removed since it last saw the request (ExpressionHost.evaluate)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.version = 0
        self.changed: dict[str, int] = dict.fromkeys(self, 0)  # name -> the version that last changed it

    def _touch(self, key: str) -> None:
        self.version += 1
        self.changed[key] = self.version

    def __setitem__(self, key: str, value: Any) -> None:
        super().__setitem__(key, value)
        self._touch(key)

    def __delitem__(self, key: str) -> None:
        super().__delitem__(key)
        self._touch(key)

    def update(self, *args: Any, **kwargs: Any) -> None:  # type: ignore[override]
        for key, value in dict(*args, **kwargs).items():
            self[key] = value

    def __ior__(self, other: Any) -> Variables:  # type: ignore[override,misc]
        self.update(other)
        return self

    def setdefault(self, key: str, default: Any = None) -> Any:
        if key not in self:
            self[key] = default
        return self[key]

    def pop(self, key: str, *default: Any) -> Any:  # type: ignore[override]
        if key in self:
            value = self[key]
            del self[key]
            return value
        if default:
            return default[0]
        raise KeyError(key)

    def popitem(self) -> tuple[str, Any]:
        key = next(reversed(self))
        return key, self.pop(key)

    def clear(self) -> None:
        for key in list(self):
            del self[key]

    def __copy__(self) -> Variables:
        return Variables(self)
