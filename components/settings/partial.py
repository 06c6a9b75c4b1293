"""Settings built from the valid parts of a config that failed validation, so cross-field rules still run.

One run should report every problem: when pydantic rejects a value somewhere, the rules that span fields
(an unknown account in a pool, a consumer over the global budget, ...) are still checked on everything that
did validate. A field that failed is left unset (never at a default standing in for it); a group of rules
that reads an unset field stops there: its remaining problems, if any, show once the type error is fixed.
"""

from __future__ import annotations

import typing
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any

from pydantic import BaseModel, TypeAdapter, ValidationError

from .base import Problem

Location = tuple[int | str, ...]


def construct(model: type[BaseModel], data: Any, loc: Location, broken: list[Location]) -> Any:
    """`model` built from `data` without the fields that fail validation; their locations go to `broken`."""
    if not isinstance(data, Mapping):
        broken.append(loc)
        return None
    values: dict[str, Any] = {}
    for name, field in model.model_fields.items():
        alias = field.alias or name
        if alias not in data and name not in data:
            continue
        raw = data[alias] if alias in data else data[name]
        value = _field_value(field.annotation, raw, (*loc, alias), broken)
        if value is not _BROKEN:
            values[name] = value
    instance = model.model_construct(**values)
    for name, field in model.model_fields.items():
        if (*loc, field.alias or name) in broken and name in instance.__dict__:
            # No stand-in default: a rule that reads a field that failed validation is skipped, not misled.
            del instance.__dict__[name]
    return instance


_BROKEN = object()


def _model_type(annotation: Any) -> type[BaseModel] | None:
    if typing.get_origin(annotation) in (list, dict):
        return None
    options = [a for a in typing.get_args(annotation) if a is not type(None)] or [annotation]
    if len(options) == 1 and isinstance(options[0], type) and issubclass(options[0], BaseModel):
        return options[0]
    return None


def _field_value(annotation: Any, raw: Any, loc: Location, broken: list[Location]) -> Any:
    model = _model_type(annotation)
    if model is not None and raw is not None:
        return construct(model, raw, loc, broken) if isinstance(raw, Mapping) else _broken(loc, broken)
    if typing.get_origin(annotation) is list:
        (item_type,) = typing.get_args(annotation) or (Any,)
        item_model = _model_type(item_type)
        if item_model is not None and isinstance(raw, list):
            return [construct(item_model, item, (*loc, i), broken) for i, item in enumerate(raw)]
    try:
        return TypeAdapter(annotation).validate_python(raw)
    except ValidationError:
        return _broken(loc, broken)


def _broken(loc: Location, broken: list[Location]) -> object:
    broken.append(loc)
    return _BROKEN


def guarded(sections: Iterable[Callable[[], Iterable[Problem]]]) -> Iterator[Problem]:
    """Each rule group's problems, skipping the rest of a group once it reads a field that did not validate."""
    for section in sections:
        try:
            yield from section()
        except (AttributeError, KeyError, TypeError, ValueError):
            continue


def not_under(problems: Iterable[Problem], broken_keys: Iterable[str]) -> list[Problem]:
    """Problems except those about a field that failed validation (already reported, or at a stand-in default)."""
    prefixes = tuple(broken_keys)

    def under(key: str) -> bool:
        return any(key == p or key.startswith((f"{p}.", f"{p}[")) for p in prefixes)

    return [p for p in problems if not under(p.key)]


