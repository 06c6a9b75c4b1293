"""Chargeback from captured usage records: Capture-format Avro in, a statement to the token and the cent out."""

from __future__ import annotations

import csv
import io
import json
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from lxml import html as lxml_html

from components.settings.gateway import ModelPrice, PricingSettings
from tools.chargeback.aggregation import UNUSED_PTU
from tools.chargeback.burn import burn
from tools.chargeback.cli import main, run
from tools.chargeback.html_report import CHART_KINDS, chart_id
from tools.chargeback.pricing import Catalogue, ConsumerLimits, DeploymentOffer, catalogue_from_plan
from tools.chargeback.reading import BlobSource, FolderSource, Period, ReadStats, read_usage, write_capture_file

DAY = "2026-11-03"
SUPPORT, SEARCH = "consumer-support", "consumer-search"


def record(**fields: Any) -> bytes:
    """A v2 usage record (schemas/usage-record.v2.json) of a non-streamed chat completion, with changes."""
    base: dict[str, Any] = {
        "schemaVersion": "2.0", "timestamp": f"{DAY}T10:15:00.1234567Z", "requestId": "r-1",
        "gatewayRegion": "Sweden Central", "consumerId": SUPPORT, "subscriptionId": "sub-1", "apiId": "azure-openai",
        "operationId": "ChatCompletions_Create", "api": "dated", "deploymentName": "chat", "backendId": "pool-chat",
        "backendTier": "paygo", "servedRegion": "Sweden Central", "model": "gpt-4.1-mini-2025-04-14",
        "promptTokens": 1_000_000, "cachedPromptTokens": 200_000, "completionTokens": 500_000,
        "reasoningTokens": 0, "totalTokens": 1_500_000, "tokenSource": "usage", "streamed": False,
        "cacheHit": False, "statusCode": 200, "clientIpHash": None,
    }
    base.update(fields)
    return json.dumps(base).encode()


V1 = json.dumps({
    "schemaVersion": "1.0", "timestamp": f"{DAY}T11:00:00Z", "requestId": "r-v1", "gatewayRegion": "Sweden Central",
    "consumerId": SEARCH, "subscriptionId": "sub-2", "apiId": "azure-openai", "operationId": "ChatCompletions_Create",
    "deploymentName": "chat", "backendId": "pool-chat", "promptTokens": 100_000, "completionTokens": 50_000,
    "totalTokens": 150_000, "tokenSource": "usage", "streamed": False, "statusCode": 200,
}).encode()

CAPTURE: dict[str, list[bytes | None]] = {
    # Partition 0, 10:15: a non-streamed call, a streamed one (estimate only), a cached answer, a malformed body.
    f"gw/token-usage/0/{DAY[:4]}/{DAY[5:7]}/{DAY[8:]}/10/15/00.avro": [
        record(),
        record(requestId="r-2", streamed=True, tokenSource="estimate", model=None, promptTokens=None,
               cachedPromptTokens=None, completionTokens=None, reasoningTokens=None, totalTokens=2_000_000),
        record(requestId="r-3", tokenSource="cache", cacheHit=True, backendTier=None, backendId=None,
               promptTokens=300, cachedPromptTokens=0, completionTokens=100, totalTokens=400),
        b'{"schemaVersion": "2.0", "timestamp": ',
    ],
    # Partition 1, 10:20: two PTU-served calls of two consumers in the same hour, a reasoning model, v1, v9.
    f"gw/token-usage/1/{DAY[:4]}/{DAY[5:7]}/{DAY[8:]}/10/20/00.avro": [
        record(requestId="r-4", backendTier="ptu", promptTokens=2000, cachedPromptTokens=0, completionTokens=1000,
               totalTokens=3000),
        record(requestId="r-5", consumerId=SEARCH, backendTier="ptu", promptTokens=800, cachedPromptTokens=0,
               completionTokens=200, totalTokens=1000),
        record(requestId="r-6", deploymentName="reason", model="o4-mini-2025-04-16", promptTokens=1_000_000,
               cachedPromptTokens=0, completionTokens=1_000_000, reasoningTokens=600_000, totalTokens=2_000_000),
        V1,
        record(requestId="r-7", schemaVersion="9.0"),
    ],
}


def catalogue() -> Catalogue:
    """Two deployments: `chat` on a Global PTU (15 PTUs) with Global pay-as-you-go spill-over, `reason` pay-as-you-go.

    Prices are stack overrides, so the expected amounts below do not move when the price table does."""
    pricing = PricingSettings(
        currency="USD",
        models={
            "gpt-4.1-mini": ModelPrice(input_per_million=0.40, cached_input_per_million=0.10, output_per_million=1.60),
            "o4-mini": ModelPrice(input_per_million=1.10, cached_input_per_million=0.275, output_per_million=4.40,
                                  reasoning_per_million=5.00),
        },
        provisioned_per_ptu_hour={"global": 1.0},
    )
    return Catalogue(
        currency="USD",
        pricing=pricing,
        deployments={
            "chat": [DeploymentOffer("ptu-1", "swedencentral", "ptu", "GlobalProvisionedManaged", "gpt-4.1-mini", 15),
                     DeploymentOffer("paygo-1", "swedencentral", "paygo", "GlobalStandard", "gpt-4.1-mini", 100)],
            "reason": [DeploymentOffer("paygo-1", "swedencentral", "paygo", "DataZoneStandard", "o4-mini", 50)],
        },
        consumers={SUPPORT: ConsumerLimits("support", budget=100.0, token_quota=10_000_000, quota_period="Monthly"),
                   SEARCH: ConsumerLimits("search", budget=None, token_quota=1_000_000, quota_period="Daily")},
        described_by="the test catalogue",
    )


def write_capture(root: Path) -> Path:
    for name, bodies in CAPTURE.items():
        write_capture_file(root / name, bodies, codec="deflate" if "/1/" in name else "null")
    return root


@dataclass
class Result:
    rows: dict[tuple[str, str, str], dict[str, str]]
    stats: ReadStats
    out: Path


@pytest.fixture(scope="module")
def result(tmp_path_factory: pytest.TempPathFactory) -> Result:
    root = write_capture(tmp_path_factory.mktemp("capture"))
    out = tmp_path_factory.mktemp("out")
    _, stats = run(FolderSource(root), catalogue(), Period(), out)
    with (out / "chargeback.csv").open(newline="") as f:
        rows = {(r["consumer"], r["deployment"], r["model"]): r for r in csv.DictReader(f)}
    return Result(rows, stats, out)


def cents(text: str) -> float:
    return round(float(text), 2)


# -- reading ---------------------------------------------------------------------------------------------------


def test_every_event_of_every_capture_file_is_read(result: Result) -> None:
    assert (result.stats.files, result.stats.events) == (2, 9)
    assert result.stats.by_version == {"2.0": 6, "1.0": 1}


def test_a_malformed_body_is_counted_not_dropped(result: Result) -> None:
    assert result.stats.rejected["body is not JSON"] == 1
    assert result.stats.examples["body is not JSON"] == [f"{next(iter(CAPTURE))}#3"]


def test_an_unknown_schema_version_is_counted_not_dropped(result: Result) -> None:
    assert result.stats.rejected["unknown schemaVersion '9.0'"] == 1


# -- the CSV, to the token and the cent -------------------------------------------------------------------------


def test_csv_has_one_row_per_day_consumer_deployment_and_model(result: Result) -> None:
    assert set(result.rows) == {
        (SUPPORT, "chat", "gpt-4.1-mini"), (SUPPORT, "reason", "o4-mini"), (SEARCH, "chat", "gpt-4.1-mini"),
        (UNUSED_PTU, "chat", "gpt-4.1-mini"),
    }
    assert {r["day"] for r in result.rows.values()} == {DAY}


def test_tokens_of_each_type_add_up_per_row(result: Result) -> None:
    row = result.rows[(SUPPORT, "chat", "gpt-4.1-mini")]
    # the non-streamed call + the streamed call's estimate (prompt only) + the PTU call; the cache hit apart
    assert int(row["requests"]) == 4
    assert int(row["prompt_tokens"]) == 1_000_000 + 2_000_000 + 2000
    assert int(row["cached_prompt_tokens"]) == 200_000
    assert int(row["completion_tokens"]) == 500_000 + 0 + 1000
    assert int(row["total_tokens"]) == 3_503_000
    assert (int(row["cache_hits"]), int(row["cache_hit_tokens"])) == (1, 400)
    assert int(row["estimated_requests"]) == 1
    assert int(row["ptu_tokens"]) == 3000


def test_pay_as_you_go_cost_prices_cached_input_at_its_own_rate(result: Result) -> None:
    row = result.rows[(SUPPORT, "chat", "gpt-4.1-mini")]
    # (800k x 0.40 + 200k x 0.10 + 500k x 1.60) / 1M = 1.14; the streamed call's 2M estimated prompt tokens 0.80
    assert cents(row["paygo_cost"]) == 1.94


def test_a_cache_hit_costs_nothing(result: Result) -> None:
    only_cache = run_single(record(tokenSource="cache", cacheHit=True, promptTokens=300, completionTokens=100,
                                   totalTokens=400))
    assert float(only_cache["paygo_cost"]) == 0 and float(only_cache["cost"]) == 0
    assert int(only_cache["cache_hit_tokens"]) == 400 and int(only_cache["total_tokens"]) == 0


def test_reasoning_tokens_are_part_of_completion_and_priced_once(result: Result) -> None:
    row = result.rows[(SUPPORT, "reason", "o4-mini")]
    assert (int(row["completion_tokens"]), int(row["reasoning_tokens"])) == (1_000_000, 600_000)
    # 1M x 1.10 + 400k x 4.40 + 600k x 5.00 = 1.10 + 1.76 + 3.00
    assert cents(row["cost"]) == 5.86


def test_a_v1_record_is_read_and_priced_as_pay_as_you_go(result: Result) -> None:
    row = result.rows[(SEARCH, "chat", "gpt-4.1-mini")]
    assert int(row["v1_records"]) == 1
    # 100k x 0.40 + 50k x 1.60 = 0.04 + 0.08
    assert cents(row["paygo_cost"]) == 0.12


def test_ptu_hour_is_shared_by_the_tokens_each_consumer_sent(result: Result) -> None:
    # 15 PTU x 1.00 an hour; support sent 3000 of the hour's 4000 PTU tokens, search 1000
    assert cents(result.rows[(SUPPORT, "chat", "gpt-4.1-mini")]["ptu_cost"]) == 11.25
    assert cents(result.rows[(SEARCH, "chat", "gpt-4.1-mini")]["ptu_cost"]) == 3.75


def test_ptu_hours_nobody_used_are_reported_as_unused(tmp_path: Path) -> None:
    root = write_capture(tmp_path / "capture")
    statement, _ = run(FolderSource(root), catalogue(), Period(parse(DAY), parse(DAY)), tmp_path / "out")
    [unused] = [r for r in statement.rows if r.consumer == UNUSED_PTU]
    assert round(unused.ptu_cost, 2) == 23 * 15.0


def test_the_statement_adds_up_to_its_rows(result: Result) -> None:
    rows = result.rows.values()
    assert all(cents(r["cost"]) == round(float(r["paygo_cost"]) + float(r["ptu_cost"]), 2) for r in rows)
    assert {r["currency"] for r in rows} == {"USD"}


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


# -- the capture container ---------------------------------------------------------------------------------------


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


# -- the report ------------------------------------------------------------------------------------------------


def test_report_is_html_with_every_chart_of_every_consumer(result: Result) -> None:
    document = lxml_html.fromstring((result.out / "chargeback.html").read_text(encoding="utf-8"))
    for consumer in (SUPPORT, SEARCH):
        for kind in CHART_KINDS:
            [div] = document.xpath(f'//div[@id="{chart_id(consumer, kind)}"]')
            assert div.getnext() is not None and "Plotly.newPlot" in div.getnext().text_content()


def test_report_is_self_contained(result: Result) -> None:
    document = lxml_html.fromstring((result.out / "chargeback.html").read_text(encoding="utf-8"))
    assert document.xpath("//script[@src]") == [] and document.xpath("//link[@href]") == []
    assert any("plotly.js" in (s.text or "")[:400] for s in document.xpath("//script"))


def test_report_lists_what_could_not_be_read(result: Result) -> None:
    text = lxml_html.fromstring((result.out / "chargeback.html").read_text(encoding="utf-8")).text_content()
    assert "not read: body is not JSON" in text and "not read: unknown schemaVersion '9.0'" in text


def test_budget_burn_compares_month_to_date_with_budget_and_monthly_quota(tmp_path: Path) -> None:
    root = write_capture(tmp_path / "capture")
    statement, _ = run(FolderSource(root), catalogue(), Period(), tmp_path / "out")
    burns = burn(statement, catalogue())
    spend = 1.94 + 5.86 + 11.25
    tokens = 3_503_000 + 400 + 2_000_000  # model tokens and cache hits, as the quota counts them
    assert burns[SUPPORT].peak_share() == (pytest.approx(spend / 100.0, abs=1e-4), pytest.approx(tokens / 10_000_000))
    # search's quota is daily and it has no budget: no month to burn
    assert burns[SEARCH].peak_share() == (None, None)


# -- the command -----------------------------------------------------------------------------------------------


def test_cli_writes_csv_and_report_and_prints_a_summary(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = write_capture(tmp_path / "capture")
    assert main([str(root), "--stack", "dev", "--out", str(tmp_path / "out"), "--no-progress"]) == 0
    printed = capsys.readouterr().out
    assert "consumer-support" in printed and "NOT READ: 1 body is not JSON" in printed
    assert (tmp_path / "out/chargeback.csv").exists() and (tmp_path / "out/chargeback.html").exists()


def test_cli_strict_fails_when_records_could_not_be_read(tmp_path: Path) -> None:
    root = write_capture(tmp_path / "capture")
    assert main([str(root), "--out", str(tmp_path / "out"), "--no-progress", "--strict"]) == 1


@pytest.mark.parametrize("argv", [["--from", "2026-13-01"], ["--from", "2026-11-04", "--to", "2026-11-03"]])
def test_cli_rejects_bad_dates(tmp_path: Path, argv: list[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        main([str(tmp_path), *argv])
    assert exit_.value.code == 2


def test_cli_names_a_missing_source(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main([str(tmp_path / "nowhere"), "--no-progress"]) == 2
    assert "no such folder" in capsys.readouterr().err


def test_cli_names_an_unknown_stack(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main([str(tmp_path), "--stack", "nosuch", "--no-progress"]) == 2
    assert "no stack file Pulumi.nosuch.yaml" in capsys.readouterr().err


def test_plan_supplies_deployments_and_quotas(tmp_path: Path) -> None:
    plan = tmp_path / "plan.json"
    plan.write_text(json.dumps({"outputs": {
        "openaiAccounts": [{"name": "ptu-1", "region": "swedencentral", "tier": "ptu", "deployments": [
            {"name": "chat", "model": "gpt-4.1-mini", "sku": "GlobalProvisionedManaged", "capacity": 15}]}],
        "consumers": {"support": {"productId": SUPPORT, "tokenQuota": 1000, "tokenQuotaPeriod": "Monthly",
                                  "monthlyBudget": {"amount": 50, "currency": "USD"}}},
    }}))
    found = catalogue_from_plan(plan)
    assert found.deployments["chat"][0].provisioned
    assert found.consumers[SUPPORT] == ConsumerLimits("support", 50, 1000, "Monthly")


def run_single(body: bytes) -> dict[str, str]:
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        write_capture_file(root / "c/gw/h/0/2026/11/03/10/00/00.avro", [body])
        run(FolderSource(root / "c"), catalogue(), Period(), root / "out")
        with (root / "out/chargeback.csv").open(newline="") as f:
            [row] = [r for r in csv.DictReader(f) if r["consumer"] != UNUSED_PTU]
        return row


def parse(text: str):  # type: ignore[no-untyped-def]
    from datetime import date

    return date.fromisoformat(text)


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


def test_a_stack_prices_its_ptu_hours_from_its_deployments_and_the_table() -> None:
    from components.settings.prices import SKU_TYPES, load_price_table
    from tools.chargeback.pricing import catalogue_from_stack, ptu_hourly_cost, ptu_pools

    found = catalogue_from_stack("prod")
    table = load_price_table()
    expected = {}
    for name, offers in found.deployments.items():
        provisioned = [o for o in offers if o.provisioned]
        if provisioned:
            expected[name] = sum(o.capacity * (found.pricing.provisioned_per_ptu_hour.get(SKU_TYPES[o.sku][0])
                                               or table.ptu_per_hour(SKU_TYPES[o.sku][0], o.region) or 0)
                                 for o in provisioned)
    assert expected, "prod has a PTU"
    assert {pool.split("@")[0]: ptu_hourly_cost(found, pool) for pool in ptu_pools(found)} == expected


def test_a_plan_written_by_the_program_carries_the_budgets(prod: Any, tmp_path: Path) -> None:
    plan = tmp_path / "prod.json"
    plan.write_text(json.dumps({"outputs": prod.outputs}, default=str))
    found = catalogue_from_plan(plan)
    budgeted = {c.name: c.budget for c in found.consumers.values() if c.budget}
    assert budgeted == {name: c["monthlyBudget"]["amount"] for name, c in prod.outputs["consumers"].items()
                        if c.get("monthlyBudget")}
    assert budgeted


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


CHROMIUM = next((shutil.which(n) for n in ("chromium", "chromium-browser", "google-chrome") if shutil.which(n)), None)


@pytest.mark.skipif(CHROMIUM is None, reason="no headless Chromium here (optional: apt-get install chromium)")
def test_report_renders_every_chart_in_a_headless_browser(result: Result) -> None:
    # Plotly draws each chart as SVG (class main-svg) inside its div once its script ran: proof the inlined
    # plotly.js and the figures load offline.
    assert CHROMIUM is not None
    dom = subprocess.run(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--virtual-time-budget=20000",
         "--dump-dom", (result.out / "chargeback.html").as_uri()],
        capture_output=True, text=True, timeout=120, check=True,
    ).stdout
    document = lxml_html.fromstring(dom)
    for consumer in (SUPPORT, SEARCH):
        for kind in CHART_KINDS:
            [div] = document.xpath(f'//div[@id="{chart_id(consumer, kind)}"]')
            assert div.xpath('.//svg[contains(@class, "main-svg")]'), chart_id(consumer, kind)
