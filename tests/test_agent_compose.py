"""Layout-first composition in the offline agent: a layout that satisfies the request, the first
object drawn alone, every other object inpainted into its cell, each step checked and retried."""

import pytest
from test_agent_tools import WorldPainter, call, context

from genlab.agent import AgentSession, run_agent
from genlab.agent.compose import Composition, arrangements, composable
from genlab.agent.tools import make_toolbox
from genlab.world import Obj, Scene, parse_prompt
from genlab.world.match import match

REQUEST = "a crimson ball above a cobalt box on a black backdrop"
# Runs that check rounds, seeds and image counts leave the wall clock out (no time budget): on a
# loaded machine the default 14 s budget would end them early. The time budget has its own
# test below, on a clock of its own.
UNTIMED = {"time_budget": None}


def request_of(text):
    return parse_prompt(text).request


@pytest.mark.parametrize(
    "text",
    [
        "a red circle above a blue square",
        "a red circle left of two green stars",
        "a star in the top left and a yellow diamond below a pink square",
        "three purple triangles",
    ],
)
def test_every_arrangement_satisfies_the_request(text):
    req = request_of(text)
    layouts = arrangements(req, seed=0)
    assert len(layouts) > 1 and len(set(layouts)) == len(layouts)
    shapes = [(o.shape or "circle", o.color or "red") for o in req.objects for _ in range(o.count)]
    for cells in layouts:
        scene = Scene(
            tuple(Obj(s, c, "small", r, k) for (s, c), (r, k) in zip(shapes, cells)), "gray"
        )
        assert match(req, scene).satisfied, (text, cells)


def test_only_several_still_objects_are_composed():
    assert composable(request_of("two red circles"))
    assert composable(request_of("a red circle left of a blue square"))
    assert not composable(request_of("a large red circle in the top left"))
    assert not composable(request_of("a red circle moving left and a blue square"))


def analysis(image_id, found, satisfied=True, background="gray"):
    objects = [
        {"shape": s, "color": c, "size": "small", "row": r, "col": k} for s, c, r, k in found
    ]
    return {
        "image_id": image_id,
        "found": objects,
        "satisfied": satisfied,
        "background": background,
    }


def test_the_first_object_fixes_the_layout_and_the_background():
    comp = Composition(request_of("a red circle above a blue square"), seed=0)
    assert comp.first_question() == "a red circle"  # anywhere, on any background
    assert comp.first_prompt().startswith("a red circle in the ")
    rejected = [
        analysis("a", [("circle", "red", 2, 1)]),  # bottom row: nothing can go below it
        analysis("b", [("circle", "red", 0, 1), ("star", "red", 1, 1)]),  # a stray object
        analysis("c", [("circle", "red", 0, 1)], satisfied=False),
    ]
    assert comp.accept_first(rejected) is None and comp.done == 0
    kept = comp.accept_first(
        rejected + [analysis("d", [("circle", "red", 0, 2)], background="white")]
    )
    assert kept["image_id"] == "d" and comp.current == "d" and comp.done == 1
    assert comp.cells[0] == (0, 2) and comp.cells[1][0] > 0, "the square goes below the circle"
    assert comp.background == "white", "later steps keep the first image's background"
    region = comp.next_region()
    assert comp.next_prompt() == f"a blue square in the {region} on a white background"
    assert comp.next_question().startswith("a red circle in the top right and a blue square")
    two = [("circle", "red", 0, 2), ("square", "blue", *comp.cells[1])]
    assert not comp.accept_next([analysis("e", two, satisfied=False)]) and comp.done == 1
    three = [*two, ("square", "blue", *comp.cells[1])]  # a second square in the same cell
    assert not comp.accept_next([analysis("e", three)]) and comp.done == 1
    assert comp.accept_next([analysis("f", two)])["image_id"] == "f" and comp.complete


def test_a_request_no_grid_can_hold_is_not_composed():
    impossible = request_of("a red circle above a blue square above a green star above a cyan star")
    assert not Composition(impossible, seed=0).possible


def test_whole_prompt_failures_are_composed_object_by_object(store):
    painter = WorldPainter(wrong_seeds=range(4))  # every candidate of round 1 is wrong
    out = run_agent(
        REQUEST, pipeline=painter, store=store, max_rounds=3, num_candidates=4, **UNTIMED
    )
    assert out.satisfied and out.rounds == 2
    best = store.get_image(out.best_image_id)
    assert best.parent_id is not None, "the winner is the inpainted composition"
    (edit,) = painter.edits
    assert edit["prompt"].startswith("a blue square in the ") and edit["n"] == 2
    assert edit["prompt"].endswith("on a black background")
    run = store.get_run(out.run_id)
    calls = [s for s in run.steps if s["type"] == "tool_call"]
    first = next(c for c in calls if c["arguments"].get("prompt", "").startswith("a red circle in"))
    assert first["name"] == "generate_image" and "blue" not in first["arguments"]["prompt"]
    edits = [c for c in calls if c["name"] == "edit_image"]
    assert edits[0]["arguments"]["region"] in edits[0]["arguments"]["prompt"]
    questions = [c["arguments"].get("question") for c in calls if c["name"] == "analyze_image"]
    assert "a red circle on a black background" in questions, "step 1 is checked on its own"


def test_a_failing_step_is_retried_with_fresh_seeds_and_more_guidance(store):
    # Composition round 2 draws its first object from seeds 20000-20001 (batches of two), then
    # edits from 20002: the first three batches fail.
    painter = WorldPainter(wrong_seeds=range(4), wrong_edits=set(range(20002, 20008)))
    out = run_agent(
        REQUEST, pipeline=painter, store=store, max_rounds=3, num_candidates=4, **UNTIMED
    )
    assert out.satisfied and out.rounds == 2
    assert [e["seed"] for e in painter.edits] == [20002, 20004, 20006, 20008]
    assert [e["guidance_scale"] for e in painter.edits] == [5.5, 5.5, 7.0, 7.0]


def test_a_step_that_keeps_failing_moves_to_another_cell_in_the_next_round(store):
    # Round 2 draws the circle (seeds 20000-20001) and the square (edits 20002-20003); all six
    # tries at the star fail (edits 20004-20015).
    painter = WorldPainter(wrong_seeds=range(4), wrong_edits=set(range(20004, 20016)))
    request = "a red circle, a blue square and a green star on a black background"
    out = run_agent(
        request, pipeline=painter, store=store, max_rounds=3, num_candidates=4, **UNTIMED
    )
    assert out.satisfied and out.rounds == 3
    assert len(painter.calls) == 2, "round 3 goes on from round 2's two objects, not from scratch"
    stars = [e["prompt"].split(" in the ")[1] for e in painter.edits if "star" in e["prompt"]]
    assert len(stars) == 7 and len(set(stars[:6])) == 1 and stars[6] != stars[0], "the star moved"
    square = store.get_image(store.get_image(out.best_image_id).parent_id)
    assert square.seed == 20002 and "square" in square.prompt, "built on round 2's square"


def test_a_composition_that_only_has_its_first_object_starts_over(store):
    painter = WorldPainter(wrong_seeds=range(4), wrong_edits=set(range(20002, 20014)))
    out = run_agent(
        REQUEST, pipeline=painter, store=store, max_rounds=3, num_candidates=4, **UNTIMED
    )
    assert out.satisfied and out.rounds == 3
    assert len(painter.calls) == 3 and painter.calls[-1]["seed"] == 30000, "a fresh first object"


def test_alike_objects_drawn_so_far_stay_in_the_prompt():
    comp = Composition(request_of("two red circles and a blue star"), seed=0)
    comp.accept_first([analysis("a", [("circle", "red", 0, 0)])])
    second = comp.next_prompt()
    assert second.startswith("a red circle in the top left and a red circle in the ")
    comp.accept_next([analysis("b", [("circle", "red", 0, 0), ("circle", "red", *comp.cells[1])])])
    assert (
        comp.next_prompt().startswith("a blue star in the ") and "circle" not in comp.next_prompt()
    )


def test_the_image_budget_bounds_a_request_that_never_succeeds(store):
    painter = WorldPainter(wrong_seeds=range(100_000), wrong_edits=True)
    session = AgentSession(
        REQUEST,
        pipeline=painter,
        store=store,
        max_rounds=5,
        num_candidates=4,
        max_images=20,
        **UNTIMED,
    )
    list(session.run())
    out = session.outcome
    made = sum(c["n"] for c in painter.calls) + sum(e["n"] for e in painter.edits)
    assert made <= 20 and not out.satisfied and out.status == "done"
    assert out.best_image_id is not None and out.problems, "the best try is still reported"
    assert "image budget of 20 is spent" in session.loop.final_text


def test_single_object_requests_keep_whole_prompt_rounds(store):
    painter = WorldPainter(wrong_seeds=range(4))
    out = run_agent("a red circle on a white background", pipeline=painter, store=store)
    assert out.satisfied and out.rounds == 2
    assert all(e["n"] == 1 for e in painter.edits), "at most a repair edit, no composition"
    run = store.get_run(out.run_id)
    assert not any(s["type"] == "assistant" and "Composing" in s["text"] for s in run.steps)


def test_compose_can_be_switched_off(store):
    painter = WorldPainter(wrong_seeds=range(100))
    out = run_agent(REQUEST, pipeline=painter, store=store, max_rounds=2, compose=False, **UNTIMED)
    assert all(e["n"] == 1 for e in painter.edits), "only repair edits, no composition"
    with pytest.raises(Exception, match="max_images"):
        AgentSession(REQUEST, pipeline=painter, store=store, max_images=0)
    assert out.rounds == 2


def test_edit_image_makes_n_candidates_from_consecutive_seeds(store):
    box = make_toolbox(context(store))
    image_id = call(box, "generate_image", prompt="a red circle", seed=3).content["image_ids"][0]
    res = call(
        box, "edit_image", image_id=image_id, prompt="a blue square", region="top left",
        seed=10, n=3, guidance=6.0,
    )  # fmt: skip
    assert not res.is_error and len(res.content["image_ids"]) == 3
    assert res.content["seeds"] == [10, 11, 12]
    recs = [store.get_image(i) for i in res.content["image_ids"]]
    assert [r.seed for r in recs] == [10, 11, 12] and all(r.parent_id == image_id for r in recs)
    bad = call(box, "edit_image", image_id=image_id, prompt="x", region="top left", n=9)
    assert bad.is_error and "n" in bad.content["error"] and "1 to 8" in bad.content["error"]


def test_the_turn_limit_leaves_room_for_the_whole_image_budget(store):
    painter = WorldPainter(wrong_seeds=range(100_000), wrong_edits=True)
    session = AgentSession(
        REQUEST, pipeline=painter, store=store, max_rounds=20, max_images=32, **UNTIMED
    )
    list(session.run())
    made = sum(c["n"] for c in painter.calls) + sum(e["n"] for e in painter.edits)
    assert session.loop.stop_reason == "the model finished" and 28 < made <= 32
    assert "image budget of 32 is spent" in session.loop.final_text


class Clock:
    """Monotonic seconds that move only when the painter draws: the budget is checked against
    time it can measure exactly, whatever else the machine is doing."""

    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


class SlowPainter(WorldPainter):
    """Takes `seconds` per image on `clock`, like a real model on a slow machine; keeps each
    batch's (start, end)."""

    def __init__(self, seconds, clock, **kw):
        super().__init__(**kw)
        self.seconds, self.clock, self.batches = seconds, clock, []

    def _draw(self, num_images):
        start = self.clock.now
        self.clock.now += self.seconds * num_images
        self.batches.append((start, self.clock.now))

    def __call__(self, prompt, *args, num_images=1, **kw):
        self._draw(num_images)
        return super().__call__(prompt, *args, num_images=num_images, **kw)

    def edit(self, image, prompt, *args, num_images=1, **kw):
        self._draw(num_images)
        return super().edit(image, prompt, *args, num_images=num_images, **kw)


def test_no_batch_starts_that_would_end_after_the_time_budget(store):
    # Binary fractions (1/8 s per image, 1.5 s) keep the clock's sums exact.
    clock = Clock()
    painter = SlowPainter(0.125, clock, wrong_seeds=range(100_000), wrong_edits=True)
    session = AgentSession(REQUEST, pipeline=painter, store=store, max_rounds=20, time_budget=1.5)
    session.backend.clock = session.loop.clock = clock
    list(session.run())
    made = sum(c["n"] for c in painter.calls) + sum(e["n"] for e in painter.edits)
    assert 4 <= made < 32 and "time budget of 1.5 s is spent" in session.loop.final_text
    assert made * 0.125 == clock.now == painter.batches[-1][1], "only drawing took time"
    assert all(end <= 1.5 for _, end in painter.batches), "every batch ended in time"
    assert session.outcome.seconds == clock.now <= 1.5
    smallest = min(end - start for start, end in painter.batches)
    assert clock.now + smallest > 1.5, "the budget was used up to its last batch"
    with pytest.raises(Exception, match="time_budget"):
        AgentSession(REQUEST, pipeline=painter, store=store, time_budget=0)
