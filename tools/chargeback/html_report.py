"""A self-contained HTML report: per consumer, spend over time, tokens by type, PTU versus pay-as-you-go and
budget burn, drawn with plotly. plotly.js is inlined once (no CDN), so the file opens offline."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2
import plotly.graph_objects as go
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


def _div(figure: go.Figure, div_id: str) -> str:
    figure.update_layout(margin={"l": 50, "r": 20, "t": 40, "b": 40}, height=320, template="plotly_white")
    return str(figure.to_html(full_html=False, include_plotlyjs=False, div_id=div_id,
                              config={"displaylogo": False}))


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
    charts = []
    spend = go.Figure([
        go.Bar(name="pay-as-you-go", x=days, y=[by_day[d]["paygo"] for d in days]),
        go.Bar(name="PTU share", x=days, y=[by_day[d]["ptu"] for d in days]),
    ])
    spend.update_layout(barmode="stack", title=f"Spend per day ({currency})", yaxis_title=currency)
    charts.append(Chart(chart_id(consumer, "spend"), "Spend over time", _div(spend, chart_id(consumer, "spend"))))
    tokens = go.Figure([
        go.Bar(name=label, x=days, y=[by_day[d][k] for d in days])
        for k, label in (("input", "input"), ("cached", "cached input"), ("output", "output"),
                         ("reasoning", "reasoning"), ("cache_hit", "semantic cache hits (no model)"))
    ])
    tokens.update_layout(barmode="stack", title="Tokens per day by type", yaxis_title="tokens")
    charts.append(Chart(chart_id(consumer, "tokens"), "Tokens by type", _div(tokens, chart_id(consumer, "tokens"))))
    ptu = sum(by_day[d]["ptu_tokens"] for d in days)
    paygo = sum(by_day[d]["paygo_tokens"] for d in days)
    tiers = go.Figure([go.Pie(labels=["PTU", "pay-as-you-go"], values=[ptu, paygo], hole=0.4, sort=False)])
    tiers.update_layout(title="Model tokens served by PTU and by pay-as-you-go")
    charts.append(Chart(chart_id(consumer, "tiers"), "PTU versus pay-as-you-go", _div(tiers, chart_id(consumer, "tiers"))))
    charts.append(Chart(chart_id(consumer, "burn"), "Budget burn", _burn_div(consumer, burn, currency)))
    return charts


def _burn_div(consumer: str, burn: ConsumerBurn | None, currency: str) -> str:
    figure = go.Figure()
    budget = burn.budget if burn else None
    quota = burn.monthly_quota if burn else None
    for month in burn.months if burn else []:
        if budget:
            figure.add_trace(go.Scatter(name=f"{month.month} spend (% of budget)", x=month.days,
                                        y=[100 * s / budget for s in month.spend], mode="lines+markers"))
        if quota:
            figure.add_trace(go.Scatter(name=f"{month.month} tokens (% of quota)", x=month.days,
                                        y=[100 * t / quota for t in month.tokens], mode="lines+markers"))
        if not budget and not quota:
            figure.add_trace(go.Scatter(name=f"{month.month} spend ({currency})", x=month.days, y=month.spend,
                                        mode="lines+markers"))
    if budget or quota:
        for share in THRESHOLDS:
            figure.add_hline(y=100 * share, line_dash="dash", annotation_text=f"{share:.0%}")
        figure.update_layout(yaxis_title="% used this month")
        what = " and ".join(x for x, on in (("budget", budget), ("monthly token quota", quota)) if on)
        figure.update_layout(title=f"Month to date against the {what}")
    else:
        figure.update_layout(title=f"Month to date ({currency}); no budget or monthly quota known",
                             yaxis_title=currency)
    return _div(figure, chart_id(consumer, "burn"))


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
