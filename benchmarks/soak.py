"""Soak test of `genlab serve` under faults: mixed requests from many clients for a while, the
server killed (SIGKILL) at random moments and started again on the same data.

Clients mix generations (followed to the end), OpenAI-style generations, uploads, history pages
and health checks. Counted: requests accepted, refused with 429, answered 5xx, not answered (the
server was down); then, once the last server has drained its queue, every accepted job is checked
in the history: **lost** (accepted, never finished with its images: must be 0) and **duplicated**
(a job with more images than it asked for, or an image twice: must be 0).

    .venv/bin/python benchmarks/soak.py --minutes 10 --clients 20
    .venv/bin/python benchmarks/soak.py --minutes 0.5 --clients 4   # a short run
"""

from __future__ import annotations

import argparse
import datetime
import io
import json
import os
import random
import sqlite3
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

import httpx
from PIL import Image

from genlab.serve.launch import LocalServer, tiny_text2image_checkpoint


class Fleet:
    """The current server (it changes at every restart), shared by the clients."""

    def __init__(self, home: Path, model: str, extra: list[str]):
        self.home, self.model, self.extra = home, model, extra
        self.lock = threading.Lock()
        self.server: LocalServer | None = None
        self.url = ""
        self.kills = 0

    def start(self) -> None:
        server = LocalServer(self.home, models={"soak": self.model}, extra_args=self.extra)
        server.start()
        with self.lock:
            self.server, self.url = server, server.url

    def kill_and_restart(self) -> None:
        with self.lock:
            server, self.url = self.server, ""
        server.kill()
        self.kills += 1
        self.start()

    def stop(self) -> None:
        if self.server is not None:
            self.server.stop()


def png_bytes(seed: int) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (24, 24), (seed % 256, 80, 160)).save(buf, format="PNG")
    return buf.getvalue()


class Client(threading.Thread):
    """One user sending a random mix of requests until `deadline`."""

    def __init__(self, index: int, fleet: Fleet, deadline: float, steps: int, log: list):
        super().__init__(daemon=True)
        self.index, self.fleet, self.deadline = index, fleet, deadline
        self.steps, self.log = steps, log
        self.rng = random.Random(index)

    def run(self) -> None:
        n = 0
        while time.monotonic() < self.deadline:
            url = self.fleet.url
            if not url:
                time.sleep(0.2)
                continue
            n += 1
            kind = self.rng.choices(
                ["generate", "openai", "upload", "history", "health"], [5, 1, 1, 2, 1]
            )[0]
            seed = self.index * 100_000 + n
            try:
                with httpx.Client(base_url=url, timeout=30) as client:
                    entry = self.request(client, kind, seed)
                self.log.append(entry)
                if entry["status"] == 429:  # back off a little, as a polite client would
                    time.sleep(self.rng.uniform(0.2, 1.0))
            except httpx.HTTPError:
                self.log.append({"kind": kind, "status": "unanswered"})
                time.sleep(0.2)

    def request(self, client: httpx.Client, kind: str, seed: int) -> dict:
        if kind == "generate":
            body = {"prompt": "a red circle", "num_inference_steps": self.steps, "seed": seed}
            body["num_images"] = 1 + seed % 2
            r = client.post("/api/generate", json=body)
            out = {"kind": kind, "status": r.status_code}
            if r.status_code == 202:
                out.update(job_id=r.json()["job_id"], num_images=body["num_images"])
            return out
        if kind == "openai":
            r = client.post("/v1/images/generations", json={"prompt": "a blue star"})
            return {"kind": kind, "status": r.status_code}
        if kind == "upload":
            files = {"file": ("x.png", png_bytes(seed), "image/png")}
            r = client.post("/api/images", files=files)
            return {"kind": kind, "status": r.status_code}
        if kind == "history":
            return {"kind": kind, "status": client.get("/api/history").status_code}
        return {"kind": kind, "status": client.get("/api/health").status_code}


def drain(fleet: Fleet, job_ids: list[str], timeout: float) -> dict[str, dict]:
    """Wait until every accepted job is done or failed on the last server; their final states."""
    deadline = time.monotonic() + timeout
    final: dict[str, dict] = {}
    with httpx.Client(base_url=fleet.url, timeout=30) as client:
        for job_id in job_ids:
            while True:
                job = client.get(f"/api/jobs/{job_id}").json()
                finished = job.get("status") in ("done", "failed", "interrupted")
                if finished or time.monotonic() > deadline:
                    final[job_id] = job
                    break
                time.sleep(0.1)
    return final


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--minutes", type=float, default=10.0, help="how long the clients run")
    p.add_argument("--clients", type=int, default=20, help="concurrent clients")
    p.add_argument(
        "--kill-every", type=float, default=60.0, help="mean seconds between server kills"
    )
    p.add_argument("--steps", type=int, default=2, help="denoising steps per generation")
    p.add_argument("--max-queued", type=int, default=16, help="server queue length")
    p.add_argument("--seed", type=int, default=0, help="seed of the kill times")
    p.add_argument("--json", default=None, help="also write the report to this JSON file")
    args = p.parse_args(argv)
    if not args.minutes > 0 or args.clients < 1 or not args.kill_every > 0:
        p.error("--minutes and --kill-every must be > 0, --clients ≥ 1")

    rng = random.Random(args.seed)
    started = datetime.datetime.now(datetime.UTC)
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory() as tmp:
        model = str(tiny_text2image_checkpoint(Path(tmp) / "tiny.safetensors"))
        extra = ["--max-queued", str(args.max_queued), "--openai-steps", str(args.steps)]
        fleet = Fleet(Path(tmp) / "home", model, extra)
        fleet.start()
        try:
            log: list[dict] = []
            start = time.monotonic()
            deadline = start + 60 * args.minutes
            clients = [Client(i, fleet, deadline, args.steps, log) for i in range(args.clients)]
            for c in clients:
                c.start()
            while (now := time.monotonic()) < deadline:
                pause = rng.expovariate(1 / args.kill_every)
                if now + pause >= deadline:
                    break
                time.sleep(pause)
                fleet.kill_and_restart()
            for c in clients:
                c.join()
            wall = time.monotonic() - start
            accepted = [e for e in log if e.get("job_id")]
            final = drain(fleet, [e["job_id"] for e in accepted], timeout=300)
        finally:
            fleet.stop()
        db = sqlite3.connect(fleet.home / "history.sqlite")
        images_per_run = Counter(r[0] for r in db.execute("SELECT run_id FROM images"))
        paths = [r[0] for r in db.execute("SELECT path FROM images")]
        on_disk = {str(p) for p in (fleet.home / "images").rglob("*") if p.is_file()}
        db.close()

    statuses = Counter(str(e["status"]) for e in log)
    lost = [
        e["job_id"]
        for e in accepted
        if final[e["job_id"]].get("status") != "done"
        or images_per_run[e["job_id"]] < e["num_images"]
    ]
    duplicated = [e["job_id"] for e in accepted if images_per_run[e["job_id"]] > e["num_images"]]
    duplicated += [p for p, n in Counter(paths).items() if n > 1]
    report = {
        "command": " ".join(["benchmarks/soak.py", *(argv if argv is not None else sys.argv[1:])]),
        "started": started.isoformat(timespec="seconds"),
        # the machine's state: a shared CPU's load slows jobs and so raises the 429 count
        "cpus": os.cpu_count(),
        "load_average_before": [round(x, 1) for x in load_before],
        "load_average_after": [round(x, 1) for x in os.getloadavg()],
        "minutes": round(wall / 60, 2),
        "clients": args.clients,
        "server_kills": fleet.kills,
        "requests": len(log),
        "by_kind": dict(Counter(e["kind"] for e in log)),
        "status_codes": dict(statuses),
        "accepted_jobs": len(accepted),
        "refused_429": statuses.get("429", 0),
        "answered_5xx": sum(n for s, n in statuses.items() if s.isdigit() and int(s) >= 500),
        "unanswered": statuses.get("unanswered", 0),
        "lost": len(lost),
        "duplicated": len(duplicated),
        "files_without_record": len(on_disk - set(paths)),
        "records_without_file": len(set(paths) - on_disk),
    }
    print(json.dumps(report, indent=2))
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2))
    ok = not lost and not duplicated and report["answered_5xx"] == 0
    ok = ok and not report["files_without_record"] and not report["records_without_file"]
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
