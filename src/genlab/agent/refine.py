"""Iterative refinement in the spirit of Idea2Img (Yang et al. 2023): each round draws several
candidates, scores them against the request, keeps the best, writes down what is wrong, and
revises the next round's prompts, seeds, negative prompts, steps and guidance from that history.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

MAX_STEPS = 50
MAX_GUIDANCE = 9.0


@dataclass
class Candidate:
    """Arguments of one generate_image call."""

    prompt: str
    seed: int
    steps: int
    guidance: float
    negative_prompt: str | None = None

    def arguments(self, n: int = 1) -> dict[str, Any]:
        args = {"prompt": self.prompt, "seed": self.seed, "steps": self.steps, "n": n}
        args["guidance"] = self.guidance
        if self.negative_prompt:
            args["negative_prompt"] = self.negative_prompt
        return args


@dataclass
class Round:
    index: int
    candidates: list[Candidate]
    analyses: list[dict[str, Any]] = field(default_factory=list)  # analyze_image results
    edits: list[dict[str, Any]] = field(default_factory=list)  # edit_image arguments

    @property
    def best(self) -> dict[str, Any] | None:
        return max(self.analyses, key=lambda a: a["score"], default=None)


@dataclass
class Refinement:
    """The history of rounds for one request, and the policy that plans the next round."""

    prompt: str  # the canonical prompt from refine_prompt
    wanted_colors: set[str]  # colors the request names (None-colored objects add nothing)
    wanted_shapes: set[str]
    any_color: bool  # some requested object leaves its color open: no color is unwanted
    any_shape: bool
    num_candidates: int = 4
    seed: int = 0
    steps: int = 20
    guidance: float = 4.0
    variants: list[str] = field(default_factory=list)  # rephrasings (concrete layouts)
    rounds: list[Round] = field(default_factory=list)

    @property
    def best(self) -> dict[str, Any] | None:
        """The best analysis over every round (the earliest wins ties)."""
        best = None
        for r in self.rounds:
            for a in r.analyses:
                if best is None or a["score"] > best["score"]:
                    best = a
        return best

    def unwanted(self) -> tuple[list[str], list[str]]:
        """Colors and shapes seen in earlier images that the request never asked for."""
        colors, shapes = set(), set()
        for r in self.rounds:
            for a in r.analyses:
                for o in a.get("found", []):
                    if not self.any_color and o.get("color") not in self.wanted_colors:
                        colors.add(o["color"])
                    if not self.any_shape and o.get("shape") not in self.wanted_shapes:
                        shapes.add(o["shape"])
        return sorted(c for c in colors if c), sorted(s for s in shapes if s)

    def critique(self) -> str:
        """What is still wrong with the best image so far, in words."""
        best = self.best
        if best is None:
            return "no image could be analysed"
        if best["satisfied"]:
            return "every requested attribute is satisfied"
        return "; ".join(best["problems"]) or f"score {best['score']:.2f} below 1"

    def next_round(self) -> Round:
        """Plan round len(rounds)+1 from what went wrong before.

        Round 1: the canonical prompt over several seeds. Later rounds: fresh seeds, more steps
        and guidance, a negative prompt naming colors/shapes that appeared unasked, and prompts
        alternating between the canonical text and concrete rephrasings.
        """
        k = len(self.rounds)
        steps = min(MAX_STEPS, round(self.steps * (1 + 0.5 * k)))
        guidance = min(MAX_GUIDANCE, self.guidance + 1.5 * k)
        colors, shapes = self.unwanted()
        negative = ", ".join(colors + shapes) or None
        prompts = [self.prompt] + (self.variants if k else [])
        candidates = [
            Candidate(
                prompt=prompts[i * len(prompts) // self.num_candidates],  # contiguous blocks
                seed=self.seed + k * self.num_candidates + i,
                steps=steps if k else self.steps,
                guidance=guidance if k else self.guidance,
                negative_prompt=negative if k else None,
            )
            for i in range(self.num_candidates)
        ]
        r = Round(k + 1, candidates)
        best = self.best
        if best is not None and not best["satisfied"]:
            edit = repair_edit(best)
            if edit is not None:
                r.edits.append(edit)
        return r


def batch_calls(candidates: list[Candidate]) -> list[dict[str, Any]]:
    """generate_image arguments, one call per run of candidates that differ only by the next seed."""
    calls: list[tuple[Candidate, int]] = []
    for c in candidates:
        if calls:
            first, n = calls[-1]
            same = (first.prompt, first.steps, first.guidance, first.negative_prompt) == (
                c.prompt, c.steps, c.guidance, c.negative_prompt,
            )  # fmt: skip
            if same and c.seed == first.seed + n:
                calls[-1] = (first, n + 1)
                continue
        calls.append((c, 1))
    return [first.arguments(n) for first, n in calls]


def repair_edit(analysis: dict[str, Any]) -> dict[str, Any] | None:
    """An edit_image call that turns an unrequested object into a missing one, if there is a pair.

    Uses analyze_image's `found` (with `requested` flags) and `missing` groups.
    """
    extra = next((o for o in analysis.get("found", []) if not o.get("requested", True)), None)
    missing = analysis.get("missing") or []
    if extra is None or not missing:
        return None
    want = missing[0]
    new = " ".join(v for v in (want.get("size"), want.get("color"), want.get("shape")) if v)
    if not new:
        return None
    instruction = f"make the {extra['color']} {extra['shape']} {new}"
    return {"image_id": analysis["image_id"], "instruction": instruction}
