"""What the official openai SDK sends, client by client (examples/sdk/clients.py), and that the gateway's APIs,
operations and route fragment take exactly those requests."""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest
from lxml import etree

from components.openai_api import DATED_RESPONSES_OPERATIONS, ENTRA_API, ENTRA_V1_API, KEY_API, KEY_V1_API
from tests.sdk_recorder import RESPONSE_ID, Recorded, SdkRecorder
from tests.test_openai_apis import V1_OPERATIONS
from tools.harness import Recording
from tools.rawxml import to_wellformed

DATED, V1 = KEY_API, KEY_V1_API
EXAMPLES = Path(__file__).resolve().parent.parent / "examples" / "sdk"
KEY = "0123456789abcdef0123456789abcdef"


@pytest.fixture
def recorder(monkeypatch: pytest.MonkeyPatch) -> Iterator[SdkRecorder]:
    with SdkRecorder() as server:
        monkeypatch.setenv("GATEWAY_URL", server.url)
        monkeypatch.setenv("GATEWAY_API_KEY", KEY)
        monkeypatch.delenv("OPENAI_API_KEY", raising=False)
        monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
        yield server


@pytest.fixture
def clients(monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    monkeypatch.syspath_prepend(str(EXAMPLES))
    sys.modules.pop("clients", None)
    import clients as module

    # An Entra ID token as azure-identity's get_bearer_token_provider would return it, without a tenant.
    monkeypatch.setattr(module, "_token_provider", lambda: (lambda: "entra-token"))
    return module


def only(recorder: SdkRecorder) -> Recorded:
    [request] = recorder.requests
    recorder.requests.clear()
    return request


def route_of(recording: Recording, path: str) -> str:
    """The openai-route fragment's decision for a path (after the API path), with its own regular expression."""
    [fragment] = [f for f in recording.of_type("azure-native:apimanagement:PolicyFragment")
                  if f.get("id") == "openai-request"]
    root = etree.fromstring(to_wellformed(fragment.get("value")).encode())
    condition = root.find("set-variable[@name='openai-route']").get("value")
    [pattern] = re.findall(r'Regex\.IsMatch\(\(string\)context\.Variables\["openai-path"\], "([^"]+)"\)', condition)
    api_path = f"/{V1.path}" if path.startswith(f"/{V1.path}/") else f"/{DATED.path}"
    relative = path.removeprefix(api_path)
    return "stored-response" if re.search(pattern, relative) else "deployment"


def test_azure_client_calls_the_dated_api_with_the_key_in_api_key(recorder: SdkRecorder, clients: ModuleType) -> None:
    clients.azure_client().chat.completions.create(model="gpt-5.4", messages=[{"role": "user", "content": "x"}])
    request = only(recorder)
    assert (request.method, request.path) == ("POST", f"/{DATED.path}/deployments/gpt-5.4/chat/completions")
    assert request.query == {"api-version": ["2024-10-21"]}
    assert request.headers["api-key"] == KEY and "authorization" not in request.headers


def test_azure_client_sends_responses_to_the_dated_path_with_the_model_in_the_body(
    recorder: SdkRecorder, clients: ModuleType
) -> None:
    client = clients.azure_client(clients.RESPONSES_API_VERSION)
    assert client.responses.create(model="gpt-5.4", input="x").output_text == "7"
    request = only(recorder)
    assert (request.path, request.body["model"]) == (f"/{DATED.path}/responses", "gpt-5.4")
    assert request.query == {"api-version": [clients.RESPONSES_API_VERSION]}
    assert request.headers["api-key"] == KEY


def test_v1_client_calls_the_v1_api_with_the_key_in_api_key_as_well_as_bearer(
    recorder: SdkRecorder, clients: ModuleType
) -> None:
    clients.v1_client().chat.completions.create(model="gpt-5.4", messages=[{"role": "user", "content": "x"}])
    request = only(recorder)
    assert (request.method, request.path) == ("POST", f"/{V1.path}/chat/completions")
    assert request.query == {} and request.body["model"] == "gpt-5.4"
    # APIM reads the key from api-key only; the SDK's own Bearer copy is replaced by the gateway's identity.
    assert request.headers["api-key"] == KEY
    assert request.headers["authorization"] == f"Bearer {KEY}"


def test_without_default_headers_the_plain_client_sends_no_subscription_key(recorder: SdkRecorder) -> None:
    from openai import OpenAI

    OpenAI(base_url=f"{recorder.url}/openai/v1/", api_key=KEY).embeddings.create(model="m", input="x")
    assert "api-key" not in only(recorder).headers


@pytest.mark.parametrize("client", ["azure", "v1"])
def test_streamed_chat_arrives_as_server_sent_events_with_usage(
    recorder: SdkRecorder, clients: ModuleType, client: str
) -> None:
    sdk = clients.azure_client() if client == "azure" else clients.v1_client()
    chunks = list(sdk.chat.completions.create(model="gpt-5.4", messages=[{"role": "user", "content": "x"}],
                                              stream=True, stream_options={"include_usage": True}))
    assert chunks[-1].usage.total_tokens == 5
    assert only(recorder).body["stream"] is True


@pytest.mark.parametrize("client", ["azure", "v1"])
def test_embeddings_name_the_model_where_each_api_expects_it(
    recorder: SdkRecorder, clients: ModuleType, client: str
) -> None:
    sdk = clients.azure_client() if client == "azure" else clients.v1_client()
    sdk.embeddings.create(model="text-embedding-3-small", input="x")
    expected = {"azure": f"/{DATED.path}/deployments/text-embedding-3-small/embeddings",
                "v1": f"/{V1.path}/embeddings"}[client]
    assert only(recorder).path == expected


@pytest.mark.parametrize("client", ["azure", "v1"])
def test_stored_response_calls_carry_no_model_and_take_the_stored_response_route(
    recorder: SdkRecorder, clients: ModuleType, dev: Recording, client: str
) -> None:
    sdk = clients.azure_client(clients.RESPONSES_API_VERSION) if client == "azure" else clients.v1_client()
    prefix = f"/{DATED.path}" if client == "azure" else f"/{V1.path}"
    sdk.responses.create(model="gpt-5.4", input="x")
    assert route_of(dev, only(recorder).path) == "deployment"
    sdk.responses.retrieve(RESPONSE_ID)
    sdk.responses.input_items.list(RESPONSE_ID)
    sdk.responses.delete(RESPONSE_ID)
    calls = [(r.method, r.path, r.body) for r in recorder.requests]
    assert calls == [
        ("GET", f"{prefix}/responses/{RESPONSE_ID}", None),
        ("GET", f"{prefix}/responses/{RESPONSE_ID}/input_items", None),
        ("DELETE", f"{prefix}/responses/{RESPONSE_ID}", None),
    ]
    assert {route_of(dev, path) for _, path, _ in calls} == {"stored-response"}


def test_the_dated_api_has_an_operation_for_every_responses_call_of_azure_openai(
    recorder: SdkRecorder, clients: ModuleType, dev: Recording
) -> None:
    sdk = clients.azure_client(clients.RESPONSES_API_VERSION)
    sdk.responses.create(model="gpt-5.4", input="x")
    sdk.responses.retrieve(RESPONSE_ID)
    sdk.responses.input_items.list(RESPONSE_ID)
    sdk.responses.delete(RESPONSE_ID)
    sdk.responses.cancel(RESPONSE_ID)
    operations = [(o.get("method"), o.get("urlTemplate"))
                  for o in dev.of_type("azure-native:apimanagement:ApiOperation")]
    assert sorted(operations) == sorted((o.method, o.url_template) for o in DATED_RESPONSES_OPERATIONS)
    for request in recorder.requests:
        relative = request.path.removeprefix(f"/{DATED.path}")
        assert any(
            method == request.method and re.fullmatch(re.sub(r"\{[^}]+\}", "[^/]+", template), relative)
            for method, template in operations
        ), (request.method, relative)


@pytest.mark.parametrize("client", ["azure", "v1"])
def test_entra_callers_send_a_bearer_token_and_no_key(
    recorder: SdkRecorder, clients: ModuleType, client: str
) -> None:
    sdk = clients.azure_client(entra=True) if client == "azure" else clients.v1_client(entra=True)
    sdk.chat.completions.create(model="gpt-5.4", messages=[{"role": "user", "content": "x"}])
    request = only(recorder)
    assert request.headers["authorization"] == "Bearer entra-token"
    assert "api-key" not in request.headers
    # The Entra ID callers' APIs: /entra/openai (dated) and /entra/openai/v1.
    expected = {"azure": f"/{ENTRA_API.path}/deployments/gpt-5.4/chat/completions",
                "v1": f"/{ENTRA_V1_API.path}/chat/completions"}[client]
    assert request.path == expected


def test_examples_pin_the_sdk_versions_they_are_tested_with() -> None:
    import azure.identity
    import openai

    pins = dict(line.split("==") for line in (EXAMPLES / "requirements.txt").read_text().splitlines()
                if "==" in line and not line.startswith("#"))
    assert pins == {"openai": openai.__version__, "azure-identity": azure.identity.__version__}


def test_every_v1_call_of_the_sdk_is_an_operation_of_the_pinned_v1_specification(
    recorder: SdkRecorder, clients: ModuleType
) -> None:
    sdk = clients.v1_client()
    sdk.chat.completions.create(model="gpt-5.4", messages=[{"role": "user", "content": "x"}])
    sdk.embeddings.create(model="text-embedding-3-small", input="x")
    sdk.responses.create(model="gpt-5.4", input="x")
    sdk.responses.retrieve(RESPONSE_ID)
    sdk.responses.input_items.list(RESPONSE_ID)
    sdk.responses.delete(RESPONSE_ID)
    operations = json.loads(V1_OPERATIONS.read_text())["operations"]
    for request in recorder.requests:
        relative = request.path.removeprefix(f"/{V1.path}")
        assert any(
            o["method"] == request.method and re.fullmatch(re.sub(r"\{[^}]+\}", "[^/]+", o["urlTemplate"]), relative)
            for o in operations
        ), (request.method, relative)


@pytest.mark.parametrize("example", ["chat", "embeddings", "responses", "entra"])
def test_each_example_runs_end_to_end_with_the_pinned_sdk(
    recorder: SdkRecorder, clients: ModuleType, example: str, capsys: pytest.CaptureFixture[str]
) -> None:
    sys.modules.pop(example, None)
    module = __import__(example)
    module.sys.argv = [example]
    module.main()
    assert recorder.requests, "the example sent nothing"
    assert capsys.readouterr().out.strip()
