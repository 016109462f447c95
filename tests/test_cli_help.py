"""The help of every command shows defaults only where they say something."""

from __future__ import annotations

import argparse

from genlab.cli import build_parser


def all_help() -> dict[str, str]:
    parser = build_parser()
    out = {"genlab": parser.format_help()}
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                out[name] = sub.format_help()
                for inner in sub._actions:
                    if isinstance(inner, argparse._SubParsersAction):
                        out.update(
                            {f"{name} {n}": p.format_help() for n, p in inner.choices.items()}
                        )
    return out


def test_no_help_shows_an_empty_none_or_flag_default():
    pages = all_help()
    assert {"generate", "agent", "train", "data prepare", "serve"} <= set(pages)
    for name, text in pages.items():
        flat = " ".join(text.split())
        for empty in ("(default: None)", "(default: False)", "(default: True)", "(default: [])"):
            assert empty not in flat, (name, empty)
    # a default that says something is still shown
    assert "seed of data order, noise and initialisation (default: 0)" in " ".join(
        pages["train"].split()
    )
