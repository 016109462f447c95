"""The world grammar reads free phrasing (issue #32, item 3): attributes and counts after the noun,
descriptive color words, more size and shape nouns, positions, "it"/"its" relations, lists,
backgrounds and filler; what the world lacks is still reported, never replaced."""

import pytest
from benchmark_scripts import load_benchmark

from genlab.world.grammar import ObjectRequest, RelationRequest, SceneRequest, parse_prompt

dev = load_benchmark("paraphrase_dev_make")


def obj(shape, color, size=None, count=1, row=None, col=None):
    return ObjectRequest(shape, color, size, count, row, col)


CASES = [
    ("a square that is cyan-colored", SceneRequest((obj("square", "cyan"),))),
    ("two blocks that are kelly green", SceneRequest((obj("square", "green", count=2),))),
    ("three star figures, each one sapphire blue", SceneRequest((obj("star", "blue", count=3),))),
    ("pink round shapes, three in total", SceneRequest((obj("circle", "pink", count=3),))),
    ("orange square blocks x3", SceneRequest((obj("square", "orange", count=3),))),
    ("a trio of oversized tomato red orbs", SceneRequest((obj("circle", "red", "large", 3),))),
    ("okay so a smallish traffic-cone orange three-sided shape, nothing else pls",
     SceneRequest((obj("triangle", "orange", "small"),))),
    ("a fire-engine red diamond-shaped piece in the lower row",
     SceneRequest((obj("diamond", "red", row=2),))),
    ("a flamingo pink five pointed star along the right side",
     SceneRequest((obj("star", "pink", col=2),))),
    ("a leaf green circle smack in the middle", SceneRequest((obj("circle", "green", row=1, col=1),))),
    ("a yellow circle, and directly above it a yellow square",
     SceneRequest((obj("circle", "yellow"), obj("square", "yellow")), (RelationRequest(1, "above", 0),))),
    ("a green square, and to its right a pink circle",
     SceneRequest((obj("square", "green"), obj("circle", "pink")), (RelationRequest(1, "right of", 0),))),
    ("a red star higher up than a blue circle",
     SceneRequest((obj("star", "red"), obj("circle", "blue")), (RelationRequest(0, "above", 1),))),
    ("a blue circle. it should sit directly above a red star",
     SceneRequest((obj("circle", "blue"), obj("star", "red")), (RelationRequest(0, "above", 1),))),
    ("Give me shapes: a pink triangle; a yellow diamond",
     SceneRequest((obj("triangle", "pink"), obj("diamond", "yellow")))),
    ("green diamond icons: three of them", SceneRequest((obj("diamond", "green", count=3),))),
    ("a cyan star on an inky black bg", SceneRequest((obj("star", "cyan"),), (), "black")),
    ("a red disc, background color concrete gray", SceneRequest((obj("circle", "red"),), (), "gray")),
    ("a red disc. Keep the background gray.", SceneRequest((obj("circle", "red"),), (), "gray")),
]  # fmt: skip


@pytest.mark.parametrize("text,expected", CASES)
def test_free_constructions_read_to_the_scene_asked_for(text, expected):
    parsed = parse_prompt(text)
    assert parsed.request.normalized() == expected.normalized(), parsed.canonical
    assert parsed.understood, parsed.warnings()


def test_what_the_world_lacks_is_still_reported_not_replaced():
    beige = parse_prompt("a square that is beige, nothing else pls")
    assert ("color", "beige") in beige.unsupported
    assert beige.request.objects[0].color is None
    assert "beige is not a color of this world" in beige.warnings()[0]
    # a word before a color that is no known descriptor is still listed as not understood
    fluffy = parse_prompt("a fluffy red star")
    assert fluffy.unknown_words == ["fluffy"]
    assert fluffy.request.objects == (obj("star", "red"),)
    # a shape the world lacks is reported where it is the noun, not where it names a color
    assert parse_prompt("a red cone").unsupported == [("shape", "cone")]
    assert parse_prompt("a traffic-cone orange star").unsupported == []


def test_a_copula_after_a_separator_starts_a_new_object():
    parsed = parse_prompt("a circle and there are red stars")
    assert (
        parsed.request.normalized()
        == SceneRequest((obj("circle", None), obj("star", "red", count=2))).normalized()
    )


def test_development_set_reads_right():
    """Every prompt of a 200-prompt development set (seed 11) reads to the scene it asks for;
    before this change the grammar read 0.37 of 400 (seed 7) and 0.355 of 400 (seed 11)."""
    items = dev.make(200, 11)
    wrong = [text for _, text, request in items if not dev.read_right(text, request)]
    assert not wrong, wrong[:5]
