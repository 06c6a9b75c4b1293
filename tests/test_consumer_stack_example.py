"""examples/consumer-stack: a team reads its own access and key, and a wrong consumer name is a clear error."""

from __future__ import annotations

import importlib.util
import runpy
import sys
from pathlib import Path
from typing import Any

import pulumi
import pytest
from pulumi.runtime.settings import SETTINGS, set_root_resource
from pulumi.runtime.stack import run_in_stack
from pulumi.runtime.sync_await import _sync_await

from tools.stack_config import PROJECT_DIR

EXAMPLE = PROJECT_DIR / "examples" / "consumer-stack"
GATEWAY_STACK = "organization/genai-gateway/dev"
GATEWAY_OUTPUTS: dict[str, Any] = {
    "openaiBaseUrl": "https://apim-genai-dev-abcde.azure-api.net/openai",
    "consumers": {
        "team-alpha": {"deployments": ["gpt-4o-mini"], "tokensPerMinute": 20000,
                       "keyVaultSecretUri": "https://kvkeys-genai-dev-abcde.vault.azure.net/secrets/consumer-key-team-alpha"},
        "team-beta": {"deployments": ["text-embedding-3-small"], "tokensPerMinute": 5000},
    },
    "consumerKey-team-alpha": "alpha-key-0123456789",
    "consumerKey-team-beta": "beta-key-9876543210",
}


def _module() -> Any:
    spec = importlib.util.spec_from_file_location("gateway_access", EXAMPLE / "gateway_access.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class _GatewayMocks(pulumi.runtime.Mocks):
    """The platform stack as a StackReference sees it: its outputs, the keys among its secret outputs."""

    def __init__(self) -> None:
        self.references: list[str] = []

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict[str, Any]]:
        if args.typ == "pulumi:pulumi:StackReference":
            self.references.append(args.inputs["name"])
            secret = [k for k in GATEWAY_OUTPUTS if k.startswith("consumerKey-")]
            return args.inputs["name"], {"name": args.inputs["name"], "outputs": GATEWAY_OUTPUTS,
                                         "secretOutputNames": secret}
        return f"{args.name}-id", dict(args.inputs)

    def call(self, args: pulumi.runtime.MockCallArgs) -> dict[str, Any]:
        return {}


def _run_example(consumer: str, secret: bool = False) -> dict[str, Any]:
    """Runs the example program under mocks; its exports resolved (or, with `secret`, whether each is secret)."""
    mocks = _GatewayMocks()
    pulumi.runtime.set_all_config(
        {"genai-gateway-consumer:gatewayStack": GATEWAY_STACK, "genai-gateway-consumer:consumer": consumer}, []
    )
    pulumi.runtime.set_mocks(mocks, project="genai-gateway-consumer", stack="dev", preview=False)
    set_root_resource(None)  # type: ignore[arg-type]
    SETTINGS.outputs.clear()
    exported: dict[str, Any] = {}
    sys.path.insert(0, str(EXAMPLE))
    try:
        def program() -> None:
            runpy.run_path(str(EXAMPLE / "__main__.py"), run_name="__main__")

        original = pulumi.export
        pulumi.export = lambda name, value: (exported.__setitem__(name, value), original(name, value))[1]
        try:
            _sync_await(run_in_stack(program))
        finally:
            pulumi.export = original
    finally:
        sys.path.remove(str(EXAMPLE))
        sys.modules.pop("gateway_access", None)
    assert mocks.references == [GATEWAY_STACK]

    async def resolve(value: Any) -> Any:
        if not isinstance(value, pulumi.Output):
            return False if secret else value
        return await value.is_secret() if secret else await value.future()

    return {k: _sync_await(resolve(v)) for k, v in exported.items()}


def test_a_team_reads_its_own_access_and_key() -> None:
    outputs = _run_example("team-alpha")
    assert outputs["apiKey"] == "alpha-key-0123456789"
    assert outputs["allowedDeployments"] == ["gpt-4o-mini"]
    assert outputs["keyVaultSecretUri"].endswith("/secrets/consumer-key-team-alpha")


def test_the_key_stays_a_secret_and_nothing_else_is_one() -> None:
    secret = _run_example("team-alpha", secret=True)
    assert secret["apiKey"] is True
    assert [name for name, is_secret in secret.items() if is_secret] == ["apiKey"]


def test_an_unknown_consumer_name_is_a_clear_error_naming_the_known_ones() -> None:
    with pytest.raises(Exception, match=r"consumer 'team-alfa' is not a consumer of gateway stack") as error:
        _run_example("team-alfa")
    assert "team-alpha, team-beta" in str(error.value)


def test_the_error_names_the_settings_key_to_fix() -> None:
    access = _module()
    with pytest.raises(access.UnknownConsumerError, match=r"genai-gateway:consumers\[\]\.name"):
        access.own_access({"team-alpha": {}}, "team-x", GATEWAY_STACK)


def test_a_gateway_without_consumers_is_reported_as_such() -> None:
    access = _module()
    with pytest.raises(access.UnknownConsumerError, match="exports no consumers"):
        access.own_access(None, "team-alpha", GATEWAY_STACK)


def test_the_example_reads_no_other_teams_key() -> None:
    source = (EXAMPLE / "__main__.py").read_text()
    assert "consumerKeys" not in source
    assert Path(EXAMPLE / "gateway_access.py").exists()
