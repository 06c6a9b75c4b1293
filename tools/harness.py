"""Runs the Pulumi program of a stack under the mock engine and records the resource graph.

One mechanism for the offline plan and for the tests: `run_stack("dev")` returns a `Recording` of every
registered resource (type, name, parent, inputs as the provider would receive them, dependencies,
protect) and the stack outputs, with secrets kept wrapped in `Secret`.
"""

from __future__ import annotations

import contextlib
import os
import runpy
import sys
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pulumi
import pulumi.resource as pulumi_resource
from pulumi.runtime import rpc
from pulumi.runtime.mocks import MockMonitor
from pulumi.runtime.settings import SETTINGS, set_root_resource
from pulumi.runtime.stack import run_in_stack
from pulumi.runtime.sync_await import _sync_await

from components.settings import PROJECT

from .azure_mocks import AzureMocks
from .stack_config import PROJECT_DIR, SECRET_PLACEHOLDER, flatten, load_stack_config

STACK_TYPE = "pulumi:pulumi:Stack"


class Secret:
    """A value the engine would keep encrypted; tests may look inside, the plan never shows it.

    Not a dataclass: pytest prints dataclass fields when a comparison fails, which would show the value.
    """

    __slots__ = ("value",)

    def __init__(self, value: Any) -> None:
        self.value = value

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other.value == self.value

    def __hash__(self) -> int:
        return hash(repr(self.value))

    def __repr__(self) -> str:
        return "Secret([secret])"


class Unknown:
    """A value only known after deployment."""

    def __repr__(self) -> str:
        return "[computed]"


UNKNOWN = Unknown()


@dataclass
class RecordedResource:
    urn: str
    type: str
    name: str
    parent: str | None
    custom: bool
    inputs: dict[str, Any]
    dependencies: list[str]
    property_dependencies: dict[str, list[str]]
    protect: bool
    id: str | None = None

    def get(self, path: str, default: Any = None) -> Any:
        """A nested input by dotted path (`sku.name`, `securityRules.0.priority`), secrets unwrapped."""
        value: Any = self.inputs
        for part in path.split("."):
            value = reveal(value)
            if isinstance(value, list) and part.isdigit():
                value = value[int(part)] if int(part) < len(value) else None
            elif isinstance(value, dict):
                value = value.get(part)
            else:
                return default
            if value is None:
                return default
        return reveal(value)


@dataclass
class Recording:
    project: str
    stack: str
    resources: list[RecordedResource]
    outputs: dict[str, Any]
    # Values Azure computes at deployment, and keys or passwords; kept out of reprs (they'd show in tracebacks).
    computed: set[str] = field(default_factory=set, repr=False)
    secrets: set[str] = field(default_factory=set, repr=False)
    # The stack's declared `environment` setting: the guardrails' level set follows it, not the stack's name.
    environment: str | None = None

    @property
    def stack_urn(self) -> str:
        """The root stack's URN, as the engine names it."""
        return f"urn:pulumi:{self.stack}::{self.project}::pulumi:pulumi:Stack::{self.project}-{self.stack}"

    def masked(self, value: Any) -> Any:
        """A recorded value as the plan shows it."""
        return plain_json(value, self.computed, self.secrets)

    def of_type(self, token: str) -> list[RecordedResource]:
        return [r for r in self.resources if r.type == token]

    def one(self, token: str, name: str | None = None) -> RecordedResource:
        found = [r for r in self.of_type(token) if name is None or r.name == name]
        if len(found) != 1:
            names = [r.name for r in self.of_type(token)]
            raise LookupError(f"expected one {token} named {name!r}, found {len(found)} among {names}")
        return found[0]

    def by_urn(self, urn: str) -> RecordedResource:
        for r in self.resources:
            if r.urn == urn:
                return r
        raise LookupError(urn)

    def by_id(self, resource_id: str) -> RecordedResource:
        for r in self.resources:
            if r.id is not None and r.id.lower() == str(resource_id).lower():
                return r
        raise LookupError(resource_id)

    def children(self, parent: RecordedResource) -> list[RecordedResource]:
        return [r for r in self.resources if r.parent == parent.urn]

    def descendants(self, ancestor: RecordedResource) -> Iterator[RecordedResource]:
        for child in self.children(ancestor):
            yield child
            yield from self.descendants(child)

    def depends_on(self, resource: RecordedResource, other: RecordedResource) -> bool:
        """Direct or transitive dependency, as the engine would order the operations."""
        seen: set[str] = set()
        todo = list(resource.dependencies)
        while todo:
            urn = todo.pop()
            if urn == other.urn:
                return True
            if urn in seen:
                continue
            seen.add(urn)
            try:
                todo.extend(self.by_urn(urn).dependencies)
            except LookupError:
                pass
        return False


def reveal(value: Any) -> Any:
    return value.value if isinstance(value, Secret) else value


class _RecordingMonitor(MockMonitor):
    def __init__(self, mocks: AzureMocks) -> None:
        super().__init__(mocks)
        self.recorded: list[RecordedResource] = []
        self.stack_outputs: dict[str, Any] = {}
        self.stack_urn = ""

    def make_urn(self, parent: str, type_: str, name: str) -> str:
        # The engine's form: the parent's type chain, without the root stack's type.
        if parent:
            parent_chain = parent.split("::")[2]
            if parent_chain != STACK_TYPE:
                type_ = f"{parent_chain}${type_}"
        return f"urn:pulumi:{pulumi.get_stack()}::{pulumi.get_project()}::{type_}::{name}"

    def RegisterResource(self, request: Any) -> Any:
        assert isinstance(self.mocks, AzureMocks)
        self.mocks.registering(list(request.additionalSecretOutputs))
        response = super().RegisterResource(request)
        if request.type == STACK_TYPE:
            self.stack_urn = response.urn
            return response
        inputs = rpc.deserialize_properties(request.object, keep_unknowns=True)
        self.recorded.append(
            RecordedResource(
                urn=response.urn,
                type=request.type,
                name=request.name,
                parent=request.parent if request.parent and request.parent != self.stack_urn else None,
                custom=bool(request.custom),
                inputs=_wrap(inputs),
                dependencies=sorted(set(request.dependencies)),
                property_dependencies={k: sorted(v.urns) for k, v in request.propertyDependencies.items()},
                protect=bool(request.protect),
                id=response.id or None,
            )
        )
        return response

    def RegisterResourceOutputs(self, request: Any) -> Any:
        if request.urn == self.stack_urn:
            self.stack_outputs = _wrap(rpc.deserialize_properties(request.outputs, keep_unknowns=True))
        return super().RegisterResourceOutputs(request)


def _wrap(value: Any) -> Any:
    if rpc.is_rpc_secret(value):
        return Secret(_wrap(rpc.unwrap_rpc_secret(value)))
    if value is rpc.UNKNOWN or (isinstance(value, str) and value == rpc.UNKNOWN):
        return UNKNOWN
    if isinstance(value, dict):
        return {k: _wrap(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_wrap(v) for v in value]
    if isinstance(value, float) and value.is_integer():
        # The wire format has only doubles; the provider sends integers where the schema says so.
        return int(value)
    return value


def run_stack(
    stack: str,
    overrides: Mapping[str, Any] | None = None,
    project_dir: Path = PROJECT_DIR,
) -> Recording:
    """Run the program of `stack`; `overrides` replace top-level keys (`apim`, `network`, ...) of its config."""
    config, secret_keys = load_stack_config(stack, project_dir)
    for key, value in (overrides or {}).items():
        full_key = key if ":" in key else f"{PROJECT}:{key}"
        if value is None:
            config.pop(full_key, None)
        else:
            config[full_key] = flatten(value)
    return run_program(stack, config, secret_keys, project_dir)


@contextlib.contextmanager
def _without_eager_alias_urns() -> Iterator[None]:
    """Skip work the engine never uses, for speed.

    Every azure-native resource declares an alias per API version, and `Resource.__init__` eagerly turns
    each into a URN. Those URNs feed only the fallback for engines without alias specs; this monitor (like
    the Pulumi CLI) supports alias specs, so the aliases still reach RegisterResource as specs and the
    recorded graph is unchanged. Skipping it makes a run about four times faster.
    """
    original = pulumi_resource.collapse_alias_to_urn
    pulumi_resource.collapse_alias_to_urn = lambda *args, **kwargs: None  # type: ignore[assignment]
    try:
        yield
    finally:
        pulumi_resource.collapse_alias_to_urn = original


@contextlib.contextmanager
def _without_engine_config_env() -> Iterator[None]:
    """The program also reads config the engine passes in the environment; offline, only the stack file counts."""
    saved = {k: os.environ.pop(k) for k in list(os.environ) if k.startswith("PULUMI_CONFIG")}
    try:
        yield
    finally:
        os.environ.update(saved)


def run_program(
    stack: str, config: Mapping[str, str], secret_keys: list[str], project_dir: Path = PROJECT_DIR
) -> Recording:
    with _without_eager_alias_urns(), _without_engine_config_env():
        return _run_program(stack, config, secret_keys, project_dir)


def _run_program(stack: str, config: Mapping[str, str], secret_keys: list[str], project_dir: Path) -> Recording:
    mocks = AzureMocks(stack)
    monitor = _RecordingMonitor(mocks)
    pulumi.runtime.set_all_config(dict(config), secret_keys)
    pulumi.runtime.set_mocks(mocks, project=PROJECT, stack=stack, preview=False, monitor=monitor)
    # run_in_stack registers its own root stack, so stack outputs reach RegisterResourceOutputs.
    set_root_resource(None)  # type: ignore[arg-type]
    SETTINGS.outputs.clear()
    if str(project_dir) not in sys.path:
        sys.path.insert(0, str(project_dir))
    main = str(project_dir / "__main__.py")

    def program() -> None:
        runpy.run_path(main, run_name="__main__")

    _sync_await(run_in_stack(program))
    return Recording(
        project=PROJECT,
        stack=stack,
        # Registration order varies from run to run (the engine registers concurrently); URN order does not.
        resources=sorted(monitor.recorded, key=lambda r: r.urn),
        outputs=monitor.stack_outputs,
        computed=mocks.computed,
        # A `secure:` config value is offline a placeholder; found in a plain value, it is a leak as well.
        secrets=mocks.secrets | {SECRET_PLACEHOLDER},
        environment=config.get(f"{PROJECT}:environment"),
    )


def plain_json(value: Any, computed: set[str], secrets: Iterable[str] = ()) -> Any:
    """A recorded value as the plan shows it: secrets and deployment-time values masked.

    A plain string that contains a secret is shown as `[secret]` too; `leaked_secrets` reports it.
    """
    secrets = tuple(secrets)
    if isinstance(value, Secret):
        return "[secret]"
    if isinstance(value, Unknown):
        return "[computed]"
    if isinstance(value, dict):
        return {k: plain_json(v, computed, secrets) for k, v in value.items()}
    if isinstance(value, list):
        return [plain_json(v, computed, secrets) for v in value]
    if isinstance(value, str) and any(s in value for s in secrets):
        return "[secret]"
    if isinstance(value, str) and any(c in value for c in computed):
        return "[computed]"
    return value


def leaked_secrets(value: Any, secrets: Iterable[str], path: str = "") -> Iterator[str]:
    """Paths of plain (not Secret) strings that contain a secret value."""
    if isinstance(value, Secret):
        return
    if isinstance(value, dict):
        for k, v in value.items():
            yield from leaked_secrets(v, secrets, f"{path}.{k}" if path else k)
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from leaked_secrets(v, secrets, f"{path}[{i}]")
    elif isinstance(value, str) and any(s in value for s in secrets):
        yield path

