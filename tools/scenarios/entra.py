"""Entra ID callers: a mapped client application is accepted as its consumer, others are refused."""

from __future__ import annotations

import uuid

from .base import Consumer, Skip, Target, chat_body, scenario


def _mapped(target: Target) -> tuple[Consumer, str]:
    target.need("entra")
    for consumer in target.consumers.values():
        if consumer.entra_app_ids and any(d in target.chat_deployments for d in consumer.deployments):
            return consumer, next(d for d in consumer.deployments if d in target.chat_deployments)
    raise Skip("no consumer maps an Entra ID client application to a chat deployment")


@scenario("entra")
def entra_caller_is_accepted_and_mapped_to_its_consumer(target: Target) -> None:
    control = target.need_control()
    consumer, deployment = _mapped(target)
    token = control.entra_token(consumer.entra_app_ids[0])
    before = len(control.usage_records())
    raw = target.client(token=token).chat.completions.with_raw_response.create(
        model=deployment, messages=[{"role": "user", "content": "Hello as an app"}], max_completion_tokens=8
    )
    assert raw.status_code == 200, raw.status_code
    records = control.usage_records()
    assert len(records) == before + 1
    assert records[-1]["consumerId"] == f"consumer-{consumer.name}"


@scenario("entra")
def entra_caller_of_another_application_tenant_or_audience_is_refused(target: Target) -> None:
    control = target.need_control()
    consumer, deployment = _mapped(target)
    tokens = {
        "unmapped application": control.entra_token(str(uuid.uuid4())),
        "other tenant": control.entra_token(consumer.entra_app_ids[0], tenant=str(uuid.uuid4())),
        "other audience": control.entra_token(consumer.entra_app_ids[0], audience="api://someone-else"),
        "expired": control.entra_token(consumer.entra_app_ids[0], lifetime=-60),
    }
    with target.http() as http:
        for case, token in tokens.items():
            response = http.post(
                target.url(deployment, entra=True), json=chat_body(), headers={"Authorization": f"Bearer {token}"}
            )
            assert response.status_code in (401, 403), f"{case}: {response.status_code} {response.text[:200]}"
