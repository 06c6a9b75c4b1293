"""Targets: a running emulator, or a deployed gateway described by its stack outputs.

Both read the stack's settings for what outputs do not carry (which features are on, pools, Entra ID client
apps), and the outputs (or the plan's outputs, for the emulator) for consumers, deployments and accounts.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from components.settings import load_settings
from components.settings.gateway import resolve_pools
from tools.stack_config import load_stack_config

from .base import Consumer, Control, Target

NON_CHAT = ("embedding", "whisper", "dall-e", "tts", "davinci", "babbage")


def _features(settings: Any) -> frozenset[str]:
    features = set()
    if settings.entra_id.enabled:
        features.add("entra")
    if settings.content_safety.enabled:
        features.add("content-safety")
    if settings.semantic_cache.enabled:
        features.add("semantic-cache")
    return frozenset(features)


def build_target(
    stack: str,
    outputs: dict[str, Any],
    keys: dict[str, str],
    base_url: str,
    api_path: str = "openai",
    control: Control | None = None,
) -> Target:
    """A Target from the stack's outputs (or the plan's), the consumers' keys and the gateway's root URL."""
    flat, _ = load_stack_config(stack)
    settings = load_settings(flat)
    apps = {c.name: tuple(c.entra_client_app_ids) for c in settings.consumers}
    consumer_tiers = {c.name: c.tier for c in settings.consumers}
    limits = settings.token_limits
    token_limits: dict[str, object] = {"global": limits.global_tokens_per_minute}
    for tier in ("high", "low"):
        token_limits[tier] = (getattr(limits, tier).base_tokens_per_minute, getattr(limits, tier).share_of_unused)
    consumers = {}
    for name, described in (outputs.get("consumers") or {}).items():
        if name not in keys:
            continue
        consumers[name] = Consumer(
            name=name,
            key=keys[name],
            deployments=tuple(described.get("deployments", [])),
            tokens_per_minute=described.get("tokensPerMinute"),
            token_quota=described.get("tokenQuota"),
            token_quota_period=described.get("tokenQuotaPeriod"),
            entra_app_ids=apps.get(name, ()),
            tier=consumer_tiers.get(name),
        )
    models: dict[str, str] = {}
    hosts: list[str] = []
    tiers: dict[str, str] = {}
    for account in outputs.get("openaiAccounts") or []:
        tiers[account["name"]] = account.get("tier", "")
        for url in (account.get("endpoint"), account.get("backendUrl")):
            if url and urlsplit(url).hostname:
                hosts.append(str(urlsplit(url).hostname))
        for d in account.get("deployments", []):
            models[d["name"]] = d.get("model", d["name"])
    deployments = tuple(outputs.get("deployments") or sorted(models))
    chat = tuple(d for d in deployments if not any(m in models.get(d, d).lower() for m in NON_CHAT))
    embeddings = tuple(d for d in deployments if "embedding" in models.get(d, d).lower())
    pools = {p["deployment"]: [(m["account"], m["priority"]) for m in p["members"]] for p in resolve_pools(settings)}
    entra_url = outputs.get("entraOpenaiBaseUrl")
    main_url = outputs.get("openaiBaseUrl")
    entra_path = None
    if isinstance(entra_url, str) and isinstance(main_url, str):
        root = main_url.rstrip("/").removesuffix("/" + api_path)
        if entra_url.startswith(root + "/"):
            entra_path = entra_url[len(root) + 1 :].strip("/")
    return Target(
        base_url=base_url.rstrip("/"),
        api_path=api_path,
        consumers=consumers,
        deployments=deployments,
        chat_deployments=chat,
        embedding_deployments=embeddings,
        accounts=tiers,
        pools=pools,
        features=_features(settings),
        backend_hosts=tuple(sorted(set(hosts))),
        entra_api_path=entra_path,
        token_limits=token_limits,
        control=control,
    )


def emulator_target(stack: str, server: Any) -> Target:
    """The Target of a running EmulatorServer (tools/emulator/server.py), with its control API."""
    plan = server.gateway.plan
    control = Control(server.url)
    keys = server.gateway.model.consumer_keys()
    target = build_target(stack, plan["outputs"], keys, server.url, server.gateway.model.primary_api.path, control)
    accounts = [a.host for a in server.gateway.model.accounts.values()]
    target.backend_hosts = tuple(sorted({*target.backend_hosts, *accounts}))
    return target
