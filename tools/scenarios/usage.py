"""Usage records: one per request, matching the schema, with honest token counts."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema

from .base import Skip, Target, scenario

SCHEMAS = Path(__file__).resolve().parents[2] / "components" / "schemas"


def _schema(record: dict[str, Any]) -> dict[str, Any]:
    version = str(record.get("schemaVersion", "1.0")).split(".")[0]
    path = SCHEMAS / f"usage-record.v{version}.json"
    schema: dict[str, Any] = json.loads(path.read_text())
    return schema


def _one_new_record(target: Target, before: int) -> dict[str, Any]:
    assert target.control is not None
    records = target.control.usage_records()
    assert len(records) == before + 1, f"{len(records) - before} records for one request"
    record = records[-1]
    jsonschema.validate(record, _schema(record))
    return record


@scenario("usage")
def non_streamed_call_writes_one_record_with_the_responses_usage(target: Target) -> None:
    control = target.need_control()
    consumer, deployment = target.chat_consumer()
    before = len(control.usage_records())
    completion = target.client(consumer).chat.completions.create(
        model=deployment, messages=[{"role": "user", "content": "Count my tokens, please"}], max_completion_tokens=12
    )
    record = _one_new_record(target, before)
    assert completion.usage is not None
    assert record["consumerId"] == f"consumer-{consumer.name}"
    assert record["deploymentName"] == deployment
    assert record["streamed"] is False and record["tokenSource"] == "usage"
    assert record["promptTokens"] == completion.usage.prompt_tokens
    assert record["completionTokens"] == completion.usage.completion_tokens
    assert record["totalTokens"] == completion.usage.total_tokens
    assert record["model"] == completion.model


@scenario("usage")
def embeddings_call_writes_one_record_with_the_reported_prompt_tokens(target: Target) -> None:
    control = target.need_control()
    for consumer in target.consumers.values():
        deployment = next((d for d in consumer.deployments if d in target.embedding_deployments), None)
        if deployment is not None:
            break
    else:
        raise Skip("no consumer may call an embeddings deployment")
    before = len(control.usage_records())
    result = target.client(consumer).embeddings.create(model=deployment, input="Meter these words, please")
    record = _one_new_record(target, before)
    assert record["tokenSource"] == "usage" and record["streamed"] is False
    assert record["promptTokens"] == record["totalTokens"] == result.usage.total_tokens
    assert record["completionTokens"] in (0, None)


@scenario(
    "usage",
    known_issue="issue 13: a streamed call's record carries the token limit's count as outbound sees it, the "
    "prompt estimate only (9 of 29 tokens in the emulator): the completion is counted after the stream is relayed; "
    "exact counts are only in ApiManagementGatewayLlmLog, which the emulator does not model",
)
def streamed_call_writes_one_record_with_honest_token_counts(target: Target) -> None:
    control = target.need_control()
    consumer, deployment = target.chat_consumer()
    before = len(control.usage_records())
    stream = target.client(consumer).chat.completions.create(
        model=deployment,
        messages=[{"role": "user", "content": "Stream a short answer"}],
        max_completion_tokens=24,
        stream=True,
        stream_options={"include_usage": True},
    )
    usage = None
    for chunk in stream:
        if chunk.usage is not None:
            usage = chunk.usage
    assert usage is not None, "the stream had no usage chunk"
    record = _one_new_record(target, before)
    assert record["streamed"] is True
    assert record["tokenSource"] in ("estimate", "usage")
    total = record["totalTokens"]
    assert total is not None and abs(total - usage.total_tokens) <= 0.25 * usage.total_tokens, (
        f"record says {total} tokens, the stream used {usage.total_tokens}"
    )
