"""The offline backend: a deterministic planner in place of an LLM. It reads the request with the
world's grammar (refine_prompt), then runs refinement rounds (generate, analyze_image, revise).
When the whole prompt fails for a request of several objects, later rounds compose the scene
object by object instead (genlab.agent.compose: a layout, then one inpainting per object).

It speaks the loop's protocol like any model: each `complete()` returns the next tool calls, and
the results come back in the messages, so its transcript looks exactly like an LLM's.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Generator
from typing import Any

from genlab.agent.compose import Composition, composable
from genlab.agent.loop import AssistantTurn
from genlab.agent.refine import Refinement, Round, batch_calls
from genlab.agent.toolkit import ToolCall
from genlab.errors import Unavailable
from genlab.world.grammar import canonical_caption, parse_prompt, realize

Results = list[dict[str, Any]]  # tool results of the previous turn: {name, content, is_error}


class OfflinePlanner:
    """Plans tool calls from the request and the tool results; no network, no randomness."""

    name = "offline"
    model = None

    def __init__(
        self,
        *,
        max_rounds: int = 3,
        num_candidates: int = 4,
        seed: int = 0,
        steps: int = 20,
        guidance: float = 4.0,
        num_variants: int = 2,
        compose: bool = True,
        compose_tries: int = 6,
        compose_batch: int = 2,
        max_images: int = 32,
        time_budget: float | None = 14.0,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.max_rounds, self.num_candidates, self.seed = max_rounds, num_candidates, seed
        self.steps, self.guidance, self.num_variants = steps, guidance, num_variants
        self.compose, self.compose_tries, self.max_images = compose, compose_tries, max_images
        # Small batches: a step usually passes within a few candidates, and on this CPU two
        # images in a batch cost the same per image as four (0.34 s each at 32 px, 2 threads).
        self.compose_batch = compose_batch
        # Generated and edited images (videos count one each) of the turns handed out so far:
        # the budget that bounds a request, counted once, from the tool calls in complete().
        self.images_made = 0
        # Wall time: no new batch starts unless it should end within time_budget seconds of the
        # first turn, judged by the last batch's seconds per image (None: images bound alone).
        self.time_budget = time_budget
        self.clock = clock  # seconds, monotonic; a test can drive time by hand
        self._started: float | None = None
        self._batch: tuple[float, int] | None = None  # (when a drawing turn was handed out, images)
        self._seconds_per_image = 0.0
        self._plan: Generator[AssistantTurn, Results, None] | None = None
        self._calls = 0
        self.refinement: Refinement | None = None
        self.stop_reason: str | None = None
        self.failure: str | None = None  # why nothing was drawn (the tools' errors)

    def complete(self, system, messages, tools) -> AssistantTurn:
        if self._batch is not None:  # the tools of the previous turn drew this many images
            began, images = self._batch
            self._seconds_per_image = (self.clock() - began) / images
        turn = self._next(messages)
        drawn = sum(
            c.arguments.get("n", 1)
            for c in turn.tool_calls
            if c.name in ("generate_image", "edit_image", "generate_video")
        )
        self.images_made += drawn
        self._batch = (self.clock(), drawn) if drawn else None
        return turn

    def budget_spent(self, n: int) -> str | None:
        """Why n more images do not fit this request's budget (images, then time), or None."""
        if self.images_made + n > self.max_images:
            return f"the image budget of {self.max_images} is spent"
        if self.time_budget is not None and self._started is not None:
            expected = self.clock() - self._started + n * self._seconds_per_image
            if expected > self.time_budget:
                return f"the time budget of {self.time_budget:g} s is spent"
        return None

    def _next(self, messages) -> AssistantTurn:
        if self._plan is None:
            self._started = self.clock()
            self._plan = self._run(messages[0]["content"])
            return next(self._plan)
        results = []
        for m in reversed(messages):
            if m["role"] != "tool":
                break
            content = json.loads(m["content"])
            results.append(
                {
                    "name": m["name"],
                    "content": content,
                    "is_error": m["is_error"],
                    "error_type": m.get("error_type"),
                }
            )
        try:
            return self._plan.send(results[::-1])
        except StopIteration:
            return AssistantTurn("(plan finished)")

    def max_turns(self, max_rounds: int) -> int:
        """Model turns this planner can need: two (draw, check) per batch the image budget
        allows at the smallest batch, a check and a message per round, and the first reading."""
        batches = -(-self.max_images // min(self.compose_batch, self.num_candidates))
        return 2 * batches + 3 * max_rounds + 4

    def _call(self, name: str, **arguments) -> ToolCall:
        self._calls += 1
        return ToolCall(f"offline_{self._calls}", name, arguments)

    def _round_calls(self, rnd, video: bool) -> list[ToolCall]:
        if video:
            return [
                self._call("generate_video", prompt=c.prompt, seed=c.seed) for c in rnd.candidates
            ]
        calls = [self._call("generate_image", **a) for a in batch_calls(rnd.candidates)]
        return calls + [self._call("edit_image", **e) for e in rnd.edits]

    def _compose(self, comp: Composition, rnd: Round) -> Generator[AssistantTurn, Results, None]:
        """One composition round: the first object, then each further object inpainted into its
        cell, every step checked with analyze_image and retried with fresh seeds and more
        guidance; finally the composed (or partly composed) image is analysed against the request."""
        n = min(self.compose_batch, self.num_candidates)
        seed = self.seed + 10_000 * rnd.index
        while not comp.complete:
            step = comp.done
            for attempt in range(comp.tries):
                spent = self.budget_spent(n)
                if spent:
                    comp.log.append(spent)
                    break
                g = comp.guidance(attempt)
                if step == 0:
                    what = f"the first object alone: '{comp.first_prompt()}'"
                    call = self._call(
                        "generate_image", prompt=comp.first_prompt(), seed=seed, n=n, guidance=g
                    )
                    question = comp.first_question()
                else:
                    what = f"{comp.describe_next()}, inpainted into image {comp.current}"
                    call = self._call(
                        "edit_image",
                        image_id=comp.current,
                        prompt=comp.next_prompt(),
                        region=comp.next_region(),
                        seed=seed,
                        n=n,
                        guidance=g,
                    )
                    question = comp.next_question()
                seed += n
                again = f" (try {attempt + 1}, guidance {g:g})" if attempt else ""
                made = yield AssistantTurn(f"Composing, step {step + 1}: {what}{again}.", [call])
                ids = [i for r in made if not r["is_error"] for i in r["content"]["image_ids"]]
                if not ids:
                    comp.log.append("; ".join(r["content"]["error"] for r in made))
                    break
                analysed = yield AssistantTurn(
                    f"Checking {len(ids)} candidates for '{question}'.",
                    [self._call("analyze_image", image_id=i, question=question) for i in ids],
                )
                analyses = [r["content"] for r in analysed if not r["is_error"]]
                kept = comp.accept_first(analyses) if step == 0 else comp.accept_next(analyses)
                if kept is not None:
                    break
            if comp.done == step:  # this step failed every try (or the budget ran out)
                comp.log.append(f"step {step + 1} failed")
                break
        if comp.current is None:
            return
        final = yield AssistantTurn(
            f"Composed {comp.done} of {len(comp.objects)} objects ({'; '.join(comp.log)}); "
            "checking the result against the request.",
            [self._call("analyze_image", image_id=comp.current)],
        )
        rnd.analyses = [r["content"] for r in final if not r["is_error"]]

    def _run(self, request: str) -> Generator[AssistantTurn, Results, None]:
        (refined,) = yield AssistantTurn(
            "Reading the request with the world's grammar.",
            [self._call("refine_prompt", description=request)],
        )
        if refined["is_error"]:
            self.stop_reason, self.failure = "nothing drawable", refined["content"]["error"]
            yield AssistantTurn(f"Nothing was drawn: {self.failure}")
            return
        info = refined["content"]
        prompt = info["prompt"]
        general = info.get("objects") is None  # a general model: the world parser cannot judge
        request_spec = parse_prompt(prompt).request
        variants = []
        for k in range(
            0 if general else self.num_variants
        ):  # concrete layouts: positions pinned, same content
            try:
                variant = canonical_caption(realize(request_spec, self.seed + 1000 + k))
            except ValueError:
                break
            if variant != prompt and variant not in variants:
                variants.append(variant)
        groups = request_spec.objects
        ref = self.refinement = Refinement(
            prompt=prompt,
            wanted_colors={g.color for g in groups if g.color},
            wanted_shapes={g.shape for g in groups if g.shape},
            any_color=any(g.color is None for g in groups),
            any_shape=any(g.shape is None for g in groups),
            num_candidates=self.num_candidates,
            seed=self.seed,
            steps=self.steps,
            guidance=self.guidance,
            variants=variants,
        )
        note = "".join(f" ({info[key]})" for key in ("note", "reading_note") if info.get(key))
        video = any(g.motion for g in groups)  # motion asked for: draw videos if we can
        compose = self.compose and not general and composable(request_spec)
        comp: Composition | None = None
        for _ in range(self.max_rounds):
            spent = self.budget_spent(self.num_candidates)
            if spent:
                note += f" ({spent})"
                break
            if compose and ref.rounds:  # the whole prompt failed: compose object by object
                index = len(ref.rounds) + 1
                if comp is not None and comp.done >= 2 and not comp.complete:
                    comp.log = []  # go on from the objects drawn so far, the failed one moved
                    comp.replan()
                else:
                    comp = Composition(
                        request_spec, seed=self.seed + index, tries=self.compose_tries
                    )
                if comp.possible:
                    rnd = Round(index, [])
                    ref.rounds.append(rnd)
                    yield from self._compose(comp, rnd)
                    if ref.best is not None and ref.best["satisfied"]:
                        break
                    continue
                compose = False  # no arrangement fits: fall back to plain rounds
            rnd = ref.next_round()
            ref.rounds.append(rnd)
            if video:
                rnd.edits = []  # edits repaint still images only
            why = "" if rnd.index == 1 else f" Still wrong: {ref.critique()}."
            made = yield AssistantTurn(
                f"Round {rnd.index}: {len(rnd.candidates)} {'videos' if video else 'candidates'}"
                f" for '{prompt}'{' and a repair edit' if rnd.edits else ''}.{why}",
                self._round_calls(rnd, video),
            )
            unavailable = [r for r in made if r.get("error_type") == Unavailable.__name__]
            if video and len(unavailable) == len(made):
                video = False
                note += " (video is not available, so still images were drawn)"
                made = yield AssistantTurn(
                    "Video is not available here; drawing still images instead.",
                    self._round_calls(rnd, video),
                )
            ids = [i for r in made if not r["is_error"] for i in r["content"]["image_ids"]]
            if not ids:
                errors = "; ".join(r["content"]["error"] for r in made if r["is_error"])
                self.stop_reason, self.failure = f"generation failed: {errors}", errors
                yield AssistantTurn(f"Nothing was drawn: {errors}")
                return
            if general:
                self.stop_reason = "drawn by a general model, which the world's parser cannot judge"
                yield AssistantTurn(
                    f"Drew {len(ids)} candidates: {', '.join(ids)}; {self.stop_reason}."
                )
                return
            analysed = yield AssistantTurn(
                f"Checking {len(ids)} images against the request.",
                [self._call("analyze_image", image_id=i) for i in ids],
            )
            rnd.analyses = [r["content"] for r in analysed if not r["is_error"]]
            if ref.best is not None and ref.best["satisfied"]:
                break
        best = ref.best
        if best is None:
            self.stop_reason = "no image could be analysed"
            yield AssistantTurn("Images were made but none could be analysed.")
            return
        rounds = len(ref.rounds)
        if best["satisfied"]:
            self.stop_reason = f"every requested attribute is satisfied (round {rounds})"
        else:
            self.stop_reason = f"{rounds} rounds done; best still has: {ref.critique()}"
        yield AssistantTurn(
            f"Best image {best['image_id']} scores {best['score']:.2f} after {rounds} round(s); "
            f"{self.stop_reason}.{note}"
        )
