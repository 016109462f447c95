"""`genlab history`: list past runs (generations and agent sessions), newest first, and show one
run with its transcript and images.
"""

from __future__ import annotations

import json
import time

from genlab.history import HistoryStore


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "history",
        help="list past runs and their images",
        description="List past runs (newest first) or show one run with its steps and images.",
    )
    p.add_argument("--page", type=int, default=1, help="page number, from 1")
    p.add_argument("--per-page", type=int, default=20, help="runs per page (1 to 200)")
    p.add_argument("--query", "-q", default=None, help="only runs whose request contains this text")
    p.add_argument("--kind", default=None, help="only runs of this kind (agent, generate, ...)")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.set_defaults(func=list_runs)
    sub = p.add_subparsers(dest="history_command", metavar="COMMAND")
    show = sub.add_parser("show", help="one run with its transcript and images")
    show.add_argument("run_id", help="id of the run (first column of the list)")
    show.add_argument("--json", action="store_true", help="print JSON instead of text")
    show.set_defaults(func=show_run)


def list_runs(args) -> int:
    page = HistoryStore().list_runs(args.page, args.per_page, query=args.query, kind=args.kind)
    if args.json:
        print(json.dumps(page.to_dict(), indent=2, default=str))
        return 0
    if not page.items:
        print("no runs" + (f" matching {args.query!r}" if args.query else ""))
        return 0
    for r in page.items:
        when = time.strftime("%Y-%m-%d %H:%M", time.localtime(r.created))
        score = "  -  " if r.score is None else f"{r.score:.2f}"
        print(
            f"{r.id}  {when}  {r.kind:8s} {r.status:7s} {score}  {r.num_images:2d} img  {r.request or '(empty request)'}"
        )
    print(f"page {page.page}/{page.pages} ({page.total} runs)")
    return 0


def show_run(args) -> int:
    run = HistoryStore().get_run(args.run_id)
    if args.json:
        print(json.dumps(run.to_dict(), indent=2, default=str))
        return 0
    print(f"run {run.id}: {run.kind} {run.status}  request: {run.request}")
    print(f"  backend: {run.backend}  model: {run.model}  score: {run.score}")
    print(f"  stopped: {run.stop_reason}")
    for im in run.images:
        score = "" if im.score is None else f" score {im.score:.2f}"
        print(f"  image {im.id} ({im.model}, seed {im.seed}){score}: {im.path}")
    print(f"  {len(run.steps)} steps (use --json for the transcript)")
    return 0
