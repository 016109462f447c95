"""One agent run from request to outcome: picks the backend, builds the tools, runs the loop and
records everything (request, transcript, images, scores, models) in the history store.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from genlab.agent.anthropic_backend import AnthropicBackend
from genlab.agent.loop import AgentLoop
from genlab.agent.offline import OfflinePlanner
from genlab.agent.openai_backend import OpenAIBackend
from genlab.agent.tools import ToolContext, make_toolbox
from genlab.errors import InvalidArgument, check_choice, check_range
from genlab.history import HistoryStore
from genlab.paths import DEFAULT_IMAGE_MODEL, FAST_IMAGE_MODEL
from genlab.pipelines.base import MAX_GUIDANCE, MAX_SEED, check_prompt

BACKENDS = ("offline", "anthropic", "openai")

SYSTEM_PROMPT = """You are genlab's image generation agent. You draw what the user asks with tools.
Work like this: 1) refine_prompt on the user's words (it resolves synonyms and reports words the
model cannot draw); 2) generate_image with the refined prompt, several candidates (n=2..4);
3) analyze_image on each candidate: it lists what is in the image and which requested attributes
fail; 4) if none is fully right, revise: new seeds, a negative_prompt naming wrong colors, more
steps or guidance, or edit_image with an instruction such as 'make the circle green' to repair one
object. Stop when an image satisfies every attribute or after {max_rounds} rounds. Finish with a
short answer naming the best image id, its score, and anything that could not be honoured."""


def make_backend(
    name: str,
    *,
    llm_model: str | None = None,
    base_url: str | None = None,
    api_key: str | None = None,
    **planner_options,
):
    """The backend called `name`: offline (planner options apply), anthropic or openai."""
    check_choice("backend", name, BACKENDS)
    if name == "offline":
        return OfflinePlanner(**planner_options)
    if name == "anthropic":
        return AnthropicBackend(llm_model, api_key=api_key, base_url=base_url)

    return OpenAIBackend(llm_model, api_key=api_key, base_url=base_url)


@dataclass
class AgentOutcome:
    """How a run ended: the best image over all rounds, its score, and why it stopped."""

    run_id: str
    status: str  # done (an image was made) or failed (nothing could be drawn)
    stop_reason: str
    final_text: str
    best_image_id: str | None = None
    best_path: str | None = None
    score: float | None = None
    satisfied: bool = False
    problems: list[str] = field(default_factory=list)
    image_ids: list[str] = field(default_factory=list)
    seconds: float = 0.0
    rounds: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


class AgentSession:
    """Run `request` with a backend; iterate `run()` for steps (dicts), then read `outcome`.

    session = AgentSession("two balls, one crimson", backend="offline", model="world-t2i")
    for step in session.run():
        print(step["type"])
    session.outcome.best_path

    `fast=True` draws the candidates of whole-prompt rounds (generate_image) with the distilled
    few-step model (FAST_IMAGE_MODEL: 4 steps, guidance folded in) and keeps `model` for edits.
    """

    def __init__(
        self,
        request: str,
        *,
        backend: str = "offline",
        model: str = DEFAULT_IMAGE_MODEL,
        llm_model: str | None = None,
        base_url: str | None = None,
        api_key: str | None = None,
        max_rounds: int = 3,
        num_candidates: int = 4,
        seed: int = 0,
        steps: int = 20,
        guidance: float = 4.0,
        compose: bool = True,
        max_images: int = 32,
        time_budget: float | None = 14.0,
        max_steps: int | None = None,
        max_seconds: float = 300.0,
        store: HistoryStore | None = None,
        pipeline: Any = None,
        video_model: str | None = None,
        video_pipeline: Any = None,
        run_params: dict[str, Any] | None = None,
        fast: bool = False,
    ):
        if not isinstance(request, str):
            raise InvalidArgument("request", "a string", type(request).__name__)
        check_prompt(request, "request")
        check_range("max_rounds", max_rounds, 1, 20)
        check_range("num_candidates", num_candidates, 1, 8)
        check_range("steps", steps, 1, 1000)
        check_range("guidance", guidance, 0, MAX_GUIDANCE)
        check_range("seed", seed, 0, MAX_SEED)
        if isinstance(max_images, bool) or not isinstance(max_images, int) or max_images < 1:
            raise InvalidArgument("max_images", "an integer ≥ 1", max_images)
        if time_budget is not None:
            check_range("time_budget", time_budget, 0, low_open=True)
        self.request, self.backend_name, self.model = request, backend, model
        self.max_rounds = max_rounds
        self.backend = make_backend(
            backend,
            llm_model=llm_model,
            base_url=base_url,
            api_key=api_key,
            max_rounds=max_rounds,
            num_candidates=num_candidates,
            seed=seed,
            steps=steps,
            guidance=guidance,
            compose=compose,
            max_images=max_images,
            time_budget=time_budget,
        )
        planner_turns = getattr(self.backend, "max_turns", lambda rounds: 0)
        self.store = store or HistoryStore()
        self.ctx = ToolContext(
            request=request,
            model=model,
            store=self.store,
            seed=seed,
            num_inference_steps=steps,
            guidance_scale=guidance,
            pipeline=pipeline,
            fast_model=FAST_IMAGE_MODEL if fast else None,
            video_model=video_model,
            video_pipeline=video_pipeline,
            llm=self.backend if hasattr(self.backend, "ask") else None,
        )
        self.loop = AgentLoop(
            self.backend,
            make_toolbox(self.ctx),
            system=SYSTEM_PROMPT.format(max_rounds=max_rounds),
            # Enough turns for every round (generate, analyse, maybe a fallback) plus the rest;
            # the offline planner knows what composing within its image budget can take.
            max_steps=max_steps or max(24, 3 * max_rounds + 4, planner_turns(max_rounds)),
            max_seconds=max_seconds,
        )
        self.run_id: str | None = None
        self.outcome: AgentOutcome | None = None
        self.run_params = dict(run_params or {})  # what the caller records with the run

    def run(self) -> Iterator[dict[str, Any]]:
        """Yield each step as a dict (also appended to the history as it happens)."""
        self.run_id = self.ctx.run_id = self.store.add_run(
            "agent",
            self.request,
            backend=self.backend_name,
            model=self.model,
            params={
                "llm_model": self.backend.model,
                "max_rounds": self.max_rounds,
                **({"fast_model": self.ctx.fast_model} if self.ctx.fast_model else {}),
                **self.run_params,
            },
        )
        last = None
        try:
            for step in self.loop.run(self.request):
                data = step.to_dict()
                data["run_id"] = self.run_id
                self.store.append_step(self.run_id, json.loads(json.dumps(data, default=str)))
                last = step
                yield data
        finally:
            self._finish(interrupted=last is None or last.type != "final")

    def _finish(self, interrupted: bool) -> None:
        ctx, loop = self.ctx, self.loop
        best = ctx.best()
        planner_reason = getattr(self.backend, "stop_reason", None)
        reason = planner_reason or loop.stop_reason or "interrupted"
        if interrupted:
            reason = "interrupted"
        if best is not None and best[1]["satisfied"] and not planner_reason:
            reason = f"every requested attribute is satisfied ({loop.stop_reason})"
        refinement = getattr(self.backend, "refinement", None)
        outcome = AgentOutcome(
            run_id=self.run_id,
            status="stopped" if interrupted else ("done" if ctx.images else "failed"),
            stop_reason=reason,
            final_text=loop.final_text or (loop.error or ""),
            image_ids=list(ctx.images),
            seconds=loop.steps[-1].elapsed if loop.steps else 0.0,
            rounds=len(refinement.rounds) if refinement is not None else None,
        )
        if best is not None:
            image_id, analysis = best
            outcome.best_image_id, outcome.best_path = image_id, ctx.image(image_id).path
            outcome.score, outcome.satisfied = analysis["score"], analysis["satisfied"]
            outcome.problems = list(analysis["problems"])
        elif ctx.images:  # images but no analysis (an LLM that never called analyze_image)
            last = list(ctx.images.values())[-1]
            outcome.best_image_id, outcome.best_path = last.id, last.path
        self.outcome = outcome
        self.store.finish_run(
            self.run_id,
            status=outcome.status,
            score=outcome.score,
            stop_reason=outcome.stop_reason,
            result=outcome.to_dict(),
            error=loop.error,
        )


def run_agent(request: str, **options) -> AgentOutcome:
    """Run a request to the end and return its outcome (steps are in the history)."""
    session = AgentSession(request, **options)
    for _ in session.run():
        pass
    return session.outcome
