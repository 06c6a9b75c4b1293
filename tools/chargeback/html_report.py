"""A self-contained HTML report: per consumer, spend over time, tokens by type, PTU versus pay-as-you-go and
budget burn, drawn with plotly. plotly.js is inlined once (no CDN), so the file opens offline."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2
import plotly.io as pio
from plotly.offline import get_plotlyjs

from .aggregation import UNUSED_PTU, Row, Statement
from .burn import THRESHOLDS, ConsumerBurn
from .reading import ReadStats

TEMPLATE = Path(__file__).with_name("report.html.j2")
CHART_KINDS = ("spend", "tokens", "tiers", "burn")


@dataclass(frozen=True)
class Chart:
    id: str
    title: str
    html: str


def chart_id(consumer: str, kind: str) -> str:
    safe = "".join(ch if ch.isalnum() else "-" for ch in consumer)
    return f"chart-{safe}-{kind}"


def _div(figure: dict[str, Any], div_id: str) -> str:
    """A chart as a div and its Plotly.newPlot call. Figures are plain dicts written with validate=False:
    building plotly's graph objects costs most of a second per consumer (template deep copies)."""
    figure["layout"].update(margin={"l": 50, "r": 20, "t": 40, "b": 40}, height=320)
    return str(pio.to_html(figure, full_html=False, include_plotlyjs=False, div_id=div_id, validate=False,
                           config={"displaylogo": False}))


def _bars(title: str, yaxis: str, days: list[str], series: list[tuple[str, list[float]]]) -> dict[str, Any]:
    return {"data": [{"type": "bar", "name": name, "x": days, "y": ys} for name, ys in series],
            "layout": {"barmode": "stack", "title": {"text": title}, "yaxis": {"title": {"text": yaxis}}}}


def consumer_charts(consumer: str, rows: list[Row], burn: ConsumerBurn | None, currency: str) -> list[Chart]:
    by_day: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    for r in rows:
        d = by_day[r.day]
        d["paygo"] += r.paygo_cost
        d["ptu"] += r.ptu_cost
        d["input"] += r.prompt_tokens - r.cached_prompt_tokens
        d["cached"] += r.cached_prompt_tokens
        d["output"] += r.completion_tokens - r.reasoning_tokens
        d["reasoning"] += r.reasoning_tokens
        d["cache_hit"] += r.cache_hit_tokens
        d["ptu_tokens"] += r.ptu_tokens
        d["paygo_tokens"] += r.total_tokens - r.ptu_tokens
    days = sorted(by_day)

    def series(k: str) -> list[float]:
        return [by_day[d][k] for d in days]

    spend = _bars(f"Spend per day ({currency})", currency, days,
                  [("pay-as-you-go", series("paygo")), ("PTU share", series("ptu"))])
    tokens = _bars("Tokens per day by type", "tokens", days, [
        ("input", series("input")), ("cached input", series("cached")), ("output", series("output")),
        ("reasoning", series("reasoning")), ("semantic cache hits (no model)", series("cache_hit"))])
    tiers = {"data": [{"type": "pie", "labels": ["PTU", "pay-as-you-go"], "hole": 0.4, "sort": False,
                       "values": [sum(series("ptu_tokens")), sum(series("paygo_tokens"))]}],
             "layout": {"title": {"text": "Model tokens served by PTU and by pay-as-you-go"}}}
    figures = {"spend": ("Spend over time", spend), "tokens": ("Tokens by type", tokens),
               "tiers": ("PTU versus pay-as-you-go", tiers), "burn": ("Budget burn", _burn(burn, currency))}
    return [Chart(chart_id(consumer, kind), title, _div(figure, chart_id(consumer, kind)))
            for kind, (title, figure) in figures.items()]


def _burn(burn: ConsumerBurn | None, currency: str) -> dict[str, Any]:
    data: list[dict[str, Any]] = []
    budget = burn.budget if burn else None
    quota = burn.monthly_quota if burn else None
    for month in burn.months if burn else []:
        if budget:
            data.append({"type": "scatter", "mode": "lines+markers", "name": f"{month.month} spend (% of budget)",
                         "x": month.days, "y": [100 * s / budget for s in month.spend]})
        if quota:
            data.append({"type": "scatter", "mode": "lines+markers", "name": f"{month.month} tokens (% of quota)",
                         "x": month.days, "y": [100 * t / quota for t in month.tokens]})
        if not budget and not quota:
            data.append({"type": "scatter", "mode": "lines+markers", "name": f"{month.month} spend ({currency})",
                         "x": month.days, "y": month.spend})
    if not (budget or quota):
        return {"data": data, "layout": {"title": {"text": f"Month to date ({currency}); no budget or monthly quota"},
                                         "yaxis": {"title": {"text": currency}}}}
    what = " and ".join(x for x, on in (("budget", budget), ("monthly token quota", quota)) if on)
    # The alert thresholds (components/alerts.py) as dashed lines across the plot.
    lines = [{"type": "line", "xref": "paper", "x0": 0, "x1": 1, "y0": 100 * t, "y1": 100 * t,
              "line": {"dash": "dash", "color": "#a40" if t >= 1 else "#999"}} for t in THRESHOLDS]
    return {"data": data, "layout": {"title": {"text": f"Month to date against the {what}"}, "shapes": lines,
                                     "yaxis": {"title": {"text": "% used this month"}}}}


def render_report(statement: Statement, stats: ReadStats, burns: dict[str, ConsumerBurn], *,
                  described_by: str, notes: list[str], path: Path) -> Path:
    by_consumer: dict[str, list[Row]] = defaultdict(list)
    for r in statement.rows:
        by_consumer[r.consumer].append(r)
    sections: list[dict[str, Any]] = []
    for consumer in sorted(c for c in by_consumer if c != UNUSED_PTU):
        rows = by_consumer[consumer]
        b = burns.get(consumer)
        budget_share, quota_share = b.peak_share() if b else (None, None)
        sections.append({
            "consumer": consumer,
            "cost": sum(r.cost for r in rows),
            "requests": sum(r.requests for r in rows),
            "tokens": sum(r.total_tokens for r in rows),
            "budget": b.budget if b else None,
            "budget_share": budget_share,
            "quota": b.monthly_quota if b else None,
            "quota_share": quota_share,
            "charts": consumer_charts(consumer, rows, b, statement.currency),
        })
    unused = sum(r.cost for r in by_consumer.get(UNUSED_PTU, []))
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATE.parent), autoescape=True,
                             undefined=jinja2.StrictUndefined)
    html = env.get_template(TEMPLATE.name).render(
        statement=statement, stats=stats, sections=sections, unused=unused, described_by=described_by,
        notes=notes, plotly_js=get_plotlyjs(),
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(html, encoding="utf-8")
    return path
