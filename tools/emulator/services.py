"""Side services the policies talk to, in memory: the Event Hubs sink, token metrics, the Entra ID token
issuer, Content Safety verdicts and the semantic cache's vector store."""

from __future__ import annotations

import base64
import json
import math
import operator
import threading
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from itertools import compress, repeat
from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from .clock import Clock


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class TokenIssuer:
    """Issues RS256 JWTs shaped like Microsoft Entra ID's (v1 `sts.windows.net` or v2 `login.microsoftonline.com`
    issuers, `appid`/`azp`, `tid`), and verifies them as validate-azure-ad-token and Azure OpenAI would: signature
    with the issuer's key, issuer for the tenant, audience, and lifetime against the emulator clock."""

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self._key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self._public = self._key.public_key()
        self.kid = uuid.uuid4().hex
        # Tokens whose signature verified (a signature check of the same bytes with the same key always gives the
        # same answer; the gateway reuses its managed-identity token for every backend call).
        self._verified: dict[str, dict[str, Any]] = {}

    def issue(
        self,
        *,
        tenant: str,
        audience: str,
        app_id: str,
        version: int = 2,
        lifetime: float = 3600,
        extra: dict[str, Any] | None = None,
    ) -> str:
        now = self.clock.now()
        payload: dict[str, Any] = {
            "aud": audience,
            "iss": f"https://login.microsoftonline.com/{tenant}/v2.0"
            if version == 2
            else f"https://sts.windows.net/{tenant}/",
            "iat": int(now.timestamp()),
            "nbf": int(now.timestamp()),
            "exp": int((now + timedelta(seconds=lifetime)).timestamp()),
            "tid": tenant,
            "oid": str(uuid.uuid5(uuid.NAMESPACE_URL, f"sp:{app_id}")),
            "sub": str(uuid.uuid5(uuid.NAMESPACE_URL, f"sp:{app_id}")),
            "ver": "2.0" if version == 2 else "1.0",
            ("azp" if version == 2 else "appid"): app_id,
        }
        payload.update(extra or {})
        header = {"alg": "RS256", "typ": "JWT", "kid": self.kid}
        signing_input = f"{_b64url(json.dumps(header).encode())}.{_b64url(json.dumps(payload).encode())}"
        signature = self._key.sign(signing_input.encode(), padding.PKCS1v15(), hashes.SHA256())
        return f"{signing_input}.{_b64url(signature)}"

    def verify(self, token: str) -> dict[str, Any] | None:
        """The claims when the signature is this issuer's, else None (lifetime and audience are the caller's)."""
        known = self._verified.get(token)
        if known is not None:
            return dict(known)
        try:
            head, body, signature = token.split(".")
            header = json.loads(_unb64url(head))
            if header.get("alg") != "RS256" or header.get("kid") != self.kid:
                return None
            self._public.verify(_unb64url(signature), f"{head}.{body}".encode(), padding.PKCS1v15(), hashes.SHA256())
            claims: dict[str, Any] = json.loads(_unb64url(body))
        except Exception:
            return None
        if len(self._verified) >= 1024:
            self._verified.clear()
        self._verified[token] = claims
        return dict(claims)

    def lifetime_ok(self, claims: dict[str, Any]) -> bool:
        now = self.clock.now().timestamp()
        return float(claims.get("nbf", 0)) <= now < float(claims.get("exp", 0))


@dataclass
class EventHubSink:
    """Events as log-to-eventhub sends them: the message text, and its partition key or id."""

    events: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def send(self, event_hub: str, body: str, partition_key: str | None, partition_id: str | None) -> None:
        with self.lock:
            self.events.setdefault(event_hub, []).append(
                {"body": body, "partitionKey": partition_key, "partitionId": partition_id}
            )

    def reset(self) -> None:
        with self.lock:
            self.events.clear()


@dataclass
class LlmLog:
    """ApiManagementGatewayLlmLog as the API's LLM logging fills it: one row per LLM request the gateway
    forwarded, with the token counts of the model's answer, streamed calls included (the stream's usage chunk).
    Columns as the table reference names them
    (learn.microsoft.com/azure/azure-monitor/reference/tables/apimanagementgatewayllmlog): CorrelationId is the
    gateway's request id (the same field of ApiManagementGatewayLogs, and the usage record's requestId),
    RequestId the model's; no RequestMessages/ResponseMessages (the diagnostic logs 0 message bytes)."""

    rows: list[dict[str, Any]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def write(self, row: dict[str, Any]) -> None:
        with self.lock:
            self.rows.append(row)

    def reset(self) -> None:
        with self.lock:
            self.rows.clear()


@dataclass
class MetricSink:
    metrics: list[dict[str, Any]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def emit(self, namespace: str, name: str, value: float, dimensions: dict[str, str]) -> None:
        with self.lock:
            self.metrics.append({"namespace": namespace, "name": name, "value": value, "dimensions": dimensions})

    def reset(self) -> None:
        with self.lock:
            self.metrics.clear()


@dataclass
class ContentSafety:
    """Verdicts of the simulated Azure AI Content Safety: a text containing a blocked phrase (case-insensitive)
    scores severity 6 in every harm category and is reported as a user prompt attack."""

    blocked: list[str] = field(default_factory=list)
    calls: int = 0

    def analyze(self, text: str) -> tuple[dict[str, int], bool]:
        self.calls += 1
        hit = any(p.lower() in text.lower() for p in self.blocked)
        severity = 6 if hit else 0
        return {c: severity for c in ("Hate", "SelfHarm", "Sexual", "Violence")}, hit

    def reset(self) -> None:
        self.blocked = []
        self.calls = 0


def cosine_distance(a: list[float], b: list[float]) -> float:
    dot = sum(map(operator.mul, a, b))
    na = math.sqrt(sum(map(operator.mul, a, a)))
    nb = math.sqrt(sum(map(operator.mul, b, b)))
    if na == 0 or nb == 0:
        return 1.0
    return 1.0 - dot / (na * nb)


@dataclass
class CacheEntry:
    vector: list[float]
    body: str
    headers: dict[str, list[str]]
    expires: datetime
    unit: tuple[float, ...] | None = field(init=False, repr=False)  # the vector at length 1 (None: all zeros)

    def __post_init__(self) -> None:
        self.unit = _unit(self.vector)


def _unit(vector: list[float]) -> tuple[float, ...] | None:
    norm = math.sqrt(sum(map(operator.mul, vector, vector)))
    return None if norm == 0 else tuple(v / norm for v in vector)  # a tuple: math.dist reads it without a copy


# Within this of the smallest estimate an entry's exact distance is computed (the estimate's rounding error is
# below 1e-12 for any embedding size): an entry further off cannot be the nearest.
_ESTIMATE_MARGIN = 1e-9


@dataclass
class _Partition:
    """The entries of one partition, in the order stored, with their unit vectors side by side (so that a lookup
    scans them in C) and the soonest expiry (so that a lookup filters expired entries only when there are some)."""

    entries: list[CacheEntry] = field(default_factory=list)
    units: list[tuple[float, ...] | None] = field(default_factory=list)
    soonest: datetime | None = None
    # The length of every entry's unit vector, when all have one of the same length (None: some are all zeros,
    # or lengths differ; then each entry is estimated on its own).
    dimensions: int | None = None  # the first entry's
    uniform: bool = True

    def add(self, entry: CacheEntry) -> None:
        length = None if entry.unit is None else len(entry.unit)
        if length is None or (self.entries and length != self.dimensions):
            self.uniform = False
        if not self.entries:
            self.dimensions = length
        self.entries.append(entry)
        self.units.append(entry.unit)
        if self.soonest is None or entry.expires < self.soonest:
            self.soonest = entry.expires

    def without_expired(self, now: datetime) -> _Partition:
        kept = _Partition()
        for entry in self.entries:
            if entry.expires > now:
                kept.add(entry)
        return kept


@dataclass
class VectorStore:
    """The semantic cache's store (Redis with RediSearch in Azure): entries per partition (the vary-by values),
    nearest by cosine distance, exactly as cosine_distance computes it (the first stored wins a tie).

    Every entry is scanned: the distance of unit vectors, 1 - cos = |a - b|^2 / 2, is estimated from their
    Euclidean distance (math.dist, mapped over the partition's unit vectors in C), and only entries whose estimate
    is within _ESTIMATE_MARGIN of the smallest get the exact computation."""

    clock: Clock
    partitions: dict[str, _Partition] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def nearest(self, partition: str, vector: list[float]) -> tuple[float, CacheEntry] | None:
        now = self.clock.now()
        with self.lock:
            part = self.partitions.get(partition)
            if part is None:
                return None
            if part.soonest is not None and part.soonest <= now:
                part = self.partitions[partition] = part.without_expired(now)
            # Copies: a store during the scan appends to the partition's lists.
            entries, units, dimensions = list(part.entries), list(part.units), part.dimensions if part.uniform else None
        if not entries:
            return None
        unit = _unit(vector)
        if unit is None:
            return 1.0, entries[0]  # cosine_distance of an all-zero vector is 1.0 to every entry: the first wins
        if dimensions == len(unit):
            distances = list(map(math.dist, repeat(unit), units))  # type: ignore[arg-type]  # uniform: no None
            smallest = min(distances)
            # estimate <= smallest estimate + margin, on the Euclidean scale: d^2 / 2 <= s^2 / 2 + margin
            limit = math.sqrt(smallest * smallest + 2 * _ESTIMATE_MARGIN)
            candidates: Iterable[int] = compress(range(len(entries)), map(limit.__ge__, distances))
        else:
            estimates = [
                1.0
                if u is None
                else math.dist(unit, u) ** 2 / 2
                if len(u) == len(unit)
                else cosine_distance(vector, e.vector)
                for e, u in zip(entries, units, strict=True)
            ]
            low = min(estimates) + _ESTIMATE_MARGIN
            candidates = (i for i, estimate in enumerate(estimates) if estimate <= low)
        best: tuple[float, CacheEntry] | None = None
        for index in candidates:
            distance = cosine_distance(vector, entries[index].vector)
            if best is None or distance < best[0]:
                best = (distance, entries[index])
        return best

    def store(self, partition: str, entry: CacheEntry) -> None:
        with self.lock:
            self.partitions.setdefault(partition, _Partition()).add(entry)

    def reset(self) -> None:
        with self.lock:
            self.partitions.clear()
