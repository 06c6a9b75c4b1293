"""Usage records: one per request, matching the schema, with honest token counts."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema

from .base import Skip, Target, scenario

SCHEMAS = Path(__file__).resolve().parents[2] / "schemas"


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
    before, logged = len(control.usage_records()), len(control.llm_logs())
    completion = target.client(consumer).chat.completions.create(
        model=deployment, messages=[{"role": "user", "content": "Count my tokens, please"}], max_completion_tokens=12
    )
    record = _one_new_record(target, before)
    rows = control.llm_logs()[logged:]
    assert [(r["CorrelationId"], r["IsStreamCompletion"], r["TotalTokens"]) for r in rows] == [
        (record["requestId"], False, record["totalTokens"])
    ], rows
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


@scenario("usage")
def streamed_call_writes_one_estimated_record_and_an_exact_llm_log_row(target: Target) -> None:
    """A streamed answer is never read by the policies: its record says tokenSource "estimate" with the token
    limit's count (the prompt estimate, as outbound sees it; prompt and completion unknown), and the API's LLM
    logging writes the exact counts to ApiManagementGatewayLlmLog, CorrelationId = the record's requestId."""
    control = target.need_control()
    consumer, deployment = target.chat_consumer()
    before, logged = len(control.usage_records()), len(control.llm_logs())
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
    assert record["streamed"] is True and record["tokenSource"] == "estimate", record
    assert record["promptTokens"] is None and record["completionTokens"] is None, record
    total = record["totalTokens"]
    assert total is not None and 0 < total < usage.total_tokens, f"{total} is no prompt estimate of {usage}"
    rows = control.llm_logs()[logged:]
    assert len(rows) == 1, f"{len(rows)} LLM log rows for one request"
    row = rows[0]
    assert row["CorrelationId"] == record["requestId"], (row["CorrelationId"], record["requestId"])
    assert row["DeploymentName"] == deployment and row["IsStreamCompletion"] is True, row
    assert (row["PromptTokens"], row["CompletionTokens"], row["TotalTokens"]) == (
        usage.prompt_tokens,
        usage.completion_tokens,
        usage.total_tokens,
    ), row
