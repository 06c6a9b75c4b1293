"""The emulator's Responses API: the simulated accounts serve it as Azure OpenAI does, a stored response lives on
the account that created it, and the gateway runs the dated Responses operations the plan declares."""

from __future__ import annotations

import json
from collections.abc import Iterator

import httpx2
import pytest

from tests.emulator_support import emulator, fresh_target
from tools.emulator import responses
from tools.scenarios import Target

STACK = "prod"


@pytest.fixture
def target() -> Iterator[Target]:
    yield from fresh_target(STACK)


def _pool_with_two_accounts(target: Target) -> tuple[str, list[str]]:
    for deployment, members in target.pools.items():
        if deployment in target.chat_deployments and len(members) > 1:
            return deployment, [a for a, _ in members]
    pytest.skip("no chat pool has two accounts")


def test_the_dated_responses_operations_the_plan_declares_are_served() -> None:
    gateway = emulator(STACK).gateway
    dated = gateway.operations["azure-openai"]
    ids = {op.operation_id for op in dated}
    assert {"responses-create", "responses-get", "responses-delete", "responses-input-items",
            "responses-cancel"} <= ids  # fmt: skip


def test_a_stored_response_lives_only_on_the_account_that_created_it(target: Target) -> None:
    deployment, _ = _pool_with_two_accounts(target)
    consumer = next(c for c in target.consumers.values() if deployment in c.deployments)
    created = target.client(consumer).responses.create(model=deployment, input="Hello", max_output_tokens=8)
    sims = emulator(STACK).gateway.sims
    holders = [host for host, sim in sims.items() if sim.responses.get(created.id) is not None]
    assert len(holders) == 1, holders
    other = next(sim for host, sim in sims.items() if host not in holders and sim.account.kind != "ContentSafety")
    assert other.responses.get(created.id) is None
    # Through the gateway the id is found whichever account of the pool holds it.
    assert target.client(consumer).responses.retrieve(created.id).id == created.id


def test_a_streamed_create_sends_the_documented_events_with_usage_last(target: Target) -> None:
    consumer, deployment = target.chat_consumer()
    with httpx2.Client(base_url=target.base_url, timeout=30) as client:
        reply = client.post(
            "/openai/v1/responses", headers={"api-key": consumer.key},
            json={"model": deployment, "input": "Hello there", "stream": True},
        )  # fmt: skip
    assert reply.status_code == 200 and reply.headers["content-type"].startswith("text/event-stream")
    blocks = [b for b in reply.text.split("\n\n") if b.strip()]
    names = [b.splitlines()[0].removeprefix("event: ") for b in blocks]
    assert names[:2] == ["response.created", "response.in_progress"]
    assert "response.output_text.delta" in names and names[-1] == "response.completed"
    completed = json.loads(blocks[-1].splitlines()[1].removeprefix("data: "))
    usage = completed["response"]["usage"]
    assert set(usage) == {"input_tokens", "input_tokens_details", "output_tokens", "output_tokens_details",
                          "total_tokens"}  # fmt: skip
    assert usage["input_tokens_details"] == {"cached_tokens": 0}
    assert usage["output_tokens_details"] == {"reasoning_tokens": 0}
    assert [json.loads(b.splitlines()[1][6:])["sequence_number"] for b in blocks] == list(range(len(blocks)))


def test_the_dated_responses_path_needs_an_api_version(target: Target) -> None:
    consumer, deployment = target.chat_consumer()
    with httpx2.Client(base_url=target.base_url, timeout=30) as client:
        reply = client.post("/openai/responses", headers={"api-key": consumer.key},
                            json={"model": deployment, "input": "Hello"})  # fmt: skip
    assert reply.status_code == 400, reply.text


def test_cancel_of_a_completed_response_is_refused() -> None:
    store = responses.ResponseStore()
    store.put(responses.Stored({"id": "resp_1"}, [], "chat"))
    answers: list[tuple[int, dict[str, object]]] = []
    responses.stored_operation(store, "POST", "resp_1", "/cancel", lambda s, b: answers.append((s, b)))
    assert answers[0][0] == 400


def test_a_responses_call_has_an_llm_log_row_with_its_usage(target: Target) -> None:
    control = target.control
    assert control is not None
    consumer, deployment = target.chat_consumer()
    client = target.client(consumer)
    plain = client.responses.create(model=deployment, input="Hello", max_output_tokens=16)
    list(client.responses.create(model=deployment, input="Hello", max_output_tokens=16, stream=True))
    rows = control.llm_logs()[-2:]
    assert plain.usage is not None
    assert (rows[0]["PromptTokens"], rows[0]["CompletionTokens"], rows[0]["TotalTokens"]) == (
        plain.usage.input_tokens, plain.usage.output_tokens, plain.usage.total_tokens)  # fmt: skip
    assert rows[1]["IsStreamCompletion"] is True and rows[1]["TotalTokens"] == plain.usage.total_tokens
