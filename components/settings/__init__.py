"""Stack configuration parsed once into typed, validated settings.

Every config key of the project lives under the `genai-gateway:` namespace. Structure and types are
checked by pydantic, rules that span fields by each model's `problems`; either way the program stops
before any resource is declared, with one line per problem naming the key, the value and what is allowed.
"""

from __future__ import annotations

import difflib
import functools
import json
from collections.abc import Callable, Iterable, Mapping
from typing import Any, Literal

from pydantic import BaseModel, Field, ValidationError

from .alerts import AlertSettings
from .apim import ApimSettings
from .base import ITEM_NAMES, PROJECT, Model, Problem, SettingsError, item_name, shown
from .consumer_keys import ConsumerKeyVaultSettings
from .content_safety import ContentSafetySettings
from .forms import REGION, Form, allowed_form, matching
from .gateway import (
    ConsumerSettings,
    EntraIdSettings,
    PricingSettings,
    RoutingSettings,
    TokenLimitSettings,
    consumer_problems,
)
from .ingress import IngressSettings
from .network import NetworkSettings
from .observability import ObservabilitySettings
from .openai import AccountSettings, DeploymentSettings, OpenAISettings
from .partial import construct, guarded, not_under
from .semantic_cache import SemanticCacheSettings
from .telemetry import TelemetrySettings

__all__ = [
    "PROJECT",
    "AccountSettings",
    "AlertSettings",
    "ApimSettings",
    "ConsumerKeyVaultSettings",
    "ConsumerSettings",
    "ContentSafetySettings",
    "DeploymentSettings",
    "EntraIdSettings",
    "GatewaySettings",
    "IngressSettings",
    "NetworkSettings",
    "ObservabilitySettings",
    "OpenAISettings",
    "PricingSettings",
    "Problem",
    "RoutingSettings",
    "SemanticCacheSettings",
    "SettingsError",
    "TelemetrySettings",
    "TokenLimitSettings",
    "load_settings",
    "settings_from_pulumi_config",
]

Environment = Literal["dev", "test", "staging", "prod"]
NAME_PREFIX = Form(
    r"^[a-z][a-z0-9]{1,9}$", "2 to 10 lowercase letters or digits, starting with a letter, such as 'genai'"
)


class GatewaySettings(Model):
    environment: Environment
    name_prefix: str = matching(NAME_PREFIX)
    location: str = matching(REGION)
    tags: dict[str, str] = Field(default_factory=dict)
    network: NetworkSettings
    apim: ApimSettings
    ingress: IngressSettings = Field(default_factory=IngressSettings)
    observability: ObservabilitySettings = Field(default_factory=ObservabilitySettings)
    openai: OpenAISettings
    telemetry: TelemetrySettings = Field(default_factory=TelemetrySettings)
    routing: RoutingSettings = Field(default_factory=RoutingSettings)
    semantic_cache: SemanticCacheSettings = Field(default_factory=SemanticCacheSettings)
    content_safety: ContentSafetySettings = Field(default_factory=ContentSafetySettings)
    token_limits: TokenLimitSettings
    consumers: list[ConsumerSettings] = Field(min_length=1)
    entra_id: EntraIdSettings = Field(default_factory=EntraIdSettings)
    consumer_key_vault: ConsumerKeyVaultSettings = Field(default_factory=ConsumerKeyVaultSettings)
    pricing: PricingSettings | None = None
    alerts: AlertSettings = Field(default_factory=AlertSettings)

    @property
    def is_production(self) -> bool:
        return self.environment == "prod"

    def problems(self, key: str, whole: GatewaySettings) -> Iterable[Problem]:
        for section in self.problem_sections(key, whole):
            yield from section()

    def problem_sections(self, key: str, whole: GatewaySettings) -> list[Callable[[], Iterable[Problem]]]:
        """The cross-field rules, one group per section (a partial model may lack some sections)."""
        sections: list[Callable[[], Iterable[Problem]]] = []
        for name, field in type(self).model_fields.items():
            value = getattr(self, name, None)
            if isinstance(value, Model):
                sections.append(functools.partial(value.problems, f"{key}{field.alias or name}", whole))
        sections.append(lambda: consumer_problems(self.consumers, f"{key}consumers", whole))
        return sections

    def deployments_by_account(self) -> dict[str, list[str]]:
        """Deployment names of each OpenAI account, by account name."""
        return {a.name: [d.name for d in a.deployments] for a in self.openai.accounts}

    def all_problems(self) -> list[Problem]:
        return list(self.problems(f"{PROJECT}:", self))


def load_settings(raw: Mapping[str, Any], secret_keys: Iterable[str] = ()) -> GatewaySettings:
    """Parse the flat Pulumi config map (`project:key` -> string or JSON text) into settings."""
    prefix = f"{PROJECT}:"
    secrets = {k[len(prefix) :] for k in secret_keys if k.startswith(prefix)}
    data = {k[len(prefix) :]: _decode(v) for k, v in raw.items() if k.startswith(prefix)}
    found = _namespace_problems(raw)
    try:
        settings = GatewaySettings.model_validate(data)
    except ValidationError as error:
        found += _problems_from(error, data, secrets)
        found += _cross_field_problems(data, found, secrets)
        raise SettingsError(found) from None
    found += [_masked(p, secrets) for p in settings.all_problems()]
    if found:
        raise SettingsError(found)
    return settings


def _cross_field_problems(data: Mapping[str, Any], found: list[Problem], secrets: set[str]) -> list[Problem]:
    """The rules that span fields, run on whatever did validate, so one run reports every problem."""
    broken: list[tuple[int | str, ...]] = []
    try:
        partial = construct(GatewaySettings, data, (), broken)
        problems = list(guarded(partial.problem_sections(f"{PROJECT}:", partial)))
    except Exception:  # a best effort beyond the type errors, which are reported regardless
        return []
    skip = [_key_path(loc, data) for loc in broken] + [p.key for p in found]
    return [_masked(p, secrets) for p in not_under(problems, skip)]


def _namespace_problems(raw: Mapping[str, Any]) -> list[Problem]:
    """Keys under a misspelling of the project's namespace, which the program would otherwise never read."""
    problems = []
    for key in raw:
        namespace, _, rest = key.partition(":")
        if namespace != PROJECT and rest and difflib.get_close_matches(namespace, [PROJECT], n=1, cutoff=0.75):
            problems.append(
                Problem(
                    key,
                    "unknown key",
                    f"namespace {namespace!r} is not this project's ({PROJECT}); did you mean '{PROJECT}:{rest}'?",
                )
            )
    return problems


def settings_from_pulumi_config() -> GatewaySettings:
    """Settings of the stack the Pulumi engine (or the offline harness) runs."""
    from pulumi.runtime import config as runtime_config

    # pulumi.Config reads single keys; unknown keys can only be found in the whole map the engine passed.
    raw = {**runtime_config.get_config_env(), **runtime_config.CONFIG.get()}
    secret = {k for k in raw if runtime_config.is_config_secret(k)}
    return load_settings(raw, secret)


def _masked(problem: Problem, secret_keys: set[str]) -> Problem:
    top = problem.key.removeprefix(f"{PROJECT}:").split(".", 1)[0].split("[", 1)[0]
    return Problem(problem.key, "[secret]", problem.allowed) if top in secret_keys else problem


def _decode(value: Any) -> Any:
    """Pulumi hands structured values as JSON text and plain strings as they are."""
    if not isinstance(value, str):
        return value
    try:
        return json.loads(value)
    except ValueError:
        return value


def _problems_from(error: ValidationError, data: Mapping[str, Any], secrets: set[str]) -> list[Problem]:
    problems = []
    for item in error.errors():
        loc = item["loc"]
        key = _key_path(loc, data)
        secret = bool(loc) and str(loc[0]) in secrets
        kind = item["type"]
        form = _allowed_form(GatewaySettings, loc) if kind == "string_pattern_mismatch" else None
        if kind == "missing":
            value, allowed = "(missing)", "required key"
        elif kind == "extra_forbidden":
            value = "unknown key"
            allowed = _allowed_keys(GatewaySettings, loc)
        elif form is not None:
            # The form in words, not the pattern: "must be an Azure resource id of a subnet: /subscriptions/...".
            value, allowed = shown(item.get("input"), secret), f"must be {form}"
        else:
            value, allowed = shown(item.get("input"), secret), _sentence(item["msg"])
        problems.append(Problem(key, value, allowed))
    return problems


def _key_path(loc: tuple[int | str, ...], data: Any = None) -> str:
    """The config key of a location, naming list items by their name (`consumers['team-alpha']`) when unique."""
    text = PROJECT + ":"
    node: Any = data
    for i, part in enumerate(loc):
        if isinstance(part, int):
            field = ITEM_NAMES.get(str(loc[i - 1])) if i else None
            name = item_name(node, part, field) if field and isinstance(node, list) and part < len(node) else None
            text += f"[{name!r}]" if name is not None else f"[{part}]"
        else:
            text += part if i == 0 else f".{part}"
        node = _child(node, part)
    return text


def _child(node: Any, part: int | str) -> Any:
    if isinstance(part, int):
        return node[part] if isinstance(node, list) and part < len(node) else None
    return node.get(part) if isinstance(node, Mapping) else None


def _allowed_keys(model: type[BaseModel], loc: tuple[int | str, ...]) -> str:
    """The keys the model at `loc` accepts, and the nearest one to the misspelled key."""
    current: Any = model
    for part in loc[:-1]:
        current = _child_model(current, part)
        if current is None:
            return "not an allowed key here"
    if not (isinstance(current, type) and issubclass(current, BaseModel)):
        return "not an allowed key here"
    names = [f.alias or n for n, f in current.model_fields.items()]
    close = difflib.get_close_matches(str(loc[-1]), names, n=1)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    return f"allowed keys: {', '.join(names)}{hint}"


def _allowed_form(model: type[BaseModel], loc: tuple[int | str, ...]) -> str | None:
    """The allowed form in words of the pattern-checked field at `loc` (declared with forms.matching), if any."""
    current: Any = model
    for part in loc[:-1]:
        current = _child_model(current, part)
    if not loc or not (isinstance(current, type) and issubclass(current, BaseModel)):
        return None
    for name, field in current.model_fields.items():
        if loc[-1] in (name, field.alias):
            return allowed_form(field)
    return None


def _child_model(current: Any, part: int | str) -> Any:
    import typing

    if isinstance(part, int):
        args = [a for a in typing.get_args(current) if a is not type(None)]
        return args[0] if args else None
    if not (isinstance(current, type) and issubclass(current, BaseModel)):
        return None
    for name, field in current.model_fields.items():
        if part in (name, field.alias):
            annotation = field.annotation
            options = [a for a in typing.get_args(annotation) if a is not type(None)]
            if typing.get_origin(annotation) is list:
                return annotation
            if options and not (isinstance(annotation, type) and issubclass(annotation, BaseModel)):
                return options[0] if len(options) == 1 else annotation
            return annotation
    return None


def _sentence(message: str) -> str:
    return message[0].lower() + message[1:] if message else message
