"""Load test of `genlab serve`: many concurrent clients against a real local server.

Each client sends generation requests one after another and follows each accepted job to the end.
Reported: throughput, p50/p95 latency (submit -> done), how many requests got 429, and a check
that every accepted job finished and appears in history exactly once (as a run and its images).

    .venv/bin/python benchmarks/serve_load.py --requests 200 --clients 20
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

import httpx

from genlab.serve.launch import LocalServer, tiny_text2image_checkpoint


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    k = (len(ordered) - 1) * q
    lo, hi = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


class LoadClient(threading.Thread):
    """One simulated user: submit, follow the job to the end, repeat until the quota is used."""

    def __init__(self, url: str, quota: int, steps: int, index: int, results: list):
        super().__init__(daemon=True)
        self.url, self.quota, self.steps, self.index = url, quota, steps, index
        self.results = results

    def run(self) -> None:
        with httpx.Client(base_url=self.url, timeout=120) as client:
            for i in range(self.quota):
                body = {
                    "prompt": f"a red circle above a blue square {self.index}-{i}",
                    "num_inference_steps": self.steps,
                    "seed": self.index * 1000 + i,
                }
                start = time.perf_counter()
                r = client.post("/api/generate", json=body)
                submitted = time.perf_counter() - start
                record = {"status_code": r.status_code, "submit_s": submitted}
                if r.status_code == 202:
                    job_id = r.json()["job_id"]
                    record["job_id"] = job_id
                    while True:
                        job = client.get(f"/api/jobs/{job_id}").json()
                        if job["status"] in ("done", "failed"):
                            break
                        time.sleep(0.1)
                    record["latency_s"] = time.perf_counter() - start
                    record["job_status"] = job["status"]
                    record["images"] = [res["image_id"] for res in job["results"]]
                elif r.status_code == 429:
                    record["retry_after"] = int(r.headers.get("retry-after", "0"))
                    time.sleep(min(record["retry_after"], 2) * 0.5)
                self.results.append(record)


def all_pages(client: httpx.Client, view: str) -> list[dict]:
    items, page = [], 1
    while True:
        listing = client.get("/api/history", params={"view": view, "page": page, "per_page": 200})
        listing = listing.json()
        items += listing["items"]
        if page >= listing["pages"]:
            return items
        page += 1


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--requests", type=int, default=200, help="requests in all")
    p.add_argument("--clients", type=int, default=20, help="concurrent clients")
    p.add_argument("--steps", type=int, default=4, help="denoising steps per request")
    p.add_argument("--workers", type=int, default=2, help="server worker threads")
    p.add_argument("--max-queued", type=int, default=12, help="server queue length")
    p.add_argument("--model", default=None, help="checkpoint path (default: a tiny one, built)")
    p.add_argument("--json", default=None, help="also write the report to this JSON file")
    args = p.parse_args(argv)

    with tempfile.TemporaryDirectory() as tmp:
        model = args.model or str(tiny_text2image_checkpoint(Path(tmp) / "tiny.safetensors"))
        extra = ["--workers", str(args.workers), "--max-queued", str(args.max_queued)]
        with LocalServer(Path(tmp) / "home", models={"bench": model}, extra_args=extra) as server:
            results: list[dict] = []
            quotas = [args.requests // args.clients] * args.clients
            for i in range(args.requests % args.clients):
                quotas[i] += 1
            clients = [
                LoadClient(server.url, q, args.steps, i, results) for i, q in enumerate(quotas)
            ]
            start = time.perf_counter()
            for c in clients:
                c.start()
            for c in clients:
                c.join()
            wall = time.perf_counter() - start
            with httpx.Client(base_url=server.url, timeout=60) as client:
                runs = all_pages(client, "runs")
                images = all_pages(client, "images")

    codes = Counter(r["status_code"] for r in results)
    accepted = [r for r in results if r["status_code"] == 202]
    done = [r for r in accepted if r.get("job_status") == "done"]
    latencies = [r["latency_s"] for r in done]
    run_counts = Counter(run["id"] for run in runs)
    image_counts = Counter(im["image_id"] for im in images)
    missing_runs = [r["job_id"] for r in accepted if run_counts[r["job_id"]] != 1]
    missing_images = [i for r in done for i in r["images"] if image_counts[i] != 1]
    report = {
        "requests": len(results),
        "clients": args.clients,
        "status_codes": dict(codes),
        "accepted": len(accepted),
        "refused_429": codes.get(429, 0),
        "finished_done": len(done),
        "wall_s": round(wall, 2),
        "throughput_jobs_per_s": round(len(done) / wall, 2),
        "requests_per_s": round(len(results) / wall, 2),
        "latency_p50_s": round(percentile(latencies, 0.5), 3),
        "latency_p95_s": round(percentile(latencies, 0.95), 3),
        "submit_p50_ms": round(1000 * statistics.median(r["submit_s"] for r in results), 1),
        "every_accepted_job_done": len(done) == len(accepted),
        "each_job_in_history_once": not missing_runs,
        "each_image_in_history_once": not missing_images,
        "history_runs": len(runs),
    }
    print(json.dumps(report, indent=2))
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2))
    ok = report["every_accepted_job_done"] and not missing_runs and not missing_images
    ok = ok and len(runs) == len(accepted) and set(codes) <= {202, 429}
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
