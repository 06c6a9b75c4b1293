"""The emulator itself: it runs what the plan declares, refuses what it cannot run, and simulates Azure OpenAI
as the service behaves (keyless, capacity, Retry-After)."""

from __future__ import annotations

import copy
import hashlib
import json
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from components.openai_api import OPENAI_SPEC_URL
from tests.emulator_support import emulator
from tests.support import stack_plan
from tools.emulator import specs
from tools.emulator.backends import Backends, Unavailable
from tools.emulator.clock import Clock
from tools.emulator.context import Headers, JsonValue, Message, RequestState, Url
from tools.emulator.expressions import ExpressionHost, compile_all
from tools.emulator.gateway import Gateway
from tools.emulator.model import read_model
from tools.emulator.pipeline import Documents, EmulatorError
from tools.emulator.server import EmulatorServer

# sha256 of the kept operations of the pinned specification (change it only with the pin).
# The chat deployment both stacks serve (the plan's outputs name it).
CHAT = next(d for d in stack_plan("dev")["outputs"]["deployments"] if "embedding" not in d)
OPERATIONS_SHA256 = "88c7e0a357d3329fcf4abe334a5b836242aaf8188dc4dec43289d899c1554840"


@pytest.fixture(scope="module")
def server() -> Iterator[EmulatorServer]:
    yield emulator("dev")


def _documents(api_policy: str, fragments: dict[str, str] | None = None) -> Documents:
    return Documents.load(None, {"api": api_policy}, {}, fragments or {}, {"known": "value"})


def _policy(inbound: str = "", backend: str = "<forward-request />", outbound: str = "") -> str:
    return (
        f"<policies><inbound><base />{inbound}</inbound><backend>{backend}</backend>"
        f"<outbound><base />{outbound}</outbound><on-error><base /></on-error></policies>"
    )


def test_an_element_the_emulator_does_not_implement_is_an_error_naming_it() -> None:
    with pytest.raises(EmulatorError, match=r"does not implement the <cache-lookup> policy"):
        _documents(_policy('<cache-lookup vary-by-developer="false" />')).check()


def test_an_element_in_a_section_apim_does_not_allow_is_an_error() -> None:
    with pytest.raises(EmulatorError, match=r"<llm-token-limit> is not allowed in the outbound section"):
        _documents(_policy(outbound='<llm-token-limit counter-key="k" tokens-per-minute="1" />')).check()


def test_an_element_inside_a_fragment_is_checked_where_the_fragment_is_included() -> None:
    fragment = "<fragment><forward-request /></fragment>"
    with pytest.raises(EmulatorError, match=r"fragment:f: <forward-request> is not allowed in the inbound section"):
        _documents(_policy('<include-fragment fragment-id="f" />'), {"f": fragment}).check()


def test_an_include_of_a_fragment_the_plan_lacks_is_an_error() -> None:
    with pytest.raises(EmulatorError, match=r"fragment 'missing', which the plan lacks"):
        _documents(_policy('<include-fragment fragment-id="missing" />')).check()


def test_a_named_value_the_plan_lacks_is_an_error() -> None:
    with pytest.raises(EmulatorError, match=r"named value \{\{unknown\}\} is not in the plan"):
        _documents(_policy('<set-variable name="x" value="{{unknown}}" />'))


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_every_element_the_stacks_ship_is_implemented(stack: str) -> None:
    model = read_model(stack_plan(stack))
    documents = Documents.load(
        model.service_policy,
        {a.api_id: a.policy for a in model.apis.values()},
        {p.product_id: p.policy for p in model.products.values()},
        model.fragments,
        model.named_values,
    )
    documents.check()
    assert documents.code, "the plan's policies hold expressions"


def test_backends_breakers_and_pools_come_from_the_plan() -> None:
    plan = stack_plan("prod")
    model = read_model(plan)
    inputs = {r["inputs"]["backendId"]: r["inputs"] for r in plan["resources"] if r["type"].endswith(":Backend")}
    rule = model.backends["openai-ptu-1"].rule
    planned = inputs["openai-ptu-1"]["circuitBreaker"]["rules"][0]
    assert rule is not None
    assert rule.count == planned["failureCondition"]["count"]
    assert rule.accept_retry_after is planned["acceptRetryAfter"]
    assert (rule.interval_seconds, rule.trip_seconds) == (60, 60)
    pool = model.backends[f"pool-{CHAT}"]
    assert [(m.backend_id, m.priority, m.weight) for m in pool.members] == [
        (s["id"].rsplit("/", 1)[-1], s["priority"], s["weight"]) for s in inputs[f"pool-{CHAT}"]["pool"]["services"]
    ]


def test_consumer_keys_are_the_emulators_own_never_the_plans_mask() -> None:
    plan = stack_plan("dev")
    first, second = read_model(plan).consumer_keys(), read_model(plan).consumer_keys()
    assert set(first) == {"team-alpha", "team-beta", "team-gamma", "smoke"}
    assert all(len(k) == 32 and k != "[secret]" for k in first.values())
    assert first != second


def test_pool_prefers_the_first_priority_and_skips_tripped_members() -> None:
    model = read_model(stack_plan("prod"))
    clock = Clock()
    backends = Backends(model, clock)
    assert backends.select(f"pool-{CHAT}").backend_id == "openai-ptu-1"
    for _ in range(3):
        backends.record("openai-ptu-1", 429, {"Retry-After": "7"})
    assert {backends.select(f"pool-{CHAT}").backend_id for _ in range(20)} == {"openai-paygo-1", "openai-paygo-2"}
    assert backends.breakers["openai-ptu-1"].tripped_until == clock.now() + timedelta(seconds=7)
    clock.advance(7)
    assert backends.select(f"pool-{CHAT}").backend_id == "openai-ptu-1"


def test_a_pool_with_every_member_tripped_is_unavailable() -> None:
    model = read_model(stack_plan("dev"))
    backends = Backends(model, Clock())
    for member in model.backends[f"pool-{CHAT}"].members:
        backends.record(member.backend_id, 503, {})
    with pytest.raises(Unavailable, match=f"Backend pool pool-{CHAT} is temporarily unavailable"):
        backends.select(f"pool-{CHAT}")


def test_failures_outside_the_interval_do_not_trip_the_breaker() -> None:
    model = read_model(stack_plan("prod"))
    clock = Clock()
    backends = Backends(model, clock)
    for _ in range(2):
        backends.record("openai-paygo-1", 500, {})
    clock.advance(61)
    backends.record("openai-paygo-1", 500, {})
    assert not backends.tripped("openai-paygo-1")


def test_expressions_run_as_csharp_and_keep_their_dotnet_types() -> None:
    codes = {
        "int": ('@(1 + context.Request.MatchedParameters["deployment-id"].Length)', "object"),
        "json": ('@(new JObject(new JProperty("a", 1)))', "object"),
        "bool": ('@(context.Variables.GetValueOrDefault<int>("n", 0) == 41)', "bool"),
        "body": ('@(context.Request.Body.As<JObject>()["x"].ToString())', "object"),
    }
    host = ExpressionHost(compile_all(codes))
    try:
        state = RequestState(
            method="POST",
            url=Url("https", "gw", 443, "/openai/x"),
            original_url=Url("https", "gw", 443, "/openai/x"),
            request=Message(Headers(), body='{"x": "y"}'),
            ip_address="10.0.0.1",
            timestamp=Clock().now(),
            matched={"deployment-id": "abc"},
            variables={"n": 41},
        )
        model = read_model(stack_plan("dev"))
        state.api = model.primary_api
        rid = state.request_id

        def evaluate(key: str) -> tuple[object, list[str]]:
            return host.evaluate(key, rid, state.parts(model), state.variables, 0.0)

        assert evaluate("int") == (4, [])
        assert evaluate("json") == (JsonValue('{"a":1}'), [])
        assert evaluate("bool") == (True, [])
        value, consumed = evaluate("body")
        assert value == "y"
        assert set(consumed) == {"request", "read:request"}  # As<T>() without preserveContent consumes
    finally:
        host.close()


def test_the_kept_operations_are_those_of_the_specification_the_api_imports() -> None:
    operations = specs.operations_for(OPENAI_SPEC_URL)
    assert {(o.method, o.url_template) for o in operations} >= {
        ("POST", "/deployments/{deployment-id}/chat/completions"),
        ("POST", "/deployments/{deployment-id}/embeddings"),
    }
    # The dated specification's file (the v1 one is tests/test_openai_apis.py's).
    path = specs.SPECS_DIR / "azure-openai-inference-2024-10-21.operations.json"
    assert json.loads(path.read_text())["source"] == OPENAI_SPEC_URL
    assert hashlib.sha256(path.read_bytes()).hexdigest() == OPERATIONS_SHA256


def test_an_api_importing_a_specification_not_kept_is_refused() -> None:
    with pytest.raises(specs.SpecError, match="does not keep"):
        specs.operations_for(OPENAI_SPEC_URL.replace("2024-10-21", "2099-01-01"))


def _post(url: str, body: object, headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
    request = urllib.request.Request(
        url, json.dumps(body).encode(), {"Content-Type": "application/json", **(headers or {})}
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


def test_a_simulated_account_refuses_an_api_key_and_an_unauthenticated_call(server: EmulatorServer) -> None:
    sim = server.gateway.account("paygo-1")
    assert sim is not None
    url = f"http://127.0.0.1:{sim.port}/openai/deployments/{CHAT}/chat/completions?api-version=2024-10-21"
    body = {"messages": [{"role": "user", "content": "hi"}]}
    keyed = _post(url, body, {"api-key": "anything"})
    anonymous = _post(url, body)
    assert keyed[0] == 401 and b"AuthenticationTypeDisabled" in keyed[2]
    assert anonymous[0] == 401


def test_a_simulated_deployment_over_its_capacity_answers_429_with_retry_after(server: EmulatorServer) -> None:
    gateway = server.gateway
    sim = gateway.account("ptu-1")
    assert sim is not None
    token = gateway.managed_identity_token("https://cognitiveservices.azure.com", next(iter(gateway.identity_ids)))
    url = f"http://127.0.0.1:{sim.port}/openai/deployments/{CHAT}/chat/completions?api-version=2024-10-21"
    big = {"messages": [{"role": "user", "content": "word " * 3000}], "max_completion_tokens": 4096}
    statuses = [_post(url, big, {"Authorization": f"Bearer {token}"}) for _ in range(2)]
    assert statuses[0][0] == 200
    status, headers, _ = statuses[1]
    assert status == 429
    assert 0 < int(headers["Retry-After"]) <= 60 and "retry-after-ms" in headers
    gateway.reset()


def test_the_control_api_names_the_accounts_when_one_is_unknown(server: EmulatorServer) -> None:
    status, _, body = _post(f"{server.url}/_emulator/backends/no-such-account", {"mode": "throttle"})
    assert status == 404
    assert b"ptu-1" in body


def test_the_clock_moves_only_forward(server: EmulatorServer) -> None:
    before = server.gateway.clock.now()
    status, _, _ = _post(f"{server.url}/_emulator/clock", {"advance": 90})
    assert status == 200
    assert server.gateway.clock.now() - before == timedelta(seconds=90)
    assert _post(f"{server.url}/_emulator/clock", {"advance": -1})[0] == 400
    server.gateway.reset()


def test_a_request_outside_the_apis_operations_is_404(server: EmulatorServer) -> None:
    key = server.gateway.model.consumer_keys()["team-alpha"]
    status, _, _ = _post(
        f"{server.url}/openai/deployments/{CHAT}/fine-tunes?api-version=2024-10-21", {}, {"api-key": key}
    )
    assert status == 404


def test_python_m_tools_emulate_serves_the_stack_and_says_where_the_control_api_is() -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "tools.emulate", "dev", "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).resolve().parents[1],
    )
    try:
        assert process.stdout is not None
        lines = []
        while not lines or "Control API" not in lines[-1]:
            line = process.stdout.readline()
            assert line, "".join(lines)
            lines.append(line)
        banner = "".join(lines)
        assert "Emulated gateway of stack dev: http://127.0.0.1:" in banner
        assert "team-alpha" in banner and "/_emulator/" in banner
        url = lines[0].split(": ", 1)[1].strip().removesuffix("/openai")
        with urllib.request.urlopen(f"{url}/_emulator/subscriptions", timeout=10) as response:
            assert set(json.loads(response.read())) == {"team-alpha", "team-beta", "team-gamma", "smoke"}
    finally:
        process.terminate()
        process.wait(timeout=10)
        for stream in (process.stdout, process.stderr):
            if stream is not None:
                stream.close()


def test_python_m_tools_emulate_of_an_unknown_stack_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    from tools import emulate

    assert emulate.main(["no-such-stack"]) == 2
    assert "no-such-stack" in capsys.readouterr().err


def test_a_policy_that_reads_a_streamed_body_makes_the_gateway_buffer_the_stream() -> None:
    plan = copy.deepcopy(stack_plan("dev"))
    for resource in plan["resources"]:
        if resource["type"].endswith(":PolicyFragment") and resource["inputs"]["id"] == "usage-record":
            resource["inputs"]["value"] = (
                '<fragment><set-variable name="seen" '
                'value="@(context.Response.Body.As<string>(preserveContent: true))" /></fragment>'
            )
    gateway = Gateway(read_model(plan), plan)
    try:
        key = gateway.model.consumer_keys()["team-alpha"]
        body = {"messages": [{"role": "user", "content": "hi"}], "stream": True}
        answer = gateway.handle(
            "POST",
            f"/openai/deployments/{CHAT}/chat/completions?api-version=2024-10-21",
            [("api-key", key), ("Content-Type", "application/json")],
            json.dumps(body).encode(),
            "127.0.0.1",
            "localhost",
            443,
        )
        assert answer.status == 200
        assert answer.chunks is None and answer.body.endswith(b"data: [DONE]\n\n")
        assert any("stream was buffered" in e["warnings"] for e in gateway.errors)
    finally:
        gateway.close()


def test_llm_logging_is_on_for_the_apis_whose_diagnostic_enables_it_and_only_those() -> None:
    plan = stack_plan("dev")
    assert read_model(plan).llm_logging == set(read_model(plan).apis)
    for resource in plan["resources"]:
        if not resource["type"].endswith("resources:Deployment"):
            continue
        for declared in resource["inputs"]["properties"]["template"]["resources"]:
            if declared.get("type") == "Microsoft.ApiManagement/service/apis/diagnostics":
                declared["properties"]["largeLanguageModel"]["logs"] = "disabled"
    assert read_model(plan).llm_logging == frozenset()


def test_the_emulator_plans_the_stack_now_and_reads_a_plan_file_only_when_named(tmp_path: Path) -> None:
    from tools.emulator.model import load_plan

    planned = load_plan("dev")
    assert planned["outputs"]["deployments"] == stack_plan("dev")["outputs"]["deployments"]
    stale = copy.deepcopy(planned)
    stale["outputs"]["deployments"] = ["gpt-4o-mini"]
    named = tmp_path / "dev.json"
    named.write_text(json.dumps(stale))
    assert load_plan("dev", plan_file=named)["outputs"]["deployments"] == ["gpt-4o-mini"]


def test_python_m_tools_emulate_with_a_missing_plan_file_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from tools import emulate

    assert emulate.main(["dev", "--plan", str(tmp_path / "missing.json")]) == 2
    assert "missing.json" in capsys.readouterr().err
