"""Strings of a fixed form (names, regions, addresses, Azure ids): the pattern pydantic checks, declared together
with the same rule in words, which the error of a mismatching setting names as what is allowed.

A platform engineer reads "an Azure resource id of a subnet: /subscriptions/<subscription id>/..." where a
regular expression would say nothing; the pattern stays the check, the words are what the error line shows.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pydantic import Field
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

# Where a field declared with `matching` keeps its form in words (pydantic also shows it in the JSON schema).
ALLOWED = "allowed"


@dataclass(frozen=True)
class Form:
    """A string form: `pattern` is what pydantic checks, `allowed` the same rule in words ("a GUID such as ...")."""

    pattern: str
    allowed: str


def matching(form: Form, default: Any = PydanticUndefined, **constraints: Any) -> Any:
    """A settings field whose string must have `form` (`default` and `constraints` as for pydantic's Field)."""
    return Field(default, pattern=form.pattern, json_schema_extra={ALLOWED: form.allowed}, **constraints)


def allowed_form(field: FieldInfo) -> str | None:
    """The form in words of a field declared with `matching`, None for any other field."""
    extra = field.json_schema_extra
    allowed = extra.get(ALLOWED) if isinstance(extra, dict) else None
    return allowed if isinstance(allowed, str) else None


_RESOURCE_GROUP = "/subscriptions/<subscription id>/resourceGroups/<resource group>/providers"

# Shared by the gateway's own location and the regions of accounts and Content Safety.
REGION = Form(
    r"^[a-z][a-z0-9]{2,30}$",
    "an Azure region name: 3 to 31 lowercase letters or digits, starting with a letter, such as 'swedencentral'",
)
EMAIL = Form(r"^[^@\s]+@[^@\s]+\.[^@\s]+$", "an email address such as 'platform@contoso.com'")


def resource_id(what: str, pattern: str, path: str) -> Form:
    """The form of the ARM resource id of `what`, `path` its part after `/providers/`."""
    return Form(pattern, f"the Azure resource id of {what}: {_RESOURCE_GROUP}/{path}")
