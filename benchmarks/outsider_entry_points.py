"""The default model, judged strictly on an outsider prompt set through each of genlab's entry
points, as a user reaches them: the command line (`genlab generate "PROMPT"` one process per
prompt, and `genlab generate --from-file`), the Python API (`genlab.load(name)(prompt, seed=s)`,
one call per prompt), REST (`POST /api/generate` on a real `genlab serve` on 127.0.0.1, no
model, steps or guidance given) and the OpenAI-compatible endpoint (`POST /v1/images/generations`
with the official `openai` client, no model or size given; it takes no seed). Every picture is
judged by benchmarks/outsider_judge.py (exactly the objects asked, nothing else).

Usage:
  python benchmarks/outsider_entry_points.py --prompts benchmarks/outsider3_prompts.json \
      --faces python,cli-file,cli,rest,openai --cli-limit 40 --server-limit 60 --out DIR

Prompt i is drawn with seed base + i (--seed; as the judge does); a face limited to N prompts
takes N spread evenly over the categories (the first N/4 of each). Nothing here reads the
prompts with genlab's grammar: the faces get the text as written.
"""

from __future__ import annotations

import argparse
import base64
import importlib.util
import io
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).parent
FACES = ("python", "cli-file", "cli", "rest", "openai")


def _judge_module():
    spec = importlib.util.spec_from_file_location("outsider_judge", HERE / "outsider_judge.py")
    judge = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(judge)
    return judge


J = _judge_module()


def subset(items: list[dict], limit: int | None) -> list[int]:
    """Indices of `limit` prompts, the first limit/4 of each category (all when None)."""
    if limit is None or limit >= len(items):
        return list(range(len(items)))
    per = max(1, limit // len(J.CATEGORIES))
    out = []
    for c in J.CATEGORIES:
        out += [i for i, it in enumerate(items) if it["category"] == c][:per]
    return sorted(out)


def judged(item: dict, index: int, image, face: str, seed, extra=None) -> dict:
    from genlab.world.parser import parse_image

    parsed = parse_image(image.convert("RGB"))
    v = J.judge(item, parsed.objects, parsed.background)
    return {
        "index": index, "prompt": item["prompt"], "category": item["category"], "face": face,
        "seed": seed, "passed": v.passed, "reason": v.reason, "detail": v.detail,
        "detected": J.describe(parsed.objects, parsed.background), **(extra or {}),
    }  # fmt: skip


def refused(item, index, face, seed, why) -> dict:
    return {"index": index, "prompt": item["prompt"], "category": item["category"], "face": face,
            "seed": seed, "passed": False, "reason": "refused", "detail": why, "detected": ""}  # fmt: skip


# ---------------------------------------------------------------------------------- the faces


def face_python(model, items, idx, base, log) -> list[dict]:
    import genlab
    from genlab.errors import GenlabError

    pipe = genlab.load(model)
    rows = []
    for n, i in enumerate(idx):
        try:
            result = pipe(items[i]["prompt"], seed=base + i)
        except GenlabError as e:
            rows.append(refused(items[i], i, "python", base + i, str(e)))
            continue
        meta = result.metadata[0]
        rows.append(judged(items[i], i, result.images[0], "python", base + i,
                           {"steps": meta["num_inference_steps"], "sampler": meta["sampler"],
                            "model": meta["model"]}))  # fmt: skip
        if (n + 1) % 50 == 0:
            log(f"  python: {n + 1}/{len(idx)}")
    return rows


def _genlab(args: list[str], env) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "genlab", *args], capture_output=True,
                          text=True, env=env)  # fmt: skip


def face_cli(model, items, idx, base, log, env, work: Path) -> list[dict]:
    """One `genlab generate "PROMPT" --seed S --out FILE` process per prompt (no --model: the
    default); `model` is only checked against what the PNG says drew it."""
    from PIL import Image

    from genlab.io import read_params

    rows = []
    for n, i in enumerate(idx):
        out = work / f"cli-{i:03d}.png"
        p = _genlab(["generate", items[i]["prompt"], "--seed", str(base + i), "--out", str(out),
                     "--no-history", "--no-progress"], env)  # fmt: skip
        if p.returncode != 0:
            rows.append(refused(items[i], i, "cli", base + i, p.stderr.strip()[-300:]))
            continue
        params = read_params(out)
        rows.append(judged(items[i], i, Image.open(out), "cli", base + i,
                           {"steps": params["num_inference_steps"], "sampler": params["sampler"],
                            "model": params["model"]}))  # fmt: skip
        if (n + 1) % 10 == 0:
            log(f"  cli: {n + 1}/{len(idx)}")
    return rows


def face_cli_file(model, items, idx, base, log, env, work: Path) -> list[dict]:
    """`genlab generate --from-file PROMPTS --seed S --out DIR` (line k drawn with seed S + k).

    A prompt the model refuses (e.g. read as five objects) stops a whole --from-file batch with
    nothing written, as `genlab generate "PROMPT"` exits 2 for it alone: those prompts are found
    by a one-step call of the pipeline and count as failures; every unbroken run of the others is
    one --from-file call starting at its first prompt's seed, so prompt i keeps seed base + i."""
    from PIL import Image

    import genlab
    from genlab.errors import GenlabError
    from genlab.io import read_params

    pipe = genlab.load(model)
    rows, kept = [], []
    for i in idx:
        try:
            pipe(items[i]["prompt"], seed=base + i, num_inference_steps=1)  # refused or not
            kept.append(i)
        except GenlabError as e:
            rows.append(refused(items[i], i, "cli-file", base + i, str(e)))
    prompts = work / "prompts.txt"
    for run in J.consecutive_runs(kept):
        prompts.write_text("".join(items[i]["prompt"] + "\n" for i in run))
        folder = work / "from-file" / f"{run[0]:03d}"
        p = _genlab(["generate", "--from-file", str(prompts), "--seed", str(base + run[0]),
                     "--out", str(folder), "--no-history", "--no-progress"], env)  # fmt: skip
        if p.returncode != 0:
            raise SystemExit(f"genlab generate --from-file failed: {p.stderr[-2000:]}")
        for line in (folder / "index.jsonl").read_text().splitlines():
            entry = json.loads(line)
            i = run[entry["index"]]
            assert entry["seed"] == base + i, (entry["seed"], base + i)
            path = folder / entry["files"][0]
            params = read_params(path)
            rows.append(judged(items[i], i, Image.open(path), "cli-file", entry["seed"],
                               {"steps": params["num_inference_steps"], "sampler": params["sampler"],
                                "model": params["model"]}))  # fmt: skip
        log(f"  cli-file: {len(rows)}/{len(idx)}")
    return sorted(rows, key=lambda r: r["index"])


def face_server(faces, items, idx, base, log, server) -> dict[str, list[dict]]:
    """REST and OpenAI requests to a running server, one at a time, without a model."""
    import httpx
    from PIL import Image

    out: dict[str, list[dict]] = {}
    if "rest" in faces:
        rows = []
        with httpx.Client(base_url=server.url, timeout=120) as http:
            for i in idx:
                r = http.post(
                    "/api/generate", json={"prompt": items[i]["prompt"], "seed": base + i}
                )
                if r.status_code != 202:
                    rows.append(
                        refused(items[i], i, "rest", base + i, f"{r.status_code} {r.text[:300]}")
                    )
                    continue
                job_id = r.json()["job_id"]
                while True:
                    job = http.get(f"/api/jobs/{job_id}").json()
                    if job["status"] in ("done", "failed", "cancelled"):
                        break
                    time.sleep(0.05)
                if job["status"] != "done":
                    rows.append(refused(items[i], i, "rest", base + i, str(job.get("error"))))
                    continue
                result = job["results"][0]
                raw = http.get(result["url"]).content
                params = result["params"]
                rows.append(judged(items[i], i, Image.open(io.BytesIO(raw)), "rest", base + i,
                                   {"steps": params["num_inference_steps"],
                                    "sampler": params["sampler"], "model": params["model"]}))  # fmt: skip
        out["rest"] = rows
        log(f"  rest: {len(rows)} drawn")
    if "openai" in faces:
        import openai

        client = openai.OpenAI(base_url=server.url + "/v1", api_key="unused", max_retries=0)
        rows = []
        for i in idx:
            try:
                response = client.images.generate(
                    prompt=items[i]["prompt"], response_format="b64_json"
                )
            except openai.APIStatusError as e:
                rows.append(refused(items[i], i, "openai", None, f"{e.status_code} {e.message}"))
                continue
            raw = base64.b64decode(response.data[0].b64_json)
            with tempfile.NamedTemporaryFile(suffix=".png") as f:
                f.write(raw)
                f.flush()
                from genlab.io import read_params

                params = read_params(f.name)
            image = Image.open(io.BytesIO(raw))
            if image.size != (params["width"], params["height"]):
                # OpenAI's default size: drawn at the model's own size, scaled up by a whole
                # factor (nearest neighbour), so scaling back with nearest is exact
                image = image.resize((params["width"], params["height"]), Image.NEAREST)
            rows.append(judged(items[i], i, image, "openai", params["seed"],
                               {"steps": params["num_inference_steps"],
                                "sampler": params["sampler"], "model": params["model"]}))  # fmt: skip
        out["openai"] = rows
        log(f"  openai: {len(rows)} drawn")
    return out


# ---------------------------------------------------------------------------------- main


def table(face: str, rows: list[dict], log) -> dict:
    summary = J.summarize(rows)
    models = sorted(
        {
            f"{r.get('model')} {r.get('sampler')} {r.get('steps')} steps"
            for r in rows
            if "model" in r
        }
    )
    log(f"\n{face}: {len(rows)} prompts, drawn by {', '.join(models)}")
    for name in ("overall", *J.CATEGORIES):
        s = summary[name]
        if s["n"]:
            log(
                f"  {name:<12} {s['passed']:>3}/{s['n']:<3} {s['accuracy']:.3f} [{s['low']:.3f}, {s['high']:.3f}]"
            )
    fails = [r for r in rows if not r["passed"]]
    for r in fails[:12]:
        log(f"    FAIL #{r['index']} {r['reason']}: {r['prompt']} | {r['detail']}")
    return summary


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--prompts", default=str(HERE / "outsider3_prompts.json"))
    ap.add_argument("--faces", default="python,cli-file", help="of " + ", ".join(FACES))
    ap.add_argument("--seed", type=int, default=0, help="prompt i is drawn with seed + i")
    ap.add_argument("--limit", type=int, default=None, help="prompts for python and cli-file")
    ap.add_argument("--cli-limit", type=int, default=40, help="prompts for one process each")
    ap.add_argument("--server-limit", type=int, default=60, help="prompts for rest and openai")
    ap.add_argument(
        "--out",
        default=None,
        help="default: benchmarks/results/<set>/entry-points, <set> named by --prompts",
    )
    args = ap.parse_args(argv)
    faces = args.faces.split(",")
    for f in faces:
        if f not in FACES:
            raise SystemExit(f"--faces: {f!r} is not one of {', '.join(FACES)}")
    from genlab.paths import DEFAULT_IMAGE_MODEL, WEIGHTS_DIR

    items = J.load_items(args.prompts)
    set_name = Path(args.prompts).name.removesuffix("_prompts.json")
    out = Path(args.out or f"benchmarks/results/{set_name}/entry-points")
    out.mkdir(parents=True, exist_ok=True)
    log = print
    env = dict(os.environ, OMP_NUM_THREADS=os.environ.get("OMP_NUM_THREADS", "1"))
    report = {"model": DEFAULT_IMAGE_MODEL, "prompts": args.prompts, "seed": args.seed, "faces": {}}
    path = out / f"{DEFAULT_IMAGE_MODEL}-seed{args.seed}.json"
    if path.exists():  # faces measured before stay; the ones run now replace theirs
        report["faces"] = json.loads(path.read_text()).get("faces", {})

    def save(report):
        path.write_text(json.dumps(report, indent=1) + "\n")
        log(f"wrote {path}")

    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        env["GENLAB_HOME"] = str(work / "home")
        for face in faces:
            start = time.time()
            if face == "python":
                rows = face_python(
                    DEFAULT_IMAGE_MODEL, items, subset(items, args.limit), args.seed, log
                )
            elif face == "cli-file":
                rows = face_cli_file(
                    DEFAULT_IMAGE_MODEL, items, subset(items, args.limit), args.seed, log, env, work
                )
            elif face == "cli":
                rows = face_cli(
                    DEFAULT_IMAGE_MODEL,
                    items,
                    subset(items, args.cli_limit),
                    args.seed,
                    log,
                    env,
                    work,
                )
            else:
                continue
            report["faces"][face] = {"seconds": round(time.time() - start, 1),
                                     "summary": table(face, rows, log), "results": rows}  # fmt: skip
            save(report)
        server_faces = [f for f in faces if f in ("rest", "openai")]
        if server_faces:
            from genlab.serve.launch import LocalServer

            # the bundled default under its own name, so the server's default is it
            models = {DEFAULT_IMAGE_MODEL: str(WEIGHTS_DIR / f"{DEFAULT_IMAGE_MODEL}.safetensors")}
            start = time.time()
            with LocalServer(work / "server", models, startup_timeout=300) as server:
                got = face_server(server_faces, items, subset(items, args.server_limit), args.seed,
                                  log, server)  # fmt: skip
            for f, rows in got.items():
                report["faces"][f] = {"seconds": round(time.time() - start, 1),
                                      "summary": table(f, rows, log), "results": rows}  # fmt: skip
            save(report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
