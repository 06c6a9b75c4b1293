"""`python -m tools.smoke`: its checks against a local fake gateway, well-behaved and misbehaving; offline."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.fake_gateway import Behaviour, FakeConsumer, FakeGateway, default_consumers
from tools import smoke


@pytest.fixture
def run(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Iterator[Any]:
    """Runs the smoke check against a fake (its outputs changed by `edit`): (exit code, stdout + stderr, fake)."""
    fakes: list[FakeGateway] = []

    def _run(
        behaviour: Behaviour | None = None,
        *extra: str,
        edit: Callable[[dict[str, Any]], object] | None = None,
        consumers: dict[str, FakeConsumer] | None = None,
    ) -> tuple[int, str, FakeGateway]:
        fake = FakeGateway(behaviour=behaviour or Behaviour())
        if consumers is not None:
            fake.consumers = consumers
        fake.start()
        fakes.append(fake)
        outputs = fake.outputs()
        if edit is not None:
            edit(outputs)
        path = tmp_path / "outputs.json"
        path.write_text(json.dumps(outputs))
        code = smoke.main(["dev", "--outputs", str(path), "--timeout", "5", "--time-budget", "10", *extra])
        captured = capsys.readouterr()
        return code, captured.out + captured.err, fake

    yield _run
    for fake in fakes:
        fake.stop()


def row(output: str, check: str) -> str:
    """The table row of the check whose name starts with `check`."""
    rows = [line for line in output.splitlines() if line.startswith(check)]
    assert rows, f"no row for {check!r} in:\n{output}"
    return rows[0]


def test_every_check_passes_against_a_well_behaved_gateway(run: Any) -> None:
    code, output, _ = run()
    assert code == smoke.EXIT_OK, output
    assert "FAIL" not in output
    assert "7 passed, 0 failed, 0 skipped" in output


def test_the_limit_check_uses_the_smallest_limit_among_consumers_allowed_a_chat_deployment(run: Any) -> None:
    # team-beta has the smallest limit but only an embeddings deployment.
    _, output, _ = run()
    assert "team-gamma, 600 tokens/min" in row(output, "over the token limit")


def test_chat_check_fails_without_the_token_headers(run: Any) -> None:
    code, output, _ = run(Behaviour(token_headers=False))
    assert code == smoke.EXIT_FAILED
    assert row(output, "chat completion").endswith("FAIL")
    assert "missing x-gateway-remaining-tokens" in row(output, "chat completion")


def test_stream_check_fails_when_the_stream_lacks_done(run: Any) -> None:
    code, output, _ = run(Behaviour(stream_done=False))
    assert code == smoke.EXIT_FAILED
    assert "no data: [DONE]" in row(output, "streamed chat completion")
    assert row(output, "streamed chat completion").endswith("FAIL")


def test_stream_check_fails_on_a_content_type_other_than_event_stream(run: Any) -> None:
    code, output, _ = run(Behaviour(stream_content_type="application/json"))
    assert code == smoke.EXIT_FAILED
    assert "content type application/json" in row(output, "streamed chat completion")


def test_stream_check_passes_without_a_usage_chunk(run: Any) -> None:
    code, output, _ = run(Behaviour(stream_usage=False))
    assert code == smoke.EXIT_OK, output
    assert "no usage chunk" in row(output, "streamed chat completion")


def test_key_checks_fail_when_the_gateway_serves_requests_without_a_valid_key(run: Any) -> None:
    code, output, _ = run(Behaviour(require_key=False))
    assert code == smoke.EXIT_FAILED
    assert row(output, "request without an api-key").endswith("FAIL")
    assert row(output, "request with a wrong api-key").endswith("FAIL")


def test_allow_list_checks_fail_when_the_gateway_does_not_enforce_the_allow_list(run: Any) -> None:
    code, output, _ = run(Behaviour(enforce_allow_list=False))
    assert code == smoke.EXIT_FAILED
    assert row(output, "deployment outside the allow-list").endswith("FAIL")
    unknown = row(output, "unknown deployment")
    assert "404 DeploymentNotFound" in unknown and unknown.endswith("FAIL")


def test_allow_list_check_is_skipped_when_every_consumer_may_call_every_deployment(run: Any) -> None:
    consumers = default_consumers()
    for consumer in consumers.values():
        consumer.deployments = ["gpt-5.4", "text-embedding-3-small"]
    code, output, _ = run(None, consumers=consumers)
    assert code == smoke.EXIT_OK, output
    assert row(output, "deployment outside the allow-list").endswith("SKIP")


def test_limit_check_fails_on_a_429_without_retry_after(run: Any) -> None:
    code, output, _ = run(Behaviour(retry_after=False))
    assert code == smoke.EXIT_FAILED
    assert "no Retry-After header" in row(output, "over the token limit")


def test_limit_check_fails_on_a_429_with_another_error_code(run: Any) -> None:
    code, output, _ = run(Behaviour(error_code_429="RateLimitExceeded"))
    assert code == smoke.EXIT_FAILED
    assert "error code RateLimitExceeded" in row(output, "over the token limit")


def test_limit_check_reports_not_reached_with_the_tokens_sent_when_the_gateway_never_throttles(run: Any) -> None:
    code, output, _ = run(Behaviour(throttle=False), "--max-requests", "4")
    limit = row(output, "over the token limit")
    assert code == smoke.EXIT_FAILED
    assert "not reached: 4 request(s)" in limit and limit.endswith("FAIL")
    assert "~8" in limit and "tokens sent" in limit  # 4 x (prompt of ~218 + 5 completion tokens)


def test_keys_are_masked_even_when_the_gateway_echoes_them(run: Any) -> None:
    _, output, fake = run(Behaviour(echo_key=True))
    for consumer in fake.consumers.values():
        assert consumer.key not in output
    assert "(api-key ***)" in output  # the wrong key, echoed in the 401 message, masked too
    assert "-key-" not in output  # not even the start of a key cut short in a message


def test_keys_are_masked_in_transport_errors(run: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(self: smoke.Gateway, deployment: str, key: str | None, payload: dict[str, Any]) -> Any:
        raise ConnectionResetError(f"connection reset while sending api-key {key}")

    monkeypatch.setattr(smoke.Gateway, "_open", broken)
    code, output, fake = run()
    assert code == smoke.EXIT_FAILED
    assert "ConnectionResetError: connection reset while sending api-key ***" in output
    for consumer in fake.consumers.values():
        assert consumer.key not in output


def test_outputs_are_read_from_the_outputs_file_without_the_pulumi_cli(
    run: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(smoke.shutil, "which", lambda _: pytest.fail("the CLI must not be looked up"))
    code, output, fake = run()
    assert code == smoke.EXIT_OK
    assert fake.base_url in output


def test_missing_consumer_keys_are_a_configuration_error(run: Any) -> None:
    code, output, fake = run(None, edit=lambda o: o.pop("consumerKeys"))
    assert code == smoke.EXIT_USAGE
    assert "lack consumerKeys" in output
    assert fake.requests == 0


def test_masked_consumer_keys_are_a_configuration_error(run: Any) -> None:
    code, output, _ = run(None, edit=lambda o: o.update(consumerKeys=dict.fromkeys(o["consumerKeys"], "[secret]")))
    assert code == smoke.EXIT_USAGE
    assert "--show-secrets" in output


def test_plain_http_to_a_remote_host_is_refused(run: Any) -> None:
    code, output, _ = run(None, edit=lambda o: o.update(openaiBaseUrl="http://gateway.example.com/openai"))
    assert code == smoke.EXIT_USAGE
    assert "plain http" in output


def test_a_deployment_outside_the_consumers_allow_list_is_a_usage_error(run: Any) -> None:
    code, output, _ = run(None, "--consumer", "team-gamma", "--deployment", "text-embedding-3-small")
    assert code == smoke.EXIT_USAGE
    assert "not in team-gamma's allow-list" in output


def test_a_missing_pulumi_cli_is_a_configuration_error(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(smoke.shutil, "which", lambda _: None)
    assert smoke.main(["dev"]) == smoke.EXIT_USAGE
    assert "Pulumi CLI is not on PATH" in capsys.readouterr().err


def test_a_cli_that_is_not_logged_in_is_a_configuration_error(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(smoke.shutil, "which", lambda _: "/usr/bin/pulumi")
    stderr = "error: PULUMI_ACCESS_TOKEN must be set for login during non-interactive CLI sessions"
    failed = subprocess.CompletedProcess([], 255, "", stderr)
    monkeypatch.setattr(smoke.subprocess, "run", lambda *a, **k: failed)
    assert smoke.main(["dev"]) == smoke.EXIT_USAGE
    assert "run `pulumi login`" in capsys.readouterr().err


def test_outputs_come_from_pulumi_stack_output_with_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[list[str]] = []

    def fake_run(command: list[str], **_: Any) -> subprocess.CompletedProcess[str]:
        calls.append(command)
        return subprocess.CompletedProcess(command, 0, json.dumps({"openaiBaseUrl": "https://gw.example/openai"}), "")

    monkeypatch.setattr(smoke.shutil, "which", lambda _: "/usr/bin/pulumi")
    monkeypatch.setattr(smoke.subprocess, "run", fake_run)
    assert smoke.outputs_from_pulumi("prod") == {"openaiBaseUrl": "https://gw.example/openai"}
    assert calls == [["/usr/bin/pulumi", "stack", "output", "--json", "--show-secrets", "--stack", "prod"]]
