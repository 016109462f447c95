"""How much does the offline agent add over one-shot generation? Compositional accuracy on requests
written as a person would write them, judged against the request the writer meant.

Each request is made from a ground-truth SceneRequest (objects, counts, positions, relations,
background) phrased with synonyms and everyday frames ("Can you draw ...", "I'd like ...") that
the world's captioner never uses. A request counts as right when the scene parser finds every
requested attribute in the image (genlab.world.match(...).satisfied). Compared:

  single-shot (raw)       pipe(request text as typed, seed)
  single-shot (refined)   pipe(refine_prompt's canonical prompt, seed)
  agent                   the offline agent's best image over its rounds

    .venv/bin/python benchmarks/agent_accuracy.py                   # the default model, ≥ 200 requests
    .venv/bin/python benchmarks/agent_accuracy.py --model runs/x/model.safetensors --n 20
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from collections import defaultdict

import numpy as np
import torch

from genlab.paths import DEFAULT_IMAGE_MODEL
from genlab.world.grammar import ObjectRequest, RelationRequest, SceneRequest, realize
from genlab.world.lexicon import (
    BACKGROUND_WORDS,
    COLOR_WORDS,
    POSITION_WORDS,
    RELATION_WORDS,
    SHAPE_WORDS,
    SIZE_WORDS,
)

FRAMES = [
    "{x}",
    "draw {x}",
    "Can you draw {x}?",
    "I'd like a picture of {x}.",
    "please make {x}",
    "Show me {x}!",
    "generate an image with {x}",
    "{x}, please",
    "I want {x}",
    "make me a drawing of {x}",
]
NUMBERS = {1: "one", 2: "two", 3: "three", 4: "four"}
CATEGORIES = ("single", "attributes", "count", "position", "relation", "background", "mixed")


def _pick(rng, options):
    return options[int(rng.integers(len(options)))]


def _noun_phrase(rng, o: ObjectRequest) -> str:
    """'a big crimson ball', 'two emerald boxes', 'something violet' — synonyms chosen at random."""
    words = []
    if o.size:
        words.append(_pick(rng, SIZE_WORDS[o.size]))
    if o.color:
        words.append(_pick(rng, COLOR_WORDS[o.color]))
    if o.shape:
        singular, plural = _pick(rng, SHAPE_WORDS[o.shape])
        words.append(singular if o.count == 1 else plural)
    else:
        words.append("shape" if o.count == 1 else "shapes")
    if o.count == 1:
        article = _pick(rng, ["a", "one"]) if words[0][0] not in "aeiou" else "an"
    else:
        article = NUMBERS[o.count]
    return f"{article} {' '.join(words)}"


def _object(rng, *, size=0.4, color=1.0, shape=1.0, count=1) -> ObjectRequest:
    return ObjectRequest(
        shape=_pick(rng, list(SHAPE_WORDS)) if rng.random() < shape else None,
        color=_pick(rng, list(COLOR_WORDS)) if rng.random() < color else None,
        size=_pick(rng, list(SIZE_WORDS)) if rng.random() < size else None,
        count=count,
    )


def make_request(rng, category: str) -> tuple[str, SceneRequest]:
    """(text a person might type, the SceneRequest they mean)."""
    if category == "single":
        o = _object(rng, size=0.0)
        req, x = SceneRequest((o,)), _noun_phrase(rng, o)
    elif category == "attributes":
        o = _object(rng, size=1.0)
        req, x = SceneRequest((o,)), _noun_phrase(rng, o)
    elif category == "count":
        a = _object(rng, size=0.0, count=int(rng.integers(2, 4)))
        objs = [a]
        if a.count < 3 and rng.random() < 0.5:
            objs.append(_object(rng, size=0.0))
        req = SceneRequest(tuple(objs))
        x = " and ".join(_noun_phrase(rng, o) for o in objs)
    elif category == "position":
        cell = _pick(rng, [c for c in POSITION_WORDS if None not in c])
        o = _object(rng, size=0.3)
        req = SceneRequest((ObjectRequest(o.shape, o.color, o.size, 1, *cell),))
        where = _pick(rng, POSITION_WORDS[cell])
        x = f"{_noun_phrase(rng, o)} {_pick(rng, ['in the', 'at the'])} {where}"
    elif category == "relation":
        a, b = _object(rng, size=0.2), _object(rng, size=0.2)
        rel = _pick(rng, list(RELATION_WORDS))
        req = SceneRequest((a, b), (RelationRequest(0, rel, 1),))
        x = f"{_noun_phrase(rng, a)} {_pick(rng, RELATION_WORDS[rel])} {_noun_phrase(rng, b)}"
    elif category == "background":
        o = _object(rng, size=0.3)
        bg = _pick(rng, list(BACKGROUND_WORDS))
        req = SceneRequest((o,), (), bg)
        backdrop = _pick(rng, ["background", "backdrop"])
        x = f"{_noun_phrase(rng, o)} on a {_pick(rng, BACKGROUND_WORDS[bg])} {backdrop}"
    else:  # mixed: a relation, a count and a background together
        a = _object(rng, size=0.0, count=int(rng.integers(1, 3)))
        b = _object(rng, size=0.0)
        rel = _pick(rng, list(RELATION_WORDS))
        bg = _pick(rng, list(BACKGROUND_WORDS))
        req = SceneRequest((a, b), (RelationRequest(0, rel, 1),), bg)
        x = (
            f"{_noun_phrase(rng, a)} {_pick(rng, RELATION_WORDS[rel])} {_noun_phrase(rng, b)}, "
            f"{_pick(rng, ['with', 'on'])} a {_pick(rng, BACKGROUND_WORDS[bg])} background"
        )
    return _pick(rng, FRAMES).format(x=x), req


def make_requests(n: int, seed: int = 0) -> list[tuple[str, str, SceneRequest]]:
    """n (category, text, request) triples, categories in turn; impossible requests are redrawn."""
    rng = np.random.default_rng(seed)
    out = []
    while len(out) < n:
        category = CATEGORIES[len(out) % len(CATEGORIES)]
        text, req = make_request(rng, category)
        try:
            realize(req, 0, exclude_held_out=False)
        except ValueError:
            continue  # e.g. "a circle above a circle" with both groups alike: redraw
        out.append((category, text, req))
    return out


def suite_requests(per_category: int, seed: int) -> list[tuple[str, str, SceneRequest]]:
    """The compositional suite's paraphrased split (what `genlab eval` and
    benchmarks/paraphrase.py ask for): each paraphrase with the request of the prompt it was
    written from, so a misreading of the paraphrase is not judged by the same misreading."""
    from genlab.eval import compositional as comp
    from genlab.world.grammar import parse_prompt

    picked = comp.suite(per_category, seed=seed, splits=("paraphrased",))
    return [(p.category, p.prompt, parse_prompt(p.meant).request) for p in picked]


def judge(request: SceneRequest, image) -> bool:
    from genlab.world.match import match
    from genlab.world.parser import parse_image

    return bool(match(request, parse_image(image)).satisfied)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument(
        "--model", default=DEFAULT_IMAGE_MODEL, help="image model: bundled name or checkpoint"
    )
    p.add_argument("--n", type=int, default=210, help="number of requests (≥ 200 for the report)")
    p.add_argument("--seed", type=int, default=0, help="seed of the request set and generation")
    p.add_argument("--max-rounds", type=int, default=3, help="agent refinement rounds at most")
    p.add_argument("--candidates", type=int, default=4, help="agent candidates per round")
    p.add_argument("--steps", type=int, default=20, help="denoising steps (first round)")
    p.add_argument("--guidance", type=float, default=4.0, help="guidance scale (first round)")
    p.add_argument("--max-images", type=int, default=32, help="agent images per request at most")
    p.add_argument(
        "--time-budget", type=float, default=14.0, help="agent seconds per request (0: no limit)"
    )
    p.add_argument(
        "--no-compose", dest="compose", action="store_false", help="agent: whole-prompt rounds only"
    )
    p.add_argument(
        "--paraphrased",
        type=int,
        default=0,
        metavar="N",
        help="instead of this script's requests: N per category of the compositional suite's "
        "paraphrased split (sampled with --seed)",
    )
    p.add_argument("--json", default=None, help="also write the full results to this JSON file")
    p.add_argument("--print-requests", action="store_true", help="print the requests and exit")
    args = p.parse_args(argv)

    if args.paraphrased:
        requests = suite_requests(args.paraphrased, args.seed)
    else:
        requests = make_requests(args.n, args.seed)
    if args.print_requests:
        for category, text, _ in requests:
            print(f"{category:11s} {text}")
        return 0

    from genlab.agent.tools import load_pipeline
    from genlab.history import HistoryStore

    pipe = load_pipeline(args.model)
    with tempfile.TemporaryDirectory(prefix="genlab-agent-bench-") as home:
        store = HistoryStore(os.path.join(home, "history.sqlite"))  # not the user's history
        rows = run_requests(requests, pipe, store, args)
    report(rows, args)
    return 0


def run_requests(requests, pipe, store, args) -> list[dict]:
    from tqdm import tqdm

    from genlab.agent import run_agent
    from genlab.agent.tools import parse_request
    from genlab.errors import GenlabError
    from genlab.io import load_image

    rows = []
    for category, text, req in tqdm(requests, desc="requests", file=sys.stderr):
        gen = dict(num_inference_steps=args.steps, guidance_scale=args.guidance, seed=args.seed)
        raw_ok = judge(req, pipe(text, **gen).images[0])
        try:
            refined = parse_request(text).canonical
            refined_ok = judge(req, pipe(refined, **gen).images[0])
        except GenlabError:
            refined, refined_ok = None, False
        t0 = time.perf_counter()
        out = run_agent(
            text,
            model=args.model,
            store=store,
            max_rounds=args.max_rounds,
            num_candidates=args.candidates,
            seed=args.seed,
            steps=args.steps,
            guidance=args.guidance,
            max_images=args.max_images,
            time_budget=args.time_budget or None,
            compose=args.compose,
        )
        seconds = time.perf_counter() - t0
        agent_ok = out.best_path is not None and judge(req, load_image(out.best_path))
        rows.append(
            {
                "category": category,
                "request": text,
                "refined": refined,
                "single_shot_raw": raw_ok,
                "single_shot_refined": refined_ok,
                "agent": agent_ok,
                "agent_self_score": out.score,
                "rounds": out.rounds,
                "seconds": round(seconds, 2),
                "stop_reason": out.stop_reason,
            }
        )
    return rows


def report(rows: list[dict], args) -> None:
    def acc(key, subset=None):
        chosen = [r for r in rows if subset is None or r["category"] == subset]
        return sum(r[key] for r in chosen) / max(1, len(chosen))

    by_cat = defaultdict(dict)
    print(
        f"model {args.model}; {len(rows)} requests; {args.max_rounds} rounds × {args.candidates}; "
        f"at most {args.max_images} images; composing {'on' if args.compose else 'off'}"
    )
    print(f"{'category':12s} {'n':>4s} {'raw':>6s} {'refined':>8s} {'agent':>6s}")
    for c in (*dict.fromkeys(r["category"] for r in rows), None):
        n = sum(1 for r in rows if c is None or r["category"] == c)
        if n == 0:
            continue
        vals = [acc(k, c) for k in ("single_shot_raw", "single_shot_refined", "agent")]
        by_cat[c or "overall"] = dict(
            zip(("single_shot_raw", "single_shot_refined", "agent"), vals)
        )
        print(f"{c or 'overall':12s} {n:4d} {vals[0]:6.3f} {vals[1]:8.3f} {vals[2]:6.3f}")
    rounds = [r["rounds"] for r in rows if r["rounds"] is not None]
    secs = [r["seconds"] for r in rows]
    summary = {
        "model": args.model,
        "n": len(rows),
        "max_rounds": args.max_rounds,
        "candidates": args.candidates,
        "max_images": args.max_images,
        "time_budget": args.time_budget,
        "compose": args.compose,
        "torch_threads": torch.get_num_threads(),
        "accuracy": dict(by_cat),
        "mean_rounds": statistics.mean(rounds) if rounds else None,
        "mean_seconds": statistics.mean(secs),
        "p90_seconds": float(np.percentile(secs, 90)),
        "max_seconds": max(secs),
    }
    print(
        f"mean rounds {summary['mean_rounds']:.2f}; seconds per request: mean "
        f"{summary['mean_seconds']:.2f}, p90 {summary['p90_seconds']:.2f}, max {summary['max_seconds']:.2f}"
    )
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"summary": summary, "rows": rows}, f, indent=2)


if __name__ == "__main__":
    sys.exit(main())
