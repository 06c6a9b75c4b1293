"""Live smoke check of a deployed stack: `python -m tools.smoke <stack>`.

Reads the stack outputs (`pulumi stack output --json --show-secrets`, or `--outputs FILE.json` with the same
shape) and sends a few real requests through the gateway, Azure OpenAI inference API 2024-10-21:

1. a chat completion with a consumer's key: 200, `choices`, `usage.total_tokens` > 0 and the token headers;
2. a streamed chat completion: 200, `text/event-stream`, `data:` chunks (a usage chunk, if any, counts
   tokens) ending with `data: [DONE]`; read line by line, the content type is checked before the body;
3. a request without a key and one with a wrong key: 401 each;
4. a deployment outside the consumer's allow-list (when one exists) and an unknown deployment: 403
   `DeploymentNotAllowed` each. The product policy checks the allow-list before the API policy routes, and
   an unknown name is in no allow-list, so the routing answer (404 `DeploymentNotFound`) is unreachable
   with a subscription key: a 404 here means the allow-list check was skipped;
5. over a limit: the consumer with the smallest tokensPerMinute (among those allowed a chat deployment)
   sends large prompts until a 429 arrives (bounded by --max-requests and --time-budget): 429, a
   `Retry-After` header and an error code of the gateway's token limits (`TokenRateLimitExceeded`,
   `AdaptiveTokenLimitExceeded`).

Prints a table of check, expected, seen and PASS/FAIL/SKIP. Keys are never printed: every message, seen
value and error is masked. Spends real tokens (a few thousand, about the smallest consumer's minute budget).
Exit codes: 0 every check passed, 1 a check failed, 2 usage or configuration error.
"""

from __future__ import annotations

import argparse
import http.client
import json
import secrets
import shutil
import ssl
import subprocess
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

API_VERSION = "2024-10-21"
PROJECT_DIR = Path(__file__).resolve().parent.parent
EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
MASK = "***"
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})
# Deployments whose model cannot answer /chat/completions.
NON_CHAT_MODEL_MARKERS = ("embedding", "whisper", "dall-e", "tts", "davinci", "babbage")
# The gateway's own header names (README, "Headers and errors"): never Azure OpenAI's x-ratelimit-*.
TOKEN_HEADERS = ("x-gateway-remaining-tokens", "x-gateway-tokens-consumed")
# Codes of the gateway's token-limit 429s: the consumer's (or global) limit, or its adaptive allowance.
LIMIT_ERROR_CODES = ("TokenRateLimitExceeded", "AdaptiveTokenLimitExceeded")
MAX_ERROR_BODY = 64 * 1024
MAX_STREAM_BYTES = 2 * 1024 * 1024
# Over-the-limit requests: a prompt of about a third of the consumer's minute budget (one word ~ one token)
# and a completion of at most LIMIT_MAX_TOKENS, so the limit is crossed in a handful of requests.
LIMIT_MAX_TOKENS = 256
LIMIT_PROMPT_WORDS = (50, 4000)


class SmokeConfigError(Exception):
    """Usage or configuration problem: exit code 2."""


class Redactor:
    """Masks every known secret in a text."""

    def __init__(self, values: Iterable[str] = ()) -> None:
        self._secrets: set[str] = set()
        self.add(*values)

    def add(self, *values: str) -> None:
        self._secrets.update(v for v in values if isinstance(v, str) and v)

    def __call__(self, text: object) -> str:
        result = str(text)
        for value in sorted(self._secrets, key=len, reverse=True):
            result = result.replace(value, MASK)
        return result

    def body(self, data: bytes) -> bytes:
        """A response body with the secrets masked, before anything is parsed, shortened or printed."""
        for value in sorted(self._secrets, key=len, reverse=True):
            data = data.replace(value.encode(), MASK.encode())
        return data


@dataclass(frozen=True)
class Consumer:
    name: str
    key: str = field(repr=False)
    deployments: tuple[str, ...]
    tokens_per_minute: int | None


@dataclass(frozen=True)
class Target:
    """What the smoke check needs from the stack outputs."""

    base_url: str
    deployments: tuple[str, ...]
    chat_deployments: frozenset[str]
    consumers: dict[str, Consumer]


@dataclass(frozen=True)
class Plan:
    consumer: Consumer
    deployment: str
    denied: tuple[Consumer, str] | None
    limit_consumer: Consumer
    limit_deployment: str


@dataclass
class CheckResult:
    check: str
    expected: str
    seen: str
    result: str  # PASS, FAIL or SKIP


# --- stack outputs ----------------------------------------------------------------------------------


def outputs_from_pulumi(stack: str, timeout: float = 120.0) -> dict[str, Any]:
    cli = shutil.which("pulumi")
    if cli is None:
        raise SmokeConfigError(
            "the Pulumi CLI is not on PATH: install it (https://www.pulumi.com/docs/install/) and run "
            "`pulumi login`, or pass --outputs FILE.json"
        )
    command = [cli, "stack", "output", "--json", "--show-secrets", "--stack", stack]
    try:
        done = subprocess.run(command, cwd=PROJECT_DIR, capture_output=True, text=True, timeout=timeout, check=False)
    except FileNotFoundError:
        raise SmokeConfigError("the Pulumi CLI could not be started; install it or pass --outputs FILE.json") from None
    except subprocess.TimeoutExpired:
        raise SmokeConfigError(f"`pulumi stack output` did not answer within {timeout:.0f} s") from None
    if done.returncode != 0:
        # stderr only: stdout may hold secrets. The outputs are not parsed yet, so nothing to mask with.
        detail = " ".join((done.stderr or "").split())[-400:]
        hint = ""
        if "login" in detail.lower() or "access token" in detail.lower():
            hint = " (not logged in? run `pulumi login`)"
        elif "no stack named" in detail.lower() or "not found" in detail.lower():
            hint = " (does the stack exist? `pulumi stack ls`)"
        raise SmokeConfigError(f"`pulumi stack output --stack {stack}` failed{hint}: {detail or 'no message'}")
    try:
        document = json.loads(done.stdout)
    except ValueError:
        raise SmokeConfigError("`pulumi stack output --json` did not print JSON") from None
    if not isinstance(document, dict):
        raise SmokeConfigError("`pulumi stack output --json` did not print a JSON object")
    return document


def outputs_from_file(path: Path) -> dict[str, Any]:
    try:
        document = json.loads(path.read_text())
    except OSError as error:
        raise SmokeConfigError(f"cannot read outputs file {path}: {error.strerror or error}") from None
    except ValueError:
        raise SmokeConfigError(f"outputs file {path} is not valid JSON") from None
    if not isinstance(document, dict):
        raise SmokeConfigError(f"outputs file {path} must hold a JSON object (the stack outputs)")
    return document


def _is_chat_model(name: str) -> bool:
    lowered = name.lower()
    return not any(marker in lowered for marker in NON_CHAT_MODEL_MARKERS)


def target_from_outputs(outputs: dict[str, Any]) -> Target:
    base_url = outputs.get("openaiBaseUrl")
    if not base_url and outputs.get("gatewayUrl"):
        base_url = f"{str(outputs['gatewayUrl']).rstrip('/')}/openai"
    if not isinstance(base_url, str) or not base_url:
        raise SmokeConfigError("the stack outputs lack openaiBaseUrl (and gatewayUrl)")
    parts = urlsplit(base_url)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise SmokeConfigError(f"openaiBaseUrl is not an http(s) URL: {base_url}")
    if parts.scheme == "http" and parts.hostname not in LOOPBACK_HOSTS:
        raise SmokeConfigError("openaiBaseUrl uses plain http: keys are only sent over https (or to loopback)")

    keys = outputs.get("consumerKeys")
    if keys is None:
        raise SmokeConfigError(
            "the stack outputs lack consumerKeys (a secret): read them with --show-secrets, or add them to "
            "the --outputs file"
        )
    if not isinstance(keys, dict) or not all(isinstance(v, str) for v in keys.values()):
        raise SmokeConfigError("consumerKeys must map each consumer name to its subscription key")
    if any(v in ("[secret]", "[secret-value]", "") for v in keys.values()):
        raise SmokeConfigError("consumerKeys holds masked values: read the outputs with --show-secrets")

    described = outputs.get("consumers")
    if not isinstance(described, dict) or not described:
        raise SmokeConfigError("the stack outputs lack consumers (name -> deployments, tokensPerMinute)")
    deployments = outputs.get("deployments")
    if not isinstance(deployments, list) or not all(isinstance(d, str) for d in deployments):
        raise SmokeConfigError("the stack outputs lack deployments (a list of names)")

    models: dict[str, str] = {}
    for account in outputs.get("openaiAccounts") or []:
        hosted = account.get("deployments") if isinstance(account, dict) else None
        for d in hosted if isinstance(hosted, list) else []:
            if isinstance(d, dict) and isinstance(d.get("name"), str):
                models[d["name"]] = str(d.get("model") or d["name"])
    chat = frozenset(d for d in deployments if _is_chat_model(models.get(d) or d))

    consumers: dict[str, Consumer] = {}
    for name, spec in described.items():
        if name not in keys or not isinstance(spec, dict):
            continue
        tpm = spec.get("tokensPerMinute")
        consumers[name] = Consumer(
            name=name,
            key=keys[name],
            deployments=tuple(str(d) for d in spec.get("deployments") or []),
            tokens_per_minute=tpm if isinstance(tpm, int) and tpm > 0 else None,
        )
    if not consumers:
        raise SmokeConfigError("no consumer in the stack outputs has a key in consumerKeys")
    return Target(base_url.rstrip("/"), tuple(deployments), chat, consumers)


def choose_plan(target: Target, consumer_name: str | None, deployment: str | None) -> Plan:
    def chat_of(c: Consumer) -> list[str]:
        return [d for d in c.deployments if d in target.chat_deployments]

    if consumer_name is not None:
        if consumer_name not in target.consumers:
            raise SmokeConfigError(
                f"unknown consumer {consumer_name!r} (with a key: {', '.join(sorted(target.consumers))})"
            )
        consumer = target.consumers[consumer_name]
    else:
        candidates = [c for _, c in sorted(target.consumers.items()) if chat_of(c)]
        if deployment is not None:
            candidates = [c for c in candidates if deployment in c.deployments]
        if not candidates:
            raise SmokeConfigError("no consumer with a key is allowed a chat deployment: pass --consumer/--deployment")
        consumer = candidates[0]
    if deployment is not None:
        if deployment not in consumer.deployments:
            raise SmokeConfigError(
                f"deployment {deployment!r} is not in {consumer.name}'s allow-list ({', '.join(consumer.deployments)})"
            )
        chosen = deployment
    else:
        if not chat_of(consumer):
            raise SmokeConfigError(f"consumer {consumer.name} is allowed no chat deployment: pass --deployment")
        chosen = chat_of(consumer)[0]

    denied: tuple[Consumer, str] | None = None
    for c in [consumer, *(c for _, c in sorted(target.consumers.items()) if c is not consumer)]:
        outside = [d for d in target.deployments if d not in c.deployments]
        if outside:
            denied = (c, outside[0])
            break

    limited = [c for c in target.consumers.values() if c.tokens_per_minute is not None and chat_of(c)]
    limit_consumer = min(limited, key=lambda c: (c.tokens_per_minute or 0, c.name)) if limited else consumer
    limit_deployment = chosen if chosen in limit_consumer.deployments else chat_of(limit_consumer)[0]
    return Plan(consumer, chosen, denied, limit_consumer, limit_deployment)


# --- HTTP (standard library only) -----------------------------------------------------------------


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    body: bytes

    @property
    def json(self) -> Any:
        try:
            return json.loads(self.body or b"null")
        except ValueError:
            return None

    @property
    def error_code(self) -> str | None:
        document = self.json
        if isinstance(document, dict) and isinstance(document.get("error"), dict):
            code = document["error"].get("code")
            return str(code) if code is not None else None
        return None

    @property
    def total_tokens(self) -> int | None:
        document = self.json
        usage = document.get("usage") if isinstance(document, dict) else None
        total = usage.get("total_tokens") if isinstance(usage, dict) else None
        return total if isinstance(total, int) else None


@dataclass
class StreamSummary:
    status: int
    content_type: str
    data_chunks: int = 0
    done: bool = False
    usage_chunks: int = 0
    usage_tokens: int | None = None
    bad_chunks: int = 0
    after_done: bool = False
    stopped: str = ""  # why reading stopped early, if it did
    error: Reply | None = None


class Gateway:
    def __init__(self, base_url: str, timeout: float, redact: Redactor) -> None:
        parts = urlsplit(base_url)
        self.redact = redact
        self._scheme = parts.scheme
        self._host = parts.hostname or ""
        self._port = parts.port
        self._path = parts.path.rstrip("/")
        self.timeout = timeout

    def _connection(self) -> http.client.HTTPConnection:
        if self._scheme == "https":
            return http.client.HTTPSConnection(
                self._host, self._port, timeout=self.timeout, context=ssl.create_default_context()
            )
        return http.client.HTTPConnection(self._host, self._port, timeout=self.timeout)

    def _open(
        self, deployment: str, key: str | None, payload: dict[str, Any]
    ) -> tuple[http.client.HTTPConnection, http.client.HTTPResponse]:
        path = f"{self._path}/deployments/{quote(deployment, safe='')}/chat/completions?api-version={API_VERSION}"
        headers = {
            "Content-Type": "application/json",
            "Accept": "text/event-stream" if payload.get("stream") else "application/json",
            "User-Agent": "genai-gateway-smoke/1",
        }
        if key is not None:
            headers["api-key"] = key
        connection = self._connection()
        try:
            connection.request("POST", path, body=json.dumps(payload).encode(), headers=headers)
            return connection, connection.getresponse()
        except BaseException:
            connection.close()
            raise

    @staticmethod
    def _headers(response: http.client.HTTPResponse) -> dict[str, str]:
        return {k.lower(): v for k, v in response.getheaders()}

    def chat(self, deployment: str, key: str | None, payload: dict[str, Any]) -> Reply:
        connection, response = self._open(deployment, key, payload)
        try:
            limit = MAX_STREAM_BYTES if response.status == 200 else MAX_ERROR_BODY
            return Reply(response.status, self._headers(response), self.redact.body(response.read(limit)))
        finally:
            connection.close()

    def stream(self, deployment: str, key: str | None, payload: dict[str, Any], budget: float) -> StreamSummary:
        connection, response = self._open(deployment, key, payload)
        try:
            headers = self._headers(response)
            content_type = headers.get("content-type", "")
            summary = StreamSummary(response.status, content_type)
            if response.status != 200:
                summary.error = Reply(response.status, headers, self.redact.body(response.read(MAX_ERROR_BODY)))
                return summary
            if not content_type.lower().startswith("text/event-stream"):
                summary.stopped = "not an event stream; body not read"
                return summary
            deadline = time.monotonic() + budget
            read = 0
            while True:
                if time.monotonic() > deadline:
                    summary.stopped = f"time budget of {budget:.0f} s spent"
                    break
                if read > MAX_STREAM_BYTES:
                    summary.stopped = f"over {MAX_STREAM_BYTES // 1024} KiB"
                    break
                line = response.readline(MAX_ERROR_BODY)
                if not line:
                    break  # end of the response
                read += len(line)
                text = line.decode("utf-8", "replace").strip()
                if not text.startswith("data:"):
                    continue  # blank separators, comments, event: lines
                data = text[len("data:"):].strip()
                if data == "[DONE]":
                    summary.done = True
                    break
                summary.data_chunks += 1
                try:
                    chunk = json.loads(data)
                except ValueError:
                    summary.bad_chunks += 1
                    continue
                usage = chunk.get("usage") if isinstance(chunk, dict) else None
                if isinstance(usage, dict):
                    summary.usage_chunks += 1
                    total = usage.get("total_tokens")
                    summary.usage_tokens = total if isinstance(total, int) else None
            return summary
        finally:
            connection.close()


# --- checks -----------------------------------------------------------------------------------------


def _short(text: str, limit: int = 70) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def describe(reply: Reply) -> str:
    """Status and error code (or the start of the message) of a reply."""
    document = reply.json
    if reply.error_code:
        message = document["error"].get("message") or ""
        return f"{reply.status} {reply.error_code}" + (f": {_short(str(message), 50)}" if message else "")
    if isinstance(document, dict) and isinstance(document.get("message"), str):
        return f"{reply.status} {_short(document['message'], 60)}"
    body = reply.body.decode("utf-8", "replace")
    return f"{reply.status} {_short(body, 60)}".rstrip()


def _outcome(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


def chat_payload(text: str = "Reply with the single word: pong", max_tokens: int = 16) -> dict[str, Any]:
    return {
        "messages": [
            {"role": "system", "content": "You are a health check. Answer as briefly as possible."},
            {"role": "user", "content": text},
        ],
        "max_tokens": max_tokens,
        "temperature": 0,
    }


def check_chat(gateway: Gateway, plan: Plan) -> CheckResult:
    expected = "200, choices, usage.total_tokens > 0, " + " + ".join(TOKEN_HEADERS)
    name = f"chat completion ({plan.consumer.name} -> {plan.deployment})"
    reply = gateway.chat(plan.deployment, plan.consumer.key, chat_payload())
    if reply.status != 200:
        return CheckResult(name, expected, describe(reply), "FAIL")
    document = reply.json
    problems: list[str] = []
    choices = document.get("choices") if isinstance(document, dict) else None
    if not isinstance(choices, list) or not choices:
        problems.append("no choices")
    total = reply.total_tokens
    if not total or total <= 0:
        problems.append("no usage.total_tokens")
    missing = [h for h in TOKEN_HEADERS if h not in reply.headers]
    if missing:
        problems.append("missing " + ", ".join(missing))
    seen = [f"200, {len(choices) if isinstance(choices, list) else 0} choice(s), total_tokens={total}"]
    seen += [f"{h}={reply.headers[h]}" for h in TOKEN_HEADERS if h in reply.headers]
    return CheckResult(name, expected, "; ".join([*seen, *problems]), _outcome(not problems))


def check_stream(gateway: Gateway, plan: Plan, budget: float) -> CheckResult:
    expected = "200, text/event-stream, data: chunks, usage chunk (if sent), data: [DONE]"
    name = f"streamed chat completion ({plan.consumer.name} -> {plan.deployment})"
    payload = {**chat_payload(), "stream": True, "stream_options": {"include_usage": True}}
    summary = gateway.stream(plan.deployment, plan.consumer.key, payload, budget)
    if summary.error is not None:
        return CheckResult(name, expected, describe(summary.error), "FAIL")
    problems: list[str] = []
    if not summary.content_type.lower().startswith("text/event-stream"):
        problems.append(f"content type {summary.content_type or 'missing'}")
    if summary.data_chunks < 1 and not problems:
        problems.append("no data: chunk")
    if summary.bad_chunks:
        problems.append(f"{summary.bad_chunks} chunk(s) not JSON")
    if summary.usage_chunks and not (summary.usage_tokens and summary.usage_tokens > 0):
        problems.append("usage chunk without total_tokens > 0")
    if not summary.done and not summary.stopped.startswith("not an event stream"):
        problems.append("no data: [DONE]")
    if summary.stopped:
        problems.append(f"stopped: {summary.stopped}")
    usage = f"usage total_tokens={summary.usage_tokens}" if summary.usage_chunks else "no usage chunk"
    seen = f"{summary.status}, {summary.content_type or 'no content type'}, {summary.data_chunks} chunk(s), {usage}"
    if summary.done:
        seen += ", [DONE]"
    return CheckResult(name, expected, "; ".join([seen, *problems]), _outcome(not problems))


def check_unauthorised(gateway: Gateway, plan: Plan, key: str | None, name: str) -> CheckResult:
    reply = gateway.chat(plan.deployment, key, chat_payload())
    return CheckResult(name, "401", describe(reply), _outcome(reply.status == 401))


def check_forbidden(gateway: Gateway, consumer: Consumer, deployment: str, name: str) -> CheckResult:
    expected = "403 DeploymentNotAllowed"
    reply = gateway.chat(deployment, consumer.key, chat_payload())
    ok = reply.status == 403 and reply.error_code == "DeploymentNotAllowed"
    return CheckResult(name, expected, describe(reply), _outcome(ok))


def limit_payload(tokens_per_minute: int | None) -> tuple[dict[str, Any], int]:
    low, high = LIMIT_PROMPT_WORDS
    words = max(low, min(high, (tokens_per_minute or 3 * high) // 3))
    text = "Padding for a token-limit test: " + " ".join(["smoke"] * words) + "\nReply with OK."
    return chat_payload(text, LIMIT_MAX_TOKENS), words


def check_limit(gateway: Gateway, plan: Plan, max_requests: int, time_budget: float) -> CheckResult:
    consumer = plan.limit_consumer
    tpm = consumer.tokens_per_minute
    name = f"over the token limit ({consumer.name}, {tpm if tpm else '?'} tokens/min -> {plan.limit_deployment})"
    expected = "429, Retry-After, error code " + " or ".join(LIMIT_ERROR_CODES)
    payload, words = limit_payload(tpm)
    sent = 0
    started = time.monotonic()
    requests = 0
    while requests < max_requests and time.monotonic() - started < time_budget:
        requests += 1
        reply = gateway.chat(plan.limit_deployment, consumer.key, payload)
        if reply.status == 200:
            sent += reply.total_tokens or words + LIMIT_MAX_TOKENS
            continue
        prefix = f"after {requests} request(s), ~{sent} tokens: "
        if reply.status != 429:
            return CheckResult(name, expected, prefix + describe(reply), "FAIL")
        retry_after = reply.headers.get("retry-after")
        problems: list[str] = []
        if retry_after is None:
            problems.append("no Retry-After header")
        elif not retry_after.strip().isdigit():
            problems.append(f"Retry-After {retry_after!r} is not a number of seconds")
        if reply.error_code not in LIMIT_ERROR_CODES:
            problems.append(f"error code {reply.error_code or 'missing'}")
        seen = prefix + describe(reply) + (f"; Retry-After: {retry_after}" if retry_after is not None else "")
        return CheckResult(name, expected, "; ".join([seen, *problems]), _outcome(not problems))
    elapsed = time.monotonic() - started
    return CheckResult(
        name,
        expected,
        f"not reached: {requests} request(s) in {elapsed:.1f} s, ~{sent} tokens sent, all answered 200",
        "FAIL",
    )


def run_checks(
    gateway: Gateway, plan: Plan, redact: Redactor, *, max_requests: int, time_budget: float
) -> list[CheckResult]:
    wrong_key = secrets.token_hex(16)
    redact.add(wrong_key)
    unknown = f"smoke-no-such-deployment-{secrets.token_hex(3)}"
    steps: list[tuple[str, str, Callable[[], CheckResult]]] = [
        ("chat completion", "200", lambda: check_chat(gateway, plan)),
        ("streamed chat completion", "200 event stream", lambda: check_stream(gateway, plan, time_budget)),
        ("no api-key", "401", lambda: check_unauthorised(gateway, plan, None, "request without an api-key")),
        ("wrong api-key", "401", lambda: check_unauthorised(gateway, plan, wrong_key, "request with a wrong api-key")),
    ]
    if plan.denied is not None:
        denied_consumer, denied_deployment = plan.denied
        label = f"deployment outside the allow-list ({denied_consumer.name} -> {denied_deployment})"
        steps.append((label, "403", lambda: check_forbidden(gateway, denied_consumer, denied_deployment, label)))
    unknown_label = f"unknown deployment ({plan.consumer.name} -> {unknown})"
    steps.append((unknown_label, "403", lambda: check_forbidden(gateway, plan.consumer, unknown, unknown_label)))
    steps.append(("over the token limit", "429", lambda: check_limit(gateway, plan, max_requests, time_budget)))

    results: list[CheckResult] = []
    if plan.denied is None:
        results.append(
            CheckResult("deployment outside the allow-list", "403", "every consumer may call every deployment", "SKIP")
        )
    for label, expected, step in steps:
        try:
            result = step()
        except (OSError, http.client.HTTPException, ValueError) as error:
            result = CheckResult(label, expected, f"error: {type(error).__name__}: {error}", "FAIL")
        results.append(
            CheckResult(redact(result.check), redact(result.expected), redact(result.seen), result.result)
        )
    return results


# --- report -----------------------------------------------------------------------------------------


def render_table(results: list[CheckResult]) -> str:
    rows = [("CHECK", "EXPECTED", "SEEN", "RESULT")] + [(r.check, r.expected, r.seen, r.result) for r in results]
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    lines = [
        "  ".join(cell.ljust(widths[i]) if i < 3 else cell for i, cell in enumerate(row)).rstrip() for row in rows
    ]
    lines.insert(1, "  ".join("-" * w for w in widths) + "  ------")
    return "\n".join(lines)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m tools.smoke",
        description="Send a few real requests through a deployed gateway and report what it answered. "
        "Spends real tokens. Exit codes: 0 all checks pass, 1 a check failed, 2 usage or configuration error.",
    )
    parser.add_argument("stack", help="Pulumi stack name (dev, prod, ...)")
    parser.add_argument("--consumer", help="consumer for the chat, stream and allow-list checks")
    parser.add_argument("--deployment", help="deployment for the chat and stream checks (in the consumer's allow-list)")
    parser.add_argument("--outputs", type=Path, help="stack outputs as JSON instead of `pulumi stack output`")
    parser.add_argument("--timeout", type=float, default=30.0, help="seconds per HTTP request (default 30)")
    parser.add_argument(
        "--max-requests", type=int, default=20, help="requests at most for the limit check (default 20)"
    )
    parser.add_argument(
        "--time-budget", type=float, default=90.0,
        help="seconds at most for the limit check, and for reading the stream (default 90)",
    )
    args = parser.parse_args(argv)
    if args.timeout <= 0 or args.time_budget <= 0:
        parser.error("--timeout and --time-budget must be positive")
    if args.max_requests < 1:
        parser.error("--max-requests must be at least 1")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    redact = Redactor()
    try:
        outputs = outputs_from_file(args.outputs) if args.outputs else outputs_from_pulumi(args.stack)
        keys = outputs.get("consumerKeys")
        if isinstance(keys, dict):
            redact.add(*(v for v in keys.values() if isinstance(v, str)))
        target = target_from_outputs(outputs)
        plan = choose_plan(target, args.consumer, args.deployment)
    except SmokeConfigError as error:
        print(f"smoke: {redact(error)}", file=sys.stderr)
        return EXIT_USAGE

    print(f"Smoke check of stack {args.stack!r}: {target.base_url} (API {API_VERSION})")
    print(
        f"consumer {plan.consumer.name}, deployment {plan.deployment}; limit check with "
        f"{plan.limit_consumer.name} (at most {args.max_requests} requests / {args.time_budget:.0f} s). "
        "Real requests: this spends tokens."
    )
    try:
        results = run_checks(
            Gateway(target.base_url, args.timeout, redact), plan, redact,
            max_requests=args.max_requests, time_budget=args.time_budget,
        )
    except Exception as error:  # never let a traceback carry a key
        print(f"smoke: unexpected error: {type(error).__name__}: {redact(error)}", file=sys.stderr)
        return EXIT_FAILED
    print()
    print(render_table(results))
    failed = sum(r.result == "FAIL" for r in results)
    passed = sum(r.result == "PASS" for r in results)
    skipped = sum(r.result == "SKIP" for r in results)
    print(f"\n{passed} passed, {failed} failed, {skipped} skipped")
    return EXIT_FAILED if failed else EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
