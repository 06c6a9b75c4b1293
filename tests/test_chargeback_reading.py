"""Chargeback, reading: every event of every Capture file is read, within the period asked for, with timestamps as
UTC days and hours; what cannot be read (a malformed body, an unknown schema version, a file that is not Avro)
is counted and named, never silently dropped.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.chargeback_support import CAPTURE, DAY, Result, parse, record
from tools.chargeback.reading import FolderSource, Period, ReadStats, read_usage, write_capture_file


def test_every_event_of_every_capture_file_is_read(result: Result) -> None:
    assert (result.stats.files, result.stats.events) == (2, 9)
    assert result.stats.by_version == {"2.0": 6, "1.0": 1}


def test_a_malformed_body_is_counted_not_dropped(result: Result) -> None:
    assert result.stats.rejected["body is not JSON"] == 1
    assert result.stats.examples["body is not JSON"] == [f"{next(iter(CAPTURE))}#3"]


def test_an_unknown_schema_version_is_counted_not_dropped(result: Result) -> None:
    assert result.stats.rejected["unknown schemaVersion '9.0'"] == 1


def test_period_keeps_only_its_days_and_counts_the_rest(tmp_path: Path) -> None:
    write_capture_file(tmp_path / "c/gw/h/0/2026/11/03/10/00/00.avro",
                       [record(), record(timestamp="2026-11-04T00:00:01Z")])
    stats = ReadStats()
    usages = list(read_usage(FolderSource(tmp_path / "c"), stats, Period(parse(DAY), parse(DAY))))
    assert len(usages) == 1 and stats.outside_period == 1


def test_files_outside_the_period_are_not_opened(tmp_path: Path) -> None:
    write_capture_file(tmp_path / "c/gw/h/0/2026/10/01/10/00/00.avro", [record(timestamp="2026-10-01T10:00:00Z")])
    stats = ReadStats()
    assert list(read_usage(FolderSource(tmp_path / "c"), stats, Period(parse(DAY), None))) == []
    assert stats.files == 0


def test_a_file_that_is_not_avro_is_reported_by_name(tmp_path: Path) -> None:
    bad = tmp_path / "c/gw/h/0/2026/11/03/10/00/00.avro"
    bad.parent.mkdir(parents=True)
    bad.write_bytes(b"not an avro container")
    stats = ReadStats()
    assert list(read_usage(FolderSource(tmp_path / "c"), stats)) == []
    assert stats.rejected["unreadable capture file"] == 1
    assert stats.examples["unreadable capture file"][0].startswith("gw/h/0/2026/11/03/10/00/00.avro: ")


@pytest.mark.parametrize(("timestamp", "expected"), [
    ("2026-11-03T23:59:59.1234567Z", ("2026-11-03", "2026-11-03T23")),
    ("2026-11-03T22:30:00-05:00", ("2026-11-04", "2026-11-04T03")),
    ("2026-11-03T10:00:00+00:00", ("2026-11-03", "2026-11-03T10")),
    ("03/11/2026 10:00", None),
    (None, None),
])
def test_timestamps_are_read_as_utc_days_and_hours(timestamp: Any, expected: Any) -> None:
    from tools.chargeback.reading import utc_day_and_hour

    assert utc_day_and_hour(timestamp) == expected
