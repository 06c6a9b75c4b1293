"""Chargeback, the report: a self-contained HTML page with every chart of every consumer (drawn offline in a
headless browser when one is installed), what could not be read, and the month's budget and quota burn.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from lxml import html as lxml_html

from tests.chargeback_support import SEARCH, SUPPORT, Result, catalogue, write_capture
from tools.chargeback.burn import burn
from tools.chargeback.cli import run
from tools.chargeback.html_report import CHART_KINDS, chart_id
from tools.chargeback.reading import FolderSource, Period


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
