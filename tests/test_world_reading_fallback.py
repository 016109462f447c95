"""The reading check and its fallback (genlab.world.reading_check): constructions the grammar was
never shown are read by an alternative that accounts for every content word, and what no reading
accounts for is named in the parse's warnings (CLI, REST/OpenAI field, agent message)."""

import json

import pytest

from genlab.cli import main
from genlab.world import reading
from genlab.world.grammar import ObjectRequest, RelationRequest, SceneRequest, parse_prompt
from genlab.world.reading import PromptParse
from genlab.world.reading_check import check_reading


@pytest.mark.parametrize(
    "prompt, meant",
    [
        ("a red star times three", "three red stars"),  # a count after the noun, in words
        ("two copies, each a red star", "two red stars"),  # the count apart from its noun
        ("a red star, four of those", "four red stars"),
        ("a star, red, big", "a large red star"),  # attributes after the noun, in commas
        ("a star (big, red)", "a large red star"),
        ("red: a star; blue: two circles", "a red star and two blue circles"),  # color as label
        ("three stars, red, on the left", "three red stars on the left"),
        ("a star in the corner, top left, red", "a red star in the top left"),
    ],
)
def test_a_construction_the_grammar_misreads_is_read_by_the_fallback(prompt, meant):
    assert reading.parse_prompt(prompt).canonical != meant  # the grammar alone misreads it
    parsed = parse_prompt(prompt)
    assert parsed.canonical == meant
    assert parsed.unaccounted == [] and parsed.invented == []


def test_a_content_word_no_reading_accounts_for_is_named_in_a_warning():
    parsed = parse_prompt("a circle coloured both red and blue")
    assert parsed.canonical == "a red circle"
    assert parsed.unaccounted == ["blue"]
    assert parsed.warnings() == ["left out of the reading: blue"]
    assert not parsed.understood


def test_a_reading_that_accounts_for_every_word_is_kept_as_the_grammar_reads_it():
    text = "two crimson balls above a big box on a white background"
    assert parse_prompt(text) == reading.parse_prompt(text)
    assert parse_prompt(text).warnings() == []


def test_the_check_finds_attributes_bound_to_the_wrong_noun():
    text = "a blue square right of a red triangle"
    swapped = SceneRequest(
        (ObjectRequest("square", "red"), ObjectRequest("triangle", "blue")),
        (RelationRequest(0, "right of", 1),),
    )
    verdict = check_reading(reading._tokenize(text), PromptParse(swapped))
    assert verdict.unaccounted == ("blue square", "red triangle")
    assert verdict.invented == ()


def test_the_check_finds_a_count_an_object_and_a_relation_nobody_wrote():
    text = "a red star next to a circle"
    made_up = SceneRequest(
        (ObjectRequest("star", "red", count=3), ObjectRequest("circle"), ObjectRequest(None)),
        (RelationRequest(0, "above", 1),),
    )
    verdict = check_reading(reading._tokenize(text), PromptParse(made_up))
    assert verdict.invented == (
        "3 objects from 2 noun phrases",
        "an object with no shape word",
        "count 3",
        "relation above",
    )
    assert verdict.unaccounted == ("next to",)


def test_words_said_not_understood_are_not_repeated_as_left_out():
    parsed = parse_prompt("a pebble shape in red")  # "pebble" probably names the shape
    assert parsed.canonical == "a red object"
    assert parsed.unknown_words == ["pebble"] and parsed.unaccounted == ["pebble"]
    assert parsed.warnings() == ["not understood: pebble"]


def test_the_cli_caption_reports_what_the_reading_left_out(capsys):
    rc = main(["world", "caption", "a circle coloured both red and blue", "--lenient", "--json"])
    out = json.loads(capsys.readouterr().out)
    assert rc == 0
    assert out["unaccounted"] == ["blue"]
    assert "left out of the reading: blue" in out["warnings"]
    rc = main(["world", "caption", "a circle coloured both red and blue"])  # not --lenient
    assert rc == 2
    assert "left out of the reading: blue" in capsys.readouterr().err
