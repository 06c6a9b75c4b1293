"""The C# host keeps each request's context between its expressions and receives only what changed: every
expression still sees the request exactly as it is at that moment, and requests never see each other's."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support import stack_plan
from tools.emulator.clock import Clock
from tools.emulator.context import Headers, JsonValue, LastError, Message, RequestState, Response, Url
from tools.emulator.expressions import ExpressionError, ExpressionHost, compile_all
from tools.emulator.model import GatewayModel, read_model

CODES = {
    "n": ('@(context.Variables.GetValueOrDefault<int>("n", -1))', "object"),
    "flag": ('@(context.Variables.ContainsKey("flag") ? context.Variables["flag"].GetType().Name : "none")', "object"),
    "header": ('@(context.Request.Headers.GetValueOrDefault("x-probe", "missing"))', "object"),
    "status": ("@(context.Response == null ? -1 : context.Response.StatusCode)", "object"),
    "error": ('@(context.LastError == null ? "none" : context.LastError.Reason)', "object"),
    "mutate": (
        '@{ var o = (JObject)context.Variables["doc"]; bool before = o["seen"] != null; '
        'o["seen"] = true; return before; }',
        "object",
    ),
    "body": (
        '@(context.Request.Body == null ? "no body" : context.Request.Body.As<string>(preserveContent: true))',
        "object",
    ),
    "throws": ('@(context.Variables["absent"].ToString())', "object"),
    "text": ('@("tab\\t, line\\n, quote \\" and backslash \\\\, é → 😀")', "object"),
    "values": ('@(context.Variables["v"])', "object"),
}


@pytest.fixture(scope="module")
def host() -> Iterator[ExpressionHost]:
    running = ExpressionHost(compile_all(CODES))
    yield running
    running.close()


@pytest.fixture(scope="module")
def model() -> GatewayModel:
    return read_model(stack_plan("dev"))


def _state(model: GatewayModel, **variables: object) -> RequestState:
    state = RequestState(
        method="POST",
        url=Url("https", "gw", 443, "/openai/x"),
        original_url=Url("https", "gw", 443, "/openai/x"),
        request=Message(Headers(), body='{"x": 1}'),
        ip_address="10.0.0.1",
        timestamp=Clock().now(),
        variables=dict(variables),
    )
    state.api = model.primary_api
    return state


def _evaluate(host: ExpressionHost, model: GatewayModel, state: RequestState, key: str) -> object:
    return host.evaluate(key, state.request_id, state.parts(model), state.variables, 0.0)[0]


def test_a_variable_set_between_expressions_is_seen_by_the_next(host: ExpressionHost, model: GatewayModel) -> None:
    state = _state(model, n=1)
    assert _evaluate(host, model, state, "n") == 1
    state.variables["n"] = 2
    assert _evaluate(host, model, state, "n") == 2


def test_a_variable_keeps_its_dotnet_type_when_only_its_type_changes(host: ExpressionHost, model: GatewayModel) -> None:
    state = _state(model, flag=1)
    assert _evaluate(host, model, state, "flag") == "Int32"
    state.variables["flag"] = True  # equal to 1 in Python, a different .NET value
    assert _evaluate(host, model, state, "flag") == "Boolean"


def test_a_removed_variable_is_gone_for_the_next_expression(host: ExpressionHost, model: GatewayModel) -> None:
    state = _state(model, flag="x")
    assert _evaluate(host, model, state, "flag") == "String"
    del state.variables["flag"]
    assert _evaluate(host, model, state, "flag") == "none"


def test_headers_response_and_last_error_changes_reach_the_next_expression(
    host: ExpressionHost, model: GatewayModel
) -> None:
    state = _state(model)
    assert _evaluate(host, model, state, "header") == "missing"
    assert _evaluate(host, model, state, "status") == -1
    state.request.headers.set("x-probe", ["1"])
    state.response = Response(Headers(), body="{}", status=429)
    state.last_error = LastError("rate-limit", "RateLimitExceeded", "over", "inbound")
    assert _evaluate(host, model, state, "header") == "1"
    assert _evaluate(host, model, state, "status") == 429
    assert _evaluate(host, model, state, "error") == "RateLimitExceeded"


def test_a_consumed_body_is_gone_for_the_next_expression(host: ExpressionHost, model: GatewayModel) -> None:
    state = _state(model)
    assert _evaluate(host, model, state, "body") == '{"x": 1}'
    state.request.consumed = True
    assert _evaluate(host, model, state, "body") == "no body"


def test_an_expression_changing_a_json_variable_in_place_does_not_change_it_for_the_next(
    host: ExpressionHost, model: GatewayModel
) -> None:
    state = _state(model, doc=JsonValue('{"a":1}'))
    assert _evaluate(host, model, state, "mutate") is False
    # The variable still holds what the policies stored; the next expression gets it afresh.
    assert _evaluate(host, model, state, "mutate") is False


def test_interleaved_requests_each_see_their_own_context(host: ExpressionHost, model: GatewayModel) -> None:
    first, second = _state(model, n=10), _state(model, n=20)
    assert _evaluate(host, model, first, "n") == 10
    assert _evaluate(host, model, second, "n") == 20
    first.variables["n"] = 11
    assert _evaluate(host, model, second, "n") == 20
    assert _evaluate(host, model, first, "n") == 11


def test_a_failed_expression_leaves_the_request_able_to_continue(host: ExpressionHost, model: GatewayModel) -> None:
    state = _state(model, n=5)
    with pytest.raises(ExpressionError, match="KeyNotFoundException"):
        _evaluate(host, model, state, "throws")
    state.variables["n"] = 6
    assert _evaluate(host, model, state, "n") == 6


def test_a_finished_request_leaves_no_context_behind(host: ExpressionHost, model: GatewayModel) -> None:
    state = _state(model, n=7)
    assert _evaluate(host, model, state, "n") == 7
    host.finish(state.request_id)
    assert state.request_id not in host.sessions
    other = _state(model, n=8)
    assert _evaluate(host, model, other, "n") == 8  # the drop travels with this message
    assert other.request_id in host.sessions


def test_variables_given_as_a_plain_dict_are_compared_in_full(host: ExpressionHost, model: GatewayModel) -> None:
    state = _state(model)
    variables: dict[str, object] = {"n": 1}
    assert host.evaluate("n", state.request_id, state.parts(model), variables, 0.0)[0] == 1
    variables["n"] = 3
    assert host.evaluate("n", state.request_id, state.parts(model), variables, 0.0)[0] == 3
    del variables["n"]
    assert host.evaluate("n", state.request_id, state.parts(model), variables, 0.0)[0] == -1


def test_strings_of_any_characters_come_back_exactly(host: ExpressionHost, model: GatewayModel) -> None:
    state = _state(model)
    assert _evaluate(host, model, state, "text") == 'tab\t, line\n, quote " and backslash \\, é → 😀'


@pytest.mark.parametrize(
    "value", [None, True, False, 0, -(2**31), 2**40, 0.1, 1e300, "", "x", JsonValue('{"a":[1,"b"]}')]
)
def test_each_type_of_value_comes_back_as_it_went(host: ExpressionHost, model: GatewayModel, value: object) -> None:
    state = _state(model, v=value)
    back = _evaluate(host, model, state, "values")
    assert back == value and type(back) is type(value)
