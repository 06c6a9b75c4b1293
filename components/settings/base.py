"""The base of every settings model, and the error a bad stack setting raises."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pulumi
from pydantic import BaseModel, ConfigDict
from pydantic.alias_generators import to_camel

if TYPE_CHECKING:
    from . import GatewaySettings

PROJECT = "genai-gateway"


class Model(BaseModel):
    """Stack config is camelCase, Python is snake_case; unknown keys are errors, settings never change."""

    model_config = ConfigDict(
        alias_generator=to_camel, populate_by_name=True, extra="forbid", frozen=True
    )

    def problems(self, key: str, whole: GatewaySettings) -> Iterable[Problem]:
        """Rules that need more than one field; `key` is this model's config key path."""
        return ()


# The field that names an item of each list of settings: errors say `consumers['team-alpha']`, not `consumers[0]`.
ITEM_NAMES = {
    "accounts": "name", "deployments": "name", "consumers": "name", "pools": "deployment", "members": "account"
}


def item_name(items: Sequence[Any], index: int, field: str) -> str | None:
    """The name of `items[index]` (a settings model or its raw mapping) when it has one no other item shares."""

    def name_of(item: Any) -> Any:
        if isinstance(item, dict):
            return item.get(field, item.get(_snake(field)))
        return getattr(item, _snake(field), None)

    name = name_of(items[index])
    if not isinstance(name, str) or not name:
        return None
    return name if sum(1 for other in items if name_of(other) == name) == 1 else None


def item_key(key: str, items: Sequence[Any], index: int) -> str:
    """`<key>['<name>']` for a uniquely named item of the list at `key`, `<key>[<index>]` otherwise."""
    field = ITEM_NAMES.get(key.rsplit(".", 1)[-1].rsplit(":", 1)[-1])
    name = item_name(items, index, field) if field else None
    return f"{key}[{name!r}]" if name is not None else f"{key}[{index}]"


def _snake(name: str) -> str:
    return "".join(f"_{c.lower()}" if c.isupper() else c for c in name)


@dataclass(frozen=True)
class Problem:
    key: str
    value: str
    allowed: str

    def __str__(self) -> str:
        return f"{self.key}: {self.value}: {self.allowed}"


def shown(value: object, secret: bool = False) -> str:
    """A bad value as the error line shows it: short, and never a secret."""
    if secret:
        return "[secret]"
    text = repr(value) if isinstance(value, str) else _json_like(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _json_like(value: object) -> str:
    import json

    try:
        return json.dumps(value, default=str)
    except (TypeError, ValueError):
        return repr(value)


class SettingsError(pulumi.RunError):
    """Raised before any resource is declared; RunError makes Pulumi print it without a traceback."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        lines = "\n".join(f"  {p}" for p in problems)
        super().__init__(f"invalid stack settings ({len(problems)} problem(s)):\n{lines}")
