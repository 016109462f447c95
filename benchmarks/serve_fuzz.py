"""Fuzz `genlab serve` from its own OpenAPI schema (schemathesis + hypothesis): valid and invalid
requests for every operation, against a real local server. Passes when no case got a 5xx.

    .venv/bin/python benchmarks/serve_fuzz.py --examples 60
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

from genlab.serve.launch import LocalServer, tiny_text2image_checkpoint

TOKEN = "fuzz-token"


def fuzz_operation(
    operation, base_url, examples, mode, tally: Counter, failures: list, samples: dict
):
    from hypothesis import HealthCheck, given, settings
    from hypothesis.errors import Unsatisfiable

    strategy = operation.as_strategy(generation_mode=mode)

    @settings(
        max_examples=examples,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
        derandomize=True,
    )
    @given(case=strategy)
    def run(case):
        response = case.call(
            base_url=base_url, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=120
        )
        tally[response.status_code] += 1
        tally["cases"] += 1
        samples.setdefault((operation.label, response.status_code), response.text[:200])
        if response.status_code >= 500:
            failures.append(
                {
                    "operation": operation.label,
                    "status": response.status_code,
                    "body": response.text[:300],
                    "case": case.as_curl_command(),
                }
            )

    try:
        run()
    except Unsatisfiable:  # nothing to make invalid (e.g. GET /api/health has no parameters)
        tally["unsatisfiable_modes"] += 1


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--examples", type=int, default=60, help="cases per operation and mode")
    p.add_argument("--model", default=None, help="checkpoint path (default: a tiny one, built)")
    p.add_argument("--json", default=None, help="also write the report to this JSON file")
    args = p.parse_args(argv)

    import schemathesis
    from schemathesis import GenerationMode

    with tempfile.TemporaryDirectory() as tmp:
        model = args.model or str(tiny_text2image_checkpoint(Path(tmp) / "tiny.safetensors"))
        extra = ["--max-queued", "4", "--agent-max-seconds", "3", "--max-body-mb", "2"]
        with LocalServer(
            Path(tmp) / "home", models={"fuzz": model}, token=TOKEN, extra_args=extra
        ) as server:
            schema = schemathesis.openapi.from_url(
                server.url + "/openapi.json", headers={"Authorization": f"Bearer {TOKEN}"}
            )
            per_operation: dict[str, dict] = {}
            failures: list[dict] = []
            samples: dict = {}  # (operation, status) -> the first response body seen
            start = time.perf_counter()
            for result in schema.get_all_operations():
                operation = result.ok()
                tally: Counter = Counter()
                for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
                    fuzz_operation(
                        operation, server.url, args.examples, mode, tally, failures, samples
                    )
                per_operation[operation.label] = dict(tally)
                print(f"{operation.label}: {dict(tally)}", flush=True)
            wall = time.perf_counter() - start
            alive = server.proc.poll() is None

    total = sum(t.get("cases", 0) for t in per_operation.values())
    codes: Counter = Counter()
    for t in per_operation.values():
        codes.update({k: v for k, v in t.items() if isinstance(k, int)})
    report = {
        "cases": total,
        "operations": len(per_operation),
        "status_codes": {str(k): v for k, v in sorted(codes.items())},
        "server_errors_5xx": len(failures),
        "server_alive_after": alive,
        "wall_s": round(wall, 1),
        "failures": failures[:20],
        "sample_responses": {f"{op} -> {code}": body for (op, code), body in samples.items()},
    }
    print(json.dumps(report, indent=2))
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2))
    return 0 if not failures and alive else 1


if __name__ == "__main__":
    sys.exit(main())
