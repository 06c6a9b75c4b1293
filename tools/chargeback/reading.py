"""Reading usage records out of Event Hubs Capture files, from a local folder or the capture container.

Capture writes Avro object container files at
`{Namespace}/{EventHub}/{PartitionId}/{Year}/{Month}/{Day}/{Hour}/{Minute}/{Second}.avro`, one record per event
with the schema `CAPTURE_SCHEMA` (learn.microsoft.com/azure/event-hubs/event-hubs-capture-overview,
"Explore captured files"); `Body` holds the bytes the gateway's `log-to-eventhub` sent: one JSON usage record.
Files are read one at a time and records streamed (fastavro), so memory stays bounded by one block.

A body that is not a JSON object, a record without the fields chargeback needs, or one of an unknown
`schemaVersion` is never dropped silently: it is counted in `ReadStats` by reason, with a few examples.
"""

from __future__ import annotations

import io
import re
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any, BinaryIO, Protocol

import fastavro
import orjson

# The schema Capture writes, as `avro-tools getschema` prints it for a capture file.
CAPTURE_SCHEMA: dict[str, Any] = {
    "type": "record",
    "name": "EventData",
    "namespace": "Microsoft.ServiceBus.Messaging",
    "fields": [
        {"name": "SequenceNumber", "type": "long"},
        {"name": "Offset", "type": "string"},
        {"name": "EnqueuedTimeUtc", "type": "string"},
        {"name": "SystemProperties", "type": {"type": "map", "values": ["long", "double", "string", "bytes"]}},
        {"name": "Properties", "type": {"type": "map", "values": ["long", "double", "string", "bytes"]}},
        {"name": "Body", "type": ["null", "bytes"]},
    ],
}
# Reading only `Body` lets fastavro skip the other fields (Avro schema resolution) instead of building them.
BODY_ONLY_SCHEMA: dict[str, Any] = {
    "type": "record", "name": "EventData", "namespace": "Microsoft.ServiceBus.Messaging",
    "fields": [{"name": "Body", "type": ["null", "bytes"]}],
}
# Schema versions chargeback reads (schemas/usage-record.v1.json and .v2.json).
KNOWN_VERSIONS = ("1.0", "2.0")
# .../{Year}/{Month}/{Day}/{Hour}/{Minute}/{Second}.avro: the capture window the file belongs to.
_PATH_DATE = re.compile(r"(?:^|/)(\d{4})/(\d{2})/(\d{2})/\d{2}/\d{2}/\d{2}\.avro$")
EXAMPLES_PER_REASON = 3


@dataclass(slots=True)
class Usage:
    """One priced-to-be request, normalised from a v1 or v2 record.

    Token counts are never None here: unknown counts are 0, with `estimated` saying the split was guessed
    (see `normalise_tokens`)."""

    day: str  # YYYY-MM-DD (UTC), from the record's timestamp
    hour: str  # YYYY-MM-DDTHH
    consumer: str
    deployment: str
    model: str | None
    tier: str | None  # "ptu" | "paygo" | None (v1 records, or unknown)
    served_region: str | None
    prompt: int
    cached: int
    completion: int
    reasoning: int
    source: str  # "usage" | "estimate" | "cache"
    cache_hit: bool
    streamed: bool
    version: str


@dataclass
class ReadStats:
    files: int = 0
    events: int = 0
    records: int = 0
    outside_period: int = 0
    by_version: Counter[str] = field(default_factory=Counter)
    rejected: Counter[str] = field(default_factory=Counter)
    examples: dict[str, list[str]] = field(default_factory=dict)

    def reject(self, reason: str, where: str) -> None:
        self.rejected[reason] += 1
        shown = self.examples.setdefault(reason, [])
        if len(shown) < EXAMPLES_PER_REASON:
            shown.append(where)

    def merge(self, other: ReadStats) -> ReadStats:
        self.files += other.files
        self.events += other.events
        self.records += other.records
        self.outside_period += other.outside_period
        self.by_version.update(other.by_version)
        self.rejected.update(other.rejected)
        for reason, where in other.examples.items():
            shown = self.examples.setdefault(reason, [])
            shown.extend(where[: EXAMPLES_PER_REASON - len(shown)])
        return self

    @property
    def rejected_total(self) -> int:
        return sum(self.rejected.values())


@dataclass(frozen=True)
class Period:
    """Inclusive UTC days; None = open."""

    start: date | None = None
    end: date | None = None

    def contains(self, day: str) -> bool:
        """`day` is YYYY-MM-DD: ISO dates compare as strings."""
        return (self.start is None or day >= self.start.isoformat()) and (
            self.end is None or day <= self.end.isoformat())

    def may_hold_file(self, path: str) -> bool:
        """Whether a capture file's window can hold records of the period. A record is enqueued after the
        gateway stamped it, so a file one day past the end can still hold the last day's records."""
        match = _PATH_DATE.search(path)
        if match is None:
            return True
        day = date(int(match[1]), int(match[2]), int(match[3]))
        return (self.start is None or day >= self.start) and (self.end is None or day <= self.end + timedelta(1))


class CaptureSource(Protocol):
    """Capture files, in path order; each opened as a binary stream."""

    def names(self) -> list[str]: ...
    def open(self, name: str) -> BinaryIO: ...


class FolderSource:
    def __init__(self, root: Path) -> None:
        if not root.is_dir():
            raise FileNotFoundError(f"{root}: no such folder")
        self.root = root

    def names(self) -> list[str]:
        return sorted(p.relative_to(self.root).as_posix() for p in self.root.rglob("*.avro"))

    def open(self, name: str) -> BinaryIO:
        return (self.root / name).open("rb")


class OneFile:
    """One file of a folder source: what a worker process reads."""

    def __init__(self, root: Path, name: str) -> None:
        self.root, self.name = root, name

    def names(self) -> list[str]:
        return [self.name]

    def open(self, name: str) -> BinaryIO:
        return (self.root / name).open("rb")


class ContainerClient(Protocol):
    """The part of `azure.storage.blob.ContainerClient` the reader uses."""

    def list_blobs(self, name_starts_with: str | None = None) -> Iterable[Any]: ...
    def download_blob(self, blob: str) -> Any: ...


class BlobSource:
    """A capture container (`https://<account>.blob.core.windows.net/<container>[/<prefix>]`).

    Blobs are listed lazily by the SDK's pager and each downloaded into memory on its own (a capture file is
    at most the capture size limit, 500 MB, and usually far less), so the whole capture is never held."""

    def __init__(self, client: ContainerClient, prefix: str = "") -> None:
        self.client = client
        self.prefix = prefix

    def names(self) -> list[str]:
        return sorted(b.name for b in self.client.list_blobs(name_starts_with=self.prefix or None)
                      if b.name.endswith(".avro") and (getattr(b, "size", 1) or 0) > 0)

    def open(self, name: str) -> BinaryIO:
        return io.BytesIO(self.client.download_blob(name).readall())


def container_source(url: str, credential: Any = None) -> BlobSource:
    """A `BlobSource` for a container URL, authenticated with DefaultAzureCredential (Entra ID: the reader
    needs Storage Blob Data Reader on the account; the capture account allows no shared keys)."""
    from urllib.parse import urlparse

    from azure.storage.blob import ContainerClient as AzureContainerClient

    parsed = urlparse(url)
    parts = parsed.path.strip("/").split("/", 1)
    if parsed.scheme != "https" or not parts[0]:
        raise ValueError(f"{url!r}: expected https://<account>.blob.core.windows.net/<container>[/<prefix>]")
    if credential is None:
        from azure.identity import DefaultAzureCredential

        credential = DefaultAzureCredential()
    client = AzureContainerClient(f"{parsed.scheme}://{parsed.netloc}", parts[0], credential=credential)
    return BlobSource(client, parts[1] if len(parts) > 1 else "")


def read_usage(
    source: CaptureSource,
    stats: ReadStats,
    period: Period = Period(),
    progress: Callable[[int], None] | None = None,
) -> Iterator[Usage]:
    """Every usage record in the source within the period; everything else counted in `stats`."""
    bounded = period.start is not None or period.end is not None
    for name in source.names():
        if not period.may_hold_file(name):
            continue
        stats.files += 1
        with source.open(name) as stream:
            try:
                events = fastavro.reader(stream, reader_schema=BODY_ONLY_SCHEMA)
                for n, event in enumerate(events):
                    stats.events += 1
                    body = event.get("Body") if isinstance(event, dict) else None
                    usage = parse_body(body, stats, f"{name}#{n}")
                    if usage is None:
                        continue
                    if bounded and not period.contains(usage.day):
                        stats.outside_period += 1
                        continue
                    stats.records += 1
                    yield usage
            except (ValueError, EOFError, fastavro.read.SchemaResolutionError) as error:
                stats.reject("unreadable capture file", f"{name}: {error}")
        if progress is not None:
            progress(1)


def utc_day_and_hour(value: Any) -> tuple[str, str] | None:
    """("YYYY-MM-DD", "YYYY-MM-DDTHH") of an ISO 8601 timestamp, in UTC.

    APIM writes `DateTime.UtcNow.ToString("o")` ("2026-11-03T10:15:00.1234567Z"), so the common case is read
    by position; a timestamp with another offset is converted."""
    if not isinstance(value, str) or len(value) < 19 or value[10] != "T" or value[4] != "-" or value[7] != "-":
        return None
    tail = value[19:]
    if tail == "" or tail[-1] == "Z" or tail.endswith("+00:00"):
        if not (value[:4].isdigit() and value[5:7].isdigit() and value[8:10].isdigit() and value[11:13].isdigit()):
            return None
        return value[:10], value[:13]
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    if moment.tzinfo is not None:
        moment = moment.replace(tzinfo=None) - (moment.utcoffset() or timedelta(0))
    text = moment.isoformat()
    return text[:10], text[:13]


def _count(value: Any) -> int | None:
    return value if value.__class__ is int and value >= 0 else None


def normalise_tokens(
    prompt: int | None, completion: int | None, total: int | None
) -> tuple[int, int, bool]:
    """(prompt, completion, estimated) from counts that may be missing.

    A streamed call's record carries the token-limit policy's count: its prompt estimate (APIM updates the
    consumed count only once the response is buffered, which a stream never is), with completion unknown. So
    a lone total is taken as prompt tokens and the completion as 0: the cost of such a call is a lower bound,
    and the report counts these calls. When two of the three counts are known the third follows.
    """
    if prompt is not None and completion is not None:
        return prompt, completion, False
    if prompt is None and completion is None:
        return (total or 0), 0, True
    if prompt is None:
        assert completion is not None
        return (max((total or completion) - completion, 0)), completion, True
    assert prompt is not None
    return prompt, (max(total - prompt, 0) if total is not None else 0), True


def parse_body(body: Any, stats: ReadStats, where: str) -> Usage | None:
    """One capture event's body as a `Usage`, or None after counting why not."""
    if not isinstance(body, (bytes, bytearray)) or not body:
        stats.reject("empty body", where)
        return None
    try:
        record = orjson.loads(body)
    except orjson.JSONDecodeError:
        stats.reject("body is not JSON", where)
        return None
    if not isinstance(record, dict):
        stats.reject("body is not a JSON object", where)
        return None
    version = record.get("schemaVersion")
    if version not in KNOWN_VERSIONS:
        stats.reject(f"unknown schemaVersion {version!r}"[:60], where)
        return None
    when = utc_day_and_hour(record.get("timestamp"))
    if when is None:
        stats.reject("missing or malformed timestamp", where)
        return None
    source = record.get("tokenSource")
    if source not in ("usage", "estimate", "cache"):
        stats.reject("missing or unknown tokenSource", where)
        return None
    get = record.get
    prompt, completion, estimated = normalise_tokens(
        _count(get("promptTokens")), _count(get("completionTokens")), _count(get("totalTokens"))
    )
    cached = _count(get("cachedPromptTokens")) or 0
    reasoning = _count(get("reasoningTokens")) or 0
    consumer, deployment, tier = get("consumerId"), get("deploymentName"), get("backendTier")
    model, served = get("model"), get("servedRegion")
    stats.by_version[version] += 1
    return Usage(
        when[0],
        when[1],
        consumer if consumer.__class__ is str and consumer else "(no consumer)",
        deployment if deployment.__class__ is str and deployment else "(no deployment)",
        model if model.__class__ is str else None,
        tier if tier == "ptu" or tier == "paygo" else None,
        served if served.__class__ is str else None,
        prompt,
        cached if cached <= prompt else prompt,
        completion,
        reasoning if reasoning <= completion else completion,
        "estimate" if estimated and source == "usage" else source,
        source == "cache" or get("cacheHit") is True,
        get("streamed") is True,
        version,
    )


def write_capture_file(path: Path | BinaryIO, bodies: Iterable[bytes | None], *, codec: str = "null",
                       enqueued: str = "2026-12-01T00:00:00Z", first_sequence: int = 0) -> None:
    """Writes bodies as Capture writes events (tests and the benchmark build captures with it)."""
    parsed = fastavro.parse_schema(CAPTURE_SCHEMA)

    def events() -> Iterator[dict[str, Any]]:
        for i, body in enumerate(bodies):
            n = first_sequence + i
            yield {
                "SequenceNumber": n,
                "Offset": str(n * 512),
                "EnqueuedTimeUtc": enqueued,
                "SystemProperties": {"x-opt-enqueued-time": 0},
                "Properties": {},
                "Body": body,
            }

    if isinstance(path, Path):
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("wb") as out:
            fastavro.writer(out, parsed, events(), codec=codec)
    else:
        fastavro.writer(path, parsed, events(), codec=codec)
