"""Routing: each deployment reaches its pool; unknown deployments, other consumers' deployments and callers
without a valid key are refused."""

from __future__ import annotations

from .base import Skip, Target, chat_body, error_code, scenario


@scenario("routing")
def chat_completion_reaches_each_allowed_chat_deployment(target: Target) -> None:
    seen = 0
    for consumer in target.consumers.values():
        for deployment in consumer.deployments:
            if deployment not in target.chat_deployments:
                continue
            raw = target.client(consumer).chat.completions.with_raw_response.create(
                model=deployment, messages=[{"role": "user", "content": "Say pong"}], max_completion_tokens=8
            )
            completion = raw.parse()
            assert raw.status_code == 200, raw.status_code
            assert completion.choices and completion.choices[0].message.content
            assert completion.usage is not None and completion.usage.total_tokens > 0
            seen += 1
    if not seen:
        raise Skip("no consumer may call a chat deployment")


@scenario("routing")
def embeddings_reach_each_allowed_embeddings_deployment(target: Target) -> None:
    seen = 0
    for consumer in target.consumers.values():
        for deployment in consumer.deployments:
            if deployment in target.embedding_deployments:
                result = target.client(consumer).embeddings.create(model=deployment, input="The quick brown fox")
                assert result.data and result.data[0].embedding
                assert result.usage.prompt_tokens > 0
                seen += 1
    if not seen:
        raise Skip("no consumer may call an embeddings deployment")


# openai-request resolves the deployment before <base />, so an unknown name is a 404 before any product policy.
@scenario("routing")
def unknown_deployment_is_404_deployment_not_found(target: Target) -> None:
    consumer, _ = target.chat_consumer()
    with target.http() as http:
        response = http.post(target.url("no-such-deployment"), json=chat_body(), headers={"api-key": consumer.key})
    assert response.status_code == 404, (response.status_code, response.text[:200])
    assert error_code(response) == "DeploymentNotFound", response.text[:200]


@scenario("routing")
def deployment_outside_the_allow_list_is_403(target: Target) -> None:
    for consumer in target.consumers.values():
        denied = [d for d in target.deployments if d not in consumer.deployments]
        if denied:
            operation = "embeddings" if denied[0] in target.embedding_deployments else "chat/completions"
            body = {"input": "x"} if operation == "embeddings" else chat_body()
            with target.http() as http:
                response = http.post(target.url(denied[0], operation), json=body, headers={"api-key": consumer.key})
            assert response.status_code == 403, (response.status_code, response.text[:200])
            assert error_code(response) == "DeploymentNotAllowed", response.text[:200]
            return
    raise Skip("every consumer may call every deployment")


@scenario("routing")
def missing_or_wrong_key_is_401(target: Target) -> None:
    _, deployment = target.chat_consumer()
    with target.http() as http:
        missing = http.post(target.url(deployment), json=chat_body())
        wrong = http.post(target.url(deployment), json=chat_body(), headers={"api-key": "0" * 32})
    assert missing.status_code == 401, (missing.status_code, missing.text[:200])
    assert wrong.status_code == 401, (wrong.status_code, wrong.text[:200])
