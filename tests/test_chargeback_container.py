"""Chargeback, the capture container: records are read from the Capture storage container under its prefix, one
blob at a time, skipping Capture's empty files; a container URL must name a container.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass
from typing import Any

import pytest

from tests.chargeback_support import SUPPORT, record
from tools.chargeback.reading import BlobSource, ReadStats, read_usage, write_capture_file


@dataclass
class FakeBlob:
    name: str
    size: int


class FakeDownload:
    def __init__(self, data: bytes) -> None:
        self.data = data

    def readall(self) -> bytes:
        return self.data


class FakeContainer:
    """Stands in for azure.storage.blob.ContainerClient: list_blobs(name_starts_with) and download_blob."""

    def __init__(self, blobs: dict[str, bytes]) -> None:
        self.blobs = blobs
        self.prefixes: list[str | None] = []
        self.downloaded: list[str] = []

    def list_blobs(self, name_starts_with: str | None = None) -> list[FakeBlob]:
        self.prefixes.append(name_starts_with)
        return [FakeBlob(n, len(d)) for n, d in self.blobs.items() if n.startswith(name_starts_with or "")]

    def download_blob(self, blob: str) -> FakeDownload:
        self.downloaded.append(blob)
        return FakeDownload(self.blobs[blob])


def avro_bytes(bodies: list[bytes | None]) -> bytes:
    buffer = io.BytesIO()
    write_capture_file(buffer, bodies)
    return buffer.getvalue()


def test_container_source_lists_under_its_prefix_and_skips_empty_and_other_blobs() -> None:
    container = FakeContainer({
        "gw/token-usage/0/2026/11/03/10/15/00.avro": avro_bytes([record()]),
        "gw/token-usage/1/2026/11/03/10/15/00.avro": b"",  # Capture's empty files (no events in the window)
        "gw/token-usage/1/2026/11/03/10/15/00.json": b"{}",
        "other/hub/0/2026/11/03/10/15/00.avro": avro_bytes([record()]),
    })
    source = BlobSource(container, "gw/token-usage/")
    assert source.names() == ["gw/token-usage/0/2026/11/03/10/15/00.avro"]
    assert container.prefixes == ["gw/token-usage/"]


def test_container_source_streams_records_one_blob_at_a_time() -> None:
    container = FakeContainer({f"gw/h/{p}/2026/11/03/10/15/00.avro": avro_bytes([record(), record()]) for p in "01"})
    stats = ReadStats()
    seen = []
    for usage in read_usage(BlobSource(container), stats):
        seen.append((usage.consumer, len(container.downloaded)))
    assert seen == [(SUPPORT, 1), (SUPPORT, 1), (SUPPORT, 2), (SUPPORT, 2)]


def test_container_url_must_name_a_container() -> None:
    from tools.chargeback.reading import container_source

    with pytest.raises(ValueError, match=re.escape("expected https://<account>.blob.core.windows.net/<container>")):
        container_source("https://account.blob.core.windows.net/", credential=object())


def test_container_url_prefix_narrows_the_listing() -> None:
    from tools.chargeback.reading import container_source

    class NoTokens:
        """A token credential that must never be asked: building the client sends nothing."""

        def get_token(self, *scopes: str, **kwargs: Any) -> Any:
            raise AssertionError("no request expected")

    source = container_source("https://account.blob.core.windows.net/capture/gw/token-usage", credential=NoTokens())
    assert source.prefix == "gw/token-usage"
    assert source.client.container_name == "capture"  # type: ignore[attr-defined]
