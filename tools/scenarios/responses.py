"""The Responses API through the gateway with both official SDK clients: `AzureOpenAI` (api-key, the dated path
`/openai/responses?api-version=...`) and the plain `OpenAI` client (base_url .../openai/v1/, the key in
default_headers api-key). Create plain and streamed, the stored response's retrieve, input items and delete, an
unknown id, a model outside the consumer's allow-list, and the usage record a Responses call writes."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

from openai import APIStatusError, AzureOpenAI, OpenAI

from .base import Consumer, Skip, Target, scenario
from .openai_v1 import v1_client

Client = AzureOpenAI | OpenAI
PROMPT = "Reply with the single word: pong"


def _clients(target: Target, consumer: Consumer) -> list[tuple[str, Client]]:
    return [("dated", target.client(consumer)), ("v1", v1_client(target, consumer))]


def _status(call: Callable[[], Any]) -> tuple[int, dict[str, Any]]:
    try:
        call()
    except APIStatusError as error:
        body = error.body if isinstance(error.body, dict) else {}
        inner = body.get("error", body)
        return error.status_code, inner if isinstance(inner, dict) else {}
    return 200, {}


@scenario("responses")
def responses_create_plain_and_streamed_with_both_clients(target: Target) -> None:
    consumer, deployment = target.chat_consumer()
    for api, client in _clients(target, consumer):
        response = client.responses.create(model=deployment, input=PROMPT, max_output_tokens=16)
        assert response.status == "completed" and response.output_text, (api, response)
        assert response.usage is not None and response.usage.input_tokens > 0 and response.usage.output_tokens > 0
        assert response.usage.total_tokens == response.usage.input_tokens + response.usage.output_tokens
        events = list(client.responses.create(model=deployment, input=PROMPT, max_output_tokens=16, stream=True))
        kinds = [e.type for e in events]
        assert kinds[0] == "response.created" and kinds[-1] == "response.completed", (api, kinds)
        text = "".join(e.delta for e in events if e.type == "response.output_text.delta")
        assert text, (api, "the stream carried no text")
        completed = events[-1].response  # type: ignore[union-attr]
        assert completed.usage is not None and completed.usage.output_tokens > 0, (api, completed)


@scenario("responses")
def stored_response_is_retrieved_listed_and_deleted_with_both_clients(target: Target) -> None:
    """No model in these requests: the gateway asks each account of the pool until one knows the id."""
    consumer, deployment = target.chat_consumer()
    for api, client in _clients(target, consumer):
        created = client.responses.create(model=deployment, input=PROMPT, max_output_tokens=16, store=True)
        fetched = client.responses.retrieve(created.id)
        assert (fetched.id, fetched.output_text) == (created.id, created.output_text), (api, fetched)
        items = client.responses.input_items.list(created.id)
        assert [i.type for i in items.data] == ["message"], (api, items)
        client.responses.delete(created.id)
        status, error = _status(partial(client.responses.retrieve, created.id))
        assert status == 404, (api, status, error)


@scenario("responses")
def unknown_response_id_is_404(target: Target) -> None:
    consumer, _ = target.chat_consumer()
    for api, client in _clients(target, consumer):
        status, error = _status(partial(client.responses.retrieve, "resp_no_such_response"))
        assert status == 404, (api, status, error)
        if target.control is not None:
            assert error.get("code") == "ResponseNotFound", (api, error)


@scenario("responses")
def responses_model_outside_the_allow_list_is_403(target: Target) -> None:
    for consumer in target.consumers.values():
        denied = [d for d in target.chat_deployments if d not in consumer.deployments]
        if denied:
            break
    else:
        raise Skip("every consumer may call every chat deployment")
    for api, client in _clients(target, consumer):
        status, error = _status(partial(client.responses.create, model=denied[0], input=PROMPT, max_output_tokens=8))
        assert (status, error.get("code")) == (403, "DeploymentNotAllowed"), (api, status, error)


@scenario("responses")
def responses_call_writes_a_usage_record_with_its_tokens_and_api(target: Target) -> None:
    control = target.need_control()
    consumer, deployment = target.chat_consumer()
    for api, client in _clients(target, consumer):
        before = len(control.usage_records())
        response = client.responses.create(model=deployment, input=PROMPT, max_output_tokens=16)
        records = control.usage_records()[before:]
        assert len(records) == 1, (api, records)
        [record] = records
        assert response.usage is not None
        assert (record["api"], record["deploymentName"], record["consumerId"]) == (
            api, deployment, f"consumer-{consumer.name}"), record  # fmt: skip
        assert (record["promptTokens"], record["completionTokens"], record["totalTokens"]) == (
            response.usage.input_tokens, response.usage.output_tokens, response.usage.total_tokens), record  # fmt: skip
        assert (record["tokenSource"], record["streamed"]) == ("usage", False), record
