"""The `genlab` command line: one subcommand group per module in this package.

Each module `genlab/cli/<group>.py` defines `register(subparsers)` which adds its commands and
sets `func` on the parsed namespace (`logs.py` is not a group: the log output and progress switch). Errors from bad input (GenlabError) become one line on
stderr and exit code 2, never a traceback.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import sys

from genlab import __version__
from genlab.cli.logs import configure
from genlab.cluster import RAY_ADDRESS_HELP, RAY_WORKERS_HELP
from genlab.errors import GenlabError

# Order here is the order in `genlab --help`.
COMMAND_MODULES = [
    "agent",
    "generate",
    "video",
    "world",
    "train",
    "eval",
    "data",
    "models",
    "history",
    "serve",
]


class HelpFormatter(argparse.ArgumentDefaultsHelpFormatter, argparse.RawDescriptionHelpFormatter):
    """Shows each option's default and keeps descriptions' line breaks."""

    def _get_help_string(self, action):
        # "(default: None)", "(default: False)" and "(default: [])" say nothing, nor does a
        # flag's "(default: True)" (--no-compose): the help text says what happens.
        if action.default is None or action.default is False or action.nargs == 0:
            return action.help
        if isinstance(action.default, list | tuple) and not action.default:
            return action.help
        return super()._get_help_string(action)


class ArgumentParser(argparse.ArgumentParser):
    def __init__(self, *args, **kwargs):
        kwargs.setdefault("formatter_class", HelpFormatter)
        super().__init__(*args, **kwargs)


def add_command_group(subparsers, name: str, *, dest: str, metavar: str = "COMMAND", **kwargs):
    """A command with commands of its own (`genlab data prepare`): the group's parser from
    `subparsers.add_parser(name, **kwargs)` prints its help and exits 2 when no command is given;
    returns the group's subparsers, for its commands."""
    group = subparsers.add_parser(name, **kwargs)
    group.set_defaults(func=lambda args: group.print_help() or 2)
    return group.add_subparsers(dest=dest, metavar=metavar)


def add_engine_options(parser: argparse.ArgumentParser, engine_help: str, *, workers=True) -> None:
    """--engine local|ray and --ray-address (and --workers, the Ray CPUs), as `data prepare`,
    `generate --from-file` and `eval` take them."""
    parser.add_argument("--engine", choices=["local", "ray"], default="local", help=engine_help)
    parser.add_argument("--ray-address", help=RAY_ADDRESS_HELP)
    if workers:
        parser.add_argument("--workers", type=int, help=RAY_WORKERS_HELP)


def build_parser() -> argparse.ArgumentParser:
    parser = ArgumentParser(prog="genlab", description="Visual generation, offline first.")
    parser.add_argument("--version", action="version", version=_version())
    loudness = parser.add_mutually_exclusive_group()
    loudness.add_argument(
        "-v", "--verbose", action="store_true", help="show debug messages too (before COMMAND)"
    )
    loudness.add_argument(
        "-q",
        "--quiet",
        action="store_true",
        help="only warnings and errors, no progress bars (before COMMAND)",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=ArgumentParser)
    for name in COMMAND_MODULES:
        modname = f"genlab.cli.{name}"
        if importlib.util.find_spec(modname) is None:
            continue
        importlib.import_module(modname).register(sub)
    return parser


def _version() -> str:
    return f"genlab {__version__}"


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    configure(verbose=args.verbose, quiet=args.quiet)
    try:
        rc = args.func(args)
    except GenlabError as e:
        print(f"genlab: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("genlab: interrupted", file=sys.stderr)
        return 130
    return int(rc or 0)


if __name__ == "__main__":
    sys.exit(main())
