"""`genlab agent "REQUEST"`: the generation agent on the command line; prints each step as it
happens and ends with the best image, its score and why it stopped (`--json`: the transcript).
"""

from __future__ import annotations

import json
import sys

from tqdm import tqdm

from genlab.agent.session import (
    AgentConfig,
    AgentSession,
    BackendSettings,
    DrawingSettings,
    ModelSettings,
)
from genlab.cli.logs import add_progress_flag, show_progress
from genlab.paths import DEFAULT_IMAGE_MODEL, FAST_IMAGE_MODEL
from genlab.progress import progress_bar

DRAWING_TOOLS = ("generate_image", "edit_image", "generate_video")


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "agent",
        help="let the agent draw a request, refining until every attribute is right",
        description=(
            "Draw REQUEST with the generation agent: it rewrites the request for the model,\n"
            "generates candidates, checks them with the scene parser and revises.\n"
            "Backends: offline (a deterministic planner, no LLM), anthropic, openai\n"
            "(any OpenAI-compatible server via --base-url: Ollama, vLLM, llama.cpp)."
        ),
    )
    p.add_argument("request", help="what to draw, in your own words")
    p.add_argument(
        "--backend",
        default="offline",
        choices=["offline", "anthropic", "openai"],
        help="who plans the tool calls",
    )
    p.add_argument(
        "--model",
        default=None,
        help="LLM model name for the anthropic/openai backends; "
        "unset: $ANTHROPIC_MODEL / $OPENAI_MODEL, else the backend's own choice",
    )
    p.add_argument(
        "--base-url",
        default=None,
        help="LLM server URL; unset: $ANTHROPIC_BASE_URL / $OPENAI_BASE_URL, else the vendor's",
    )
    p.add_argument(
        "--api-key",
        default=None,
        help="LLM API key; unset: $ANTHROPIC_API_KEY / $OPENAI_API_KEY",
    )
    p.add_argument(
        "--image-model",
        default=DEFAULT_IMAGE_MODEL,
        help="text-to-image model that draws: a bundled name or a checkpoint path",
    )
    p.add_argument("--max-rounds", type=int, default=3, help="refinement rounds at most")
    p.add_argument("--candidates", type=int, default=4, help="images per round (offline backend)")
    p.add_argument(
        "--seed", type=int, default=0, help="first seed; later images take the next ones"
    )
    p.add_argument(
        "--steps",
        type=int,
        default=20,
        help="denoising steps of the first round (a distilled model, such as the default, draws "
        "at its own steps and folded guidance)",
    )
    p.add_argument(
        "--fast",
        action="store_true",
        help=f"draw the candidates with {FAST_IMAGE_MODEL} (4 steps, guidance folded in: about "
        "10× faster); edits stay with --image-model",
    )
    p.add_argument(
        "--guidance",
        type=float,
        default=4.0,
        help="guidance scale of the first round (not for a distilled model)",
    )
    p.add_argument(
        "--no-compose",
        dest="compose",
        action="store_false",
        help="offline backend: never compose a scene object by object (only whole-prompt rounds)",
    )
    p.add_argument(
        "--max-images",
        type=int,
        default=32,
        help="offline backend: images made per request at most (bounds the time: about 14 s "
        "for 32 on a 2-core CPU)",
    )
    p.add_argument(
        "--time-budget",
        type=float,
        default=14.0,
        help="offline backend: start no batch of images expected to end later than this many "
        "seconds into the request (0: no limit, --max-images alone bounds it)",
    )
    p.add_argument(
        "--max-steps",
        type=int,
        default=None,
        help="model turns at most; unset: enough for --max-rounds (at least 24)",
    )
    p.add_argument("--max-seconds", type=float, default=300.0, help="wall-time limit of the run")
    p.add_argument(
        "--json", action="store_true", help="print the whole transcript and outcome as JSON"
    )
    add_progress_flag(p)
    p.set_defaults(func=run)


def run(args) -> int:
    config = AgentConfig(
        backend=BackendSettings(args.backend, args.model, args.base_url, args.api_key),
        drawing=DrawingSettings(
            max_rounds=args.max_rounds,
            num_candidates=args.candidates,
            seed=args.seed,
            steps=args.steps,
            guidance=args.guidance,
            compose=args.compose,
            max_images=args.max_images,
            time_budget=args.time_budget or None,
        ),
        models=ModelSettings(args.image_model, fast=args.fast),
        max_steps=args.max_steps,
        max_seconds=args.max_seconds,
    )
    session = AgentSession(args.request, config)
    steps = []
    bar = None  # images (and videos) drawn, of at most --max-images with the offline planner;
    # made at the first drawing, so a request refused before any is one line on stderr
    try:
        for step in session.run():
            steps.append(step)
            drew = step["type"] == "tool_result" and step["name"] in DRAWING_TOOLS
            if drew and not step["is_error"]:
                if bar is None:
                    bar = progress_bar(
                        total=args.max_images if args.backend == "offline" else None,
                        desc="drawing", unit="image", enabled=show_progress(args),
                    )  # fmt: skip
                bar.update(len(step["content"].get("paths", [])))
            if not args.json:
                line = format_step(step)
                if line:
                    tqdm.write(line, file=sys.stdout)  # above the bar, which stays whole
    finally:
        if bar is not None:
            bar.close()
    sys.stdout.flush()
    out = session.outcome
    if args.json:
        print(json.dumps({"outcome": out.to_dict(), "steps": steps}, indent=2, default=str))
    else:
        for path in [out.best_path] if out.best_path else []:
            print(f"image: {path}")
        if out.score is not None:
            verdict = "all requested attributes satisfied" if out.satisfied else "not all satisfied"
            print(f"score: {out.score:.2f} ({verdict})")
        for problem in out.problems:
            print(f"  still wrong: {problem}")
        print(f"stopped: {out.stop_reason}")
        print(f"run: {out.run_id} ({out.seconds:.1f} s; `genlab history show {out.run_id}`)")
    if out.status != "done":
        print(f"genlab: error: nothing was drawn: {out.failure}", file=sys.stderr)
        return 2
    return 0


def format_step(step: dict) -> str:
    """One line per step for people; results are summarised, not dumped."""
    t = f"[{step['elapsed']:6.1f}s]"
    kind = step["type"]
    if kind == "user":
        return f"{t} request: {step['text']}"
    if kind == "assistant":
        return f"{t} agent: {step['text']}" if step["text"] else ""
    if kind == "tool_call":
        args = step["arguments"]
        shown = ", ".join(f"{k}={v!r}" for k, v in args.items()) if isinstance(args, dict) else args
        return f"{t}   -> {step['name']}({shown})"
    if kind == "tool_result":
        c = step["content"]
        if step["is_error"]:
            return f"{t}   <- {step['name']} error: {c.get('error')}"
        if step["name"] == "analyze_image":
            problems = "; ".join(c["problems"]) or "none"
            return f"{t}   <- {c['image_id']}: score {c['score']:.2f}, problems: {problems}"
        if step["name"] == "refine_prompt":
            note = f" ({c['note']})" if c.get("note") else ""
            return f"{t}   <- prompt: {c['prompt']}{note}"
        if "paths" in c:
            return f"{t}   <- " + ", ".join(c["paths"])
        return f"{t}   <- {json.dumps(c, default=str)[:200]}"
    if kind == "error":
        return f"{t} error: {step['message']}"
    return ""
