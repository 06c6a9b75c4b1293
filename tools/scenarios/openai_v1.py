"""The v1 API (`/openai/v1/...`, the model in the body) with the plain `OpenAI` client, as README shows it: the
same consumers, allow-lists, spill-over and usage records as the dated API, and OpenAI-shaped errors."""

from __future__ import annotations

from typing import Any

from openai import APIStatusError, OpenAI

from .base import Consumer, Skip, Target, scenario

# No Responses API scenario yet: the emulator's simulated accounts have no Responses API, and the live suite
# (tools.smoke) is tested against the emulator. The requests both SDK clients send for it are checked in
# tests/test_sdk_clients.py.


def v1_client(target: Target, consumer: Consumer | None = None, *, key_header: bool = True) -> OpenAI:
    """OpenAI(base_url=<gateway>/openai/v1/), the key in api-key as well: APIM reads no key from Bearer."""
    key = consumer.key if consumer else ""
    return OpenAI(
        base_url=f"{target.base_url}/{target.api_path}/v1/",
        api_key=key or "none",
        default_headers={"api-key": key} if key_header else {},
        max_retries=0,
        timeout=target.timeout,
    )


def _error(call: Any) -> tuple[int, dict[str, Any]]:
    try:
        call()
    except APIStatusError as error:
        body = error.body if isinstance(error.body, dict) else {}
        inner = body.get("error", body) if isinstance(body, dict) else {}
        return error.status_code, inner if isinstance(inner, dict) else {}
    return 200, {}


def _chat(client: OpenAI, deployment: str, **extra: Any) -> Any:
    return client.chat.completions.create(
        model=deployment, messages=[{"role": "user", "content": "Reply with the single word: pong"}],
        max_completion_tokens=16, **extra,
    )


@scenario("v1")
def v1_chat_plain_and_streamed_reach_the_deployment(target: Target) -> None:
    consumer, deployment = target.chat_consumer()
    client = v1_client(target, consumer)
    completion = _chat(client, deployment)
    assert completion.choices and completion.choices[0].message.content
    assert completion.usage is not None and completion.usage.total_tokens > 0
    chunks = list(_chat(client, deployment, stream=True, stream_options={"include_usage": True}))
    assert any(c.choices and c.choices[0].delta.content for c in chunks), "the stream carried no text"
    assert chunks[-1].usage is not None and chunks[-1].usage.total_tokens > 0


@scenario("v1")
def v1_embeddings_reach_the_deployment(target: Target) -> None:
    for consumer in target.consumers.values():
        for deployment in consumer.deployments:
            if deployment in target.embedding_deployments:
                result = v1_client(target, consumer).embeddings.create(model=deployment, input="The quick fox")
                assert result.data and result.data[0].embedding and result.usage.prompt_tokens > 0
                return
    raise Skip("no consumer may call an embeddings deployment")


@scenario("v1")
def v1_model_outside_the_allow_list_is_403(target: Target) -> None:
    for consumer in target.consumers.values():
        denied = [d for d in target.chat_deployments if d not in consumer.deployments]
        if denied:
            client, name = v1_client(target, consumer), denied[0]
            status, error = _error(lambda client=client, name=name: _chat(client, name))
            assert (status, error.get("code")) == (403, "DeploymentNotAllowed"), (status, error)
            return
    raise Skip("every consumer may call every chat deployment")


@scenario("v1")
def v1_unknown_model_is_an_openai_shaped_404(target: Target) -> None:
    consumer, _ = target.chat_consumer()
    status, error = _error(lambda: _chat(v1_client(target, consumer), "no-such-model"))
    assert status == 404, (status, error)
    assert (error.get("code"), error.get("type"), error.get("param")) == (
        "model_not_found", "invalid_request_error", "model"), error


@scenario("v1")
def v1_plain_client_without_the_api_key_header_is_refused(target: Target) -> None:
    consumer, deployment = target.chat_consumer()
    status, error = _error(lambda: _chat(v1_client(target, consumer, key_header=False), deployment))
    assert status == 401, (status, error)


@scenario("v1")
def v1_throttled_ptu_spills_over_to_pay_as_you_go(target: Target) -> None:
    control = target.need_control()
    for deployment, members in target.pools.items():
        ptu = [a for a, _ in members if target.accounts.get(a) == "ptu"]
        paygo = [a for a, _ in members if target.accounts.get(a) == "paygo"]
        consumers = [c for c in target.consumers.values() if deployment in c.deployments]
        if deployment in target.chat_deployments and ptu and paygo and consumers:
            break
    else:
        raise Skip("no chat pool spans PTU and pay-as-you-go accounts")
    for account in ptu:
        control.backend(account, "throttle", retryAfter=30)
    before = {a: control.accounts()[a]["requests"] for a in paygo}
    raw = v1_client(target, consumers[0]).chat.completions.with_raw_response.create(
        model=deployment, messages=[{"role": "user", "content": "Hello"}], max_completion_tokens=8
    )
    assert raw.status_code == 200, raw.status_code
    after = control.accounts()
    assert sum(after[a]["requests"] - before[a] for a in paygo) >= 1, "pay-as-you-go did not answer"


@scenario("v1")
def v1_and_dated_calls_each_write_one_usage_record_naming_their_api(target: Target) -> None:
    control = target.need_control()
    consumer, deployment = target.chat_consumer()
    before = len(control.usage_records())
    completion = _chat(v1_client(target, consumer), deployment)
    records = control.usage_records()[before:]
    assert len(records) == 1, records
    [record] = records
    assert (record["api"], record["deploymentName"]) == ("v1", deployment), record
    assert record["consumerId"] == f"consumer-{consumer.name}"
    assert completion.usage is not None and record["totalTokens"] == completion.usage.total_tokens
    before = len(control.usage_records())
    target.client(consumer).chat.completions.create(
        model=deployment, messages=[{"role": "user", "content": "pong"}], max_completion_tokens=8
    )
    [dated] = control.usage_records()[before:]
    assert (dated["api"], dated["deploymentName"]) == ("dated", deployment), dated


@scenario("v1")
def v1_entra_caller_with_a_bearer_token_is_accepted_as_its_consumer(target: Target) -> None:
    """OpenAI(base_url=<gateway>/entra/openai/v1/, api_key=<token provider>): the token as Authorization: Bearer."""
    control = target.need_control()
    target.need("entra")
    if target.entra_api_path is None:
        raise Skip("the stack has no Entra ID callers' API")
    for consumer in target.consumers.values():
        chat = [d for d in consumer.deployments if d in target.chat_deployments]
        if consumer.entra_app_ids and chat:
            break
    else:
        raise Skip("no consumer maps an Entra ID client application to a chat deployment")
    token = control.entra_token(consumer.entra_app_ids[0])
    client = OpenAI(base_url=f"{target.base_url}/{target.entra_api_path}/v1/", api_key=token, max_retries=0,
                    timeout=target.timeout)
    before = len(control.usage_records())
    completion = _chat(client, chat[0])
    assert completion.choices and completion.choices[0].message.content
    [record] = control.usage_records()[before:]
    assert (record["api"], record["consumerId"]) == ("v1", f"consumer-{consumer.name}"), record
