"""`python -m tools.chargeback <source> [--from YYYY-MM-DD] [--to YYYY-MM-DD] [--out DIR] [--stack NAME | --plan FILE]`

`<source>` is a folder of Event Hubs Capture files or the capture container's URL
(`https://<account>.blob.core.windows.net/<container>[/<prefix>]`, read with DefaultAzureCredential).
Writes `<out>/chargeback.csv` and `<out>/chargeback.html` and prints a summary. Exit codes: 0 done (records
that could not be read are reported), 1 with `--strict` when any record could not be read, 2 usage or
configuration error.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import sys
from collections import defaultdict
from datetime import date
from pathlib import Path
from typing import TextIO

from tqdm import tqdm

from .aggregation import UNUSED_PTU, Aggregator, Statement
from .burn import burn
from .csv_output import write_csv
from .html_report import render_report
from .pricing import Catalogue, catalogue_from_plan, catalogue_from_stack, catalogue_without_stack
from .reading import (
    BlobSource,
    CaptureSource,
    FolderSource,
    OneFile,
    Period,
    ReadStats,
    container_source,
    read_usage,
)

NOTES = [
    "Pay-as-you-go tokens: (prompt - cached) x input + cached x cached input + (completion - reasoning) x output "
    "+ reasoning x reasoning price, per million, by the model, deployment type and region of the serving account.",
    "Semantic cache hits called no model: no cost; their tokens are shown apart (they still count toward quotas).",
    "Streamed calls without exact usage carry the token-limit policy's prompt estimate only: their cost is a "
    "lower bound (estimated_requests in the CSV).",
    "PTU: each hour's cost (PTUs x price per PTU-hour) is shared by the tokens each consumer sent through the "
    "PTU in that hour; hours nobody used are 'unused PTU'.",
    "Version 1 records carry no backend tier and are priced as pay-as-you-go where the deployment has any.",
]


def parse_day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date YYYY-MM-DD") from None


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m tools.chargeback", description=__doc__.split("\n\n")[0])
    parser.add_argument("source", help="folder of capture .avro files, or the capture container URL")
    parser.add_argument("--from", dest="start", type=parse_day, help="first day (UTC), inclusive")
    parser.add_argument("--to", dest="end", type=parse_day, help="last day (UTC), inclusive")
    parser.add_argument("--out", type=Path, default=Path("build/chargeback"), help="output folder")
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--stack", help="read deployments, prices and budgets from Pulumi.<stack>.yaml")
    where.add_argument("--plan", type=Path, help="read them from an offline plan (build/plan/<stack>.json)")
    parser.add_argument("--strict", action="store_true", help="exit 1 if any record could not be read")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")
    parser.add_argument("--workers", type=int, default=min(2, os.cpu_count() or 1),
                        help="processes reading a local folder (default: up to 2)")
    return parser


def open_source(text: str) -> CaptureSource:
    if text.startswith("https://"):
        return container_source(text)
    return FolderSource(Path(text))


def load_catalogue(args: argparse.Namespace) -> Catalogue:
    if args.stack:
        return catalogue_from_stack(args.stack)
    if args.plan:
        return catalogue_from_plan(args.plan)
    return catalogue_without_stack()


def _aggregate_file(task: tuple[Path, str, Catalogue, Period]) -> tuple[Aggregator, ReadStats]:
    root, name, catalogue, period = task
    stats = ReadStats()
    return Aggregator(catalogue).add_all(read_usage(OneFile(root, name), stats, period)), stats


def aggregate(source: CaptureSource, catalogue: Catalogue, period: Period, *, workers: int = 1,
              progress: bool = False) -> tuple[Aggregator, ReadStats]:
    """Reads and adds up every file. A local folder is read by `workers` processes, a file each at a time, and
    their sums merged in file order (so examples of unreadable records are the same whatever the count)."""
    stats = ReadStats()
    names = [n for n in source.names() if period.may_hold_file(n)]
    bar = tqdm(total=len(names), unit="file", file=sys.stderr, disable=not progress, desc="capture files")
    aggregator = Aggregator(catalogue)
    try:
        if workers > 1 and isinstance(source, FolderSource) and len(names) > 1:
            with multiprocessing.get_context("fork").Pool(min(workers, len(names))) as pool:
                tasks = [(source.root, n, catalogue, period) for n in names]
                for partial, partial_stats in pool.imap(_aggregate_file, tasks):
                    aggregator.merge(partial)
                    stats.merge(partial_stats)
                    bar.update(1)
        else:
            aggregator.add_all(read_usage(source, stats, period, bar.update))
    finally:
        bar.close()
    return aggregator, stats


def run(source: CaptureSource, catalogue: Catalogue, period: Period, out: Path, *, workers: int = 1,
        progress: bool = False) -> tuple[Statement, ReadStats]:
    aggregator, stats = aggregate(source, catalogue, period, workers=workers, progress=progress)
    statement = aggregator.statement(period)
    write_csv(statement, out / "chargeback.csv")
    render_report(statement, stats, burn(statement, catalogue), described_by=catalogue.described_by,
                  notes=NOTES, path=out / "chargeback.html")
    return statement, stats


def print_summary(statement: Statement, stats: ReadStats, catalogue: Catalogue, out: TextIO) -> None:
    totals: dict[str, list[float]] = defaultdict(lambda: [0, 0, 0.0, 0.0])
    for r in statement.rows:
        t = totals[r.consumer]
        t[0] += r.requests
        t[1] += r.total_tokens
        t[2] += r.paygo_cost
        t[3] += r.ptu_cost
    burns = burn(statement, catalogue)
    header = f"{'consumer':<32} {'requests':>10} {'tokens':>14} {'paygo':>12} {'PTU':>12} {'cost':>12} {'budget':>8}"
    print(header, file=out)
    print("-" * len(header), file=out)
    for consumer in sorted(totals, key=lambda c: (c == UNUSED_PTU, c)):
        requests, tokens, paygo, ptu = totals[consumer]
        b = burns.get(consumer)
        share = b.peak_share()[0] if b else None
        shown = f"{share:.0%}" if share is not None else "-"
        print(f"{consumer:<32} {int(requests):>10,} {int(tokens):>14,} {paygo:>12.2f} {ptu:>12.2f} "
              f"{paygo + ptu:>12.2f} {shown:>8}", file=out)
    print("-" * len(header), file=out)
    print(f"{'total (' + statement.currency + ')':<32} {'':>10} {'':>14} {'':>12} {'':>12} {statement.total:>12.2f}",
          file=out)
    print(f"\n{stats.files} capture file(s), {stats.events} event(s), {stats.records} usage record(s) in the period "
          f"({', '.join(f'v{k}: {v}' for k, v in sorted(stats.by_version.items())) or 'none'}); "
          f"{stats.outside_period} outside it.", file=out)
    for reason, n in sorted(stats.rejected.items()):
        print(f"NOT READ: {n} {reason} (e.g. {', '.join(stats.examples.get(reason, []))})", file=out)
    estimated = sum(r.estimated for r in statement.rows)
    if estimated:
        print(f"{estimated} streamed call(s) priced from the prompt estimate only (a lower bound).", file=out)
    if statement.unpriced_models:
        print(f"No price for {', '.join(sorted(statement.unpriced_models))}: counted at cost 0.", file=out)
    unknown_ptu = [pool for pool, hourly in statement.ptu_pools.items() if hourly is None]
    if unknown_ptu:
        print(f"No PTU price for {', '.join(unknown_ptu)}: their hours are not in the statement.", file=out)


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.start and args.end and args.start > args.end:
        parser.error(f"--from {args.start} is after --to {args.end}")
    try:
        catalogue = load_catalogue(args)
        source = open_source(args.source)
    except Exception as error:  # settings, stack file, plan file or source problems: one clear line
        print(f"error: {error}", file=sys.stderr)
        return 2
    period = Period(args.start, args.end)
    progress = not args.no_progress and sys.stderr.isatty()
    statement, stats = run(source, catalogue, period, args.out, workers=max(args.workers, 1), progress=progress)
    print_summary(statement, stats, catalogue, sys.stdout)
    print(f"\nWrote {args.out / 'chargeback.csv'} and {args.out / 'chargeback.html'}")
    return 1 if args.strict and stats.rejected_total else 0


__all__ = ["BlobSource", "FolderSource", "main", "run"]
