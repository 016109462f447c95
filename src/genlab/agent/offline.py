"""The offline backend: a deterministic planner in place of an LLM. It reads the request with the
world's grammar (refine_prompt), then runs refinement rounds (generate, analyze_image, revise).

It speaks the loop's protocol like any model: each `complete()` returns the next tool calls, and
the results come back in the messages, so its transcript looks exactly like an LLM's.
"""

from __future__ import annotations

import json
from collections.abc import Generator
from typing import Any

from genlab.agent.loop import AssistantTurn
from genlab.agent.refine import Refinement, batch_calls
from genlab.agent.toolkit import ToolCall

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
    ):
        self.max_rounds, self.num_candidates, self.seed = max_rounds, num_candidates, seed
        self.steps, self.guidance, self.num_variants = steps, guidance, num_variants
        self._plan: Generator[AssistantTurn, Results, None] | None = None
        self._calls = 0
        self.refinement: Refinement | None = None
        self.stop_reason: str | None = None

    def complete(self, system, messages, tools) -> AssistantTurn:
        if self._plan is None:
            self._plan = self._run(messages[0]["content"])
            return next(self._plan)
        results = []
        for m in reversed(messages):
            if m["role"] != "tool":
                break
            content = json.loads(m["content"])
            results.append({"name": m["name"], "content": content, "is_error": m["is_error"]})
        try:
            return self._plan.send(results[::-1])
        except StopIteration:
            return AssistantTurn("(plan finished)")

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

    def _run(self, request: str) -> Generator[AssistantTurn, Results, None]:
        from genlab.world.grammar import canonical_caption, parse_prompt, realize

        (refined,) = yield AssistantTurn(
            "Reading the request with the world's grammar.",
            [self._call("refine_prompt", description=request)],
        )
        if refined["is_error"]:
            self.stop_reason = "nothing drawable"
            yield AssistantTurn(f"Nothing was drawn: {refined['content']['error']}")
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
        note = f" ({info['note']})" if info.get("note") else ""
        video = any(g.motion for g in groups)  # motion asked for: draw videos if we can
        for _ in range(self.max_rounds):
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
            unavailable = [r for r in made if "not available" in r["content"].get("error", "")]
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
                self.stop_reason = f"generation failed: {errors}"
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
