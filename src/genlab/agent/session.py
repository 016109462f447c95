"""One agent run from request to outcome: picks the backend, builds the tools, runs the loop and
records everything (request, transcript, images, scores, models) in the history store.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from genlab.agent.anthropic_backend import AnthropicBackend
from genlab.agent.loop import AgentLoop
from genlab.agent.offline import OfflinePlanner
from genlab.agent.openai_backend import OpenAIBackend
from genlab.agent.tools import ToolContext, make_toolbox
from genlab.errors import InvalidArgument, check_choice, check_int, check_range
from genlab.history import HistoryStore
from genlab.paths import DEFAULT_IMAGE_MODEL, FAST_IMAGE_MODEL
from genlab.pipelines.request import PARAMS, check_prompt

BACKENDS = ("offline", "anthropic", "openai")
MAX_AGENT_STEPS = 1000  # denoising steps per image the agent may be asked for

SYSTEM_PROMPT = """You are genlab's image generation agent. You draw what the user asks with tools.
Work like this: 1) refine_prompt on the user's words (it resolves synonyms and reports words the
model cannot draw); 2) generate_image with the refined prompt, several candidates (n=2..4);
3) analyze_image on each candidate: it lists what is in the image and which requested attributes
fail; 4) if none is fully right, revise: new seeds, a negative_prompt naming wrong colors, more
steps or guidance, or edit_image with an instruction such as 'make the circle green' to repair one
object. Stop when an image satisfies every attribute or after {max_rounds} rounds. Finish with a
short answer naming the best image id, its score, and anything that could not be honoured."""


@dataclass(frozen=True)
class BackendSettings:
    """Who plans: the offline planner, or an LLM (`anthropic`, `openai`) at an endpoint."""

    name: str = "offline"
    llm_model: str | None = None
    base_url: str | None = None
    api_key: str | None = field(default=None, repr=False)

    def __post_init__(self):
        check_choice("backend", self.name, BACKENDS)

    def make(self, drawing: DrawingSettings):
        """The backend: the offline planner (drawing as `drawing` says), or an LLM client."""
        if self.name == "offline":
            return OfflinePlanner(**dataclasses.asdict(drawing))
        cls = AnthropicBackend if self.name == "anthropic" else OpenAIBackend
        return cls(self.llm_model, api_key=self.api_key, base_url=self.base_url)


@dataclass(frozen=True)
class DrawingSettings:
    """How the agent draws and how hard it tries: rounds, candidates per round, the first seed,
    denoising steps and guidance, composing object by object, and its image and time budgets."""

    max_rounds: int = 3
    num_candidates: int = 4
    seed: int = 0
    steps: int = 20
    guidance: float = 4.0
    compose: bool = True
    max_images: int = 32
    time_budget: float | None = 14.0

    def __post_init__(self):
        check_int("max_rounds", self.max_rounds, 1, 20)
        check_int("num_candidates", self.num_candidates, 1, 8)
        PARAMS["num_inference_steps"].check("steps", self.steps, high=MAX_AGENT_STEPS)
        PARAMS["guidance_scale"].check("guidance", self.guidance)
        PARAMS["seed"].check("seed", self.seed)
        check_int("max_images", self.max_images, 1)
        if self.time_budget is not None:
            check_range("time_budget", self.time_budget, 0, low_open=True)


@dataclass(frozen=True)
class ModelSettings:
    """What draws: the image model by name (or an already loaded pipeline, e.g. the server's),
    and the video model for requests that move."""

    model: str = DEFAULT_IMAGE_MODEL
    pipeline: Any = None
    video_model: str | None = None
    video_pipeline: Any = None
    fast: bool = False  # candidates drawn by the distilled few-step model (FAST_IMAGE_MODEL)


@dataclass(frozen=True)
class AgentConfig:
    """Everything an agent run is set with, in groups; `max_steps` (model turns) and
    `max_seconds` bound the loop."""

    backend: BackendSettings = field(default_factory=BackendSettings)
    drawing: DrawingSettings = field(default_factory=DrawingSettings)
    models: ModelSettings = field(default_factory=ModelSettings)
    max_steps: int | None = None
    max_seconds: float = 300.0

    @classmethod
    def from_options(cls, backend: str = "offline", **options) -> AgentConfig:
        """The config of flat options, as `genlab agent`'s flags and the REST options name
        them (`backend`, `llm_model`, `max_rounds`, `model`, `max_seconds`, ...)."""
        groups: dict[type, dict[str, Any]] = {BackendSettings: {"name": backend}}
        loop = {}
        for key, value in options.items():
            group = _OPTION_GROUPS.get(key)
            if group is None and key not in ("max_steps", "max_seconds"):
                known = ", ".join(["backend", *_OPTION_GROUPS, "max_steps", "max_seconds"])
                raise TypeError(f"unknown agent option {key!r}; the options are: {known}")
            if group is None:
                loop[key] = value
            else:
                groups.setdefault(group, {})[key] = value
        return cls(
            backend=BackendSettings(**groups[BackendSettings]),
            drawing=DrawingSettings(**groups.get(DrawingSettings, {})),
            models=ModelSettings(**groups.get(ModelSettings, {})),
            **loop,
        )


_OPTION_GROUPS = {
    f.name: group
    for group in (BackendSettings, DrawingSettings, ModelSettings)
    for f in dataclasses.fields(group)
    if f.name != "name"
}


def make_backend(name: str, *, llm_model=None, base_url=None, api_key=None, **drawing):
    """The backend called `name`: offline (drawing options apply), anthropic or openai."""
    settings = BackendSettings(name, llm_model, base_url, api_key)
    return settings.make(DrawingSettings(**drawing))


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
    failure: str | None = None  # why nothing was drawn (a tool's or the loop's error)

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


class AgentSession:
    """Run `request` with a backend; iterate `run()` for steps (dicts), then read `outcome`.

    session = AgentSession("two balls, one crimson", AgentConfig(models=ModelSettings("world-t2i")))
    for step in session.run():
        print(step["type"])
    session.outcome.best_path

    The options may also be given flat (`AgentSession(request, backend="offline",
    max_rounds=2)`): see `AgentConfig.from_options`.

    `fast=True` (ModelSettings.fast) draws the candidates of whole-prompt rounds (generate_image)
    with the distilled few-step model (FAST_IMAGE_MODEL: 4 steps, guidance folded in) and keeps
    `model` for edits.
    """

    def __init__(
        self,
        request: str,
        config: AgentConfig | None = None,
        *,
        store: HistoryStore | None = None,
        run_params: dict[str, Any] | None = None,
        **options,
    ):
        if not isinstance(request, str):
            raise InvalidArgument("request", "a string", type(request).__name__)
        check_prompt(request, "request")
        if config is not None and options:
            raise TypeError("give an AgentConfig or flat options, not both")
        config = config or AgentConfig.from_options(**options)
        self.config = config
        drawing, models = config.drawing, config.models
        self.request, self.backend_name, self.model = request, config.backend.name, models.model
        self.max_rounds = drawing.max_rounds
        self.backend = config.backend.make(drawing)
        planner_turns = getattr(self.backend, "max_turns", lambda rounds: 0)
        self.store = store or HistoryStore()
        self.ctx = ToolContext(
            request=request,
            model=models.model,
            store=self.store,
            seed=drawing.seed,
            num_inference_steps=drawing.steps,
            guidance_scale=drawing.guidance,
            pipeline=models.pipeline,
            fast_model=FAST_IMAGE_MODEL if models.fast else None,
            video_model=models.video_model,
            video_pipeline=models.video_pipeline,
            llm=self.backend if hasattr(self.backend, "ask") else None,
        )
        rounds = drawing.max_rounds
        self.loop = AgentLoop(
            self.backend,
            make_toolbox(self.ctx),
            system=SYSTEM_PROMPT.format(max_rounds=rounds),
            # Enough turns for every round (generate, analyse, maybe a fallback) plus the rest;
            # the offline planner knows what composing within its image budget can take.
            max_steps=config.max_steps or max(24, 3 * rounds + 4, planner_turns(rounds)),
            max_seconds=config.max_seconds,
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
        if outcome.status != "done":  # the planner's own words, else the loop's error
            failure = getattr(self.backend, "failure", None) or loop.error
            outcome.failure = failure or loop.final_text or reason
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
