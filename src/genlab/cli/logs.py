"""What the command line shows besides its results: the library logs with `logging` under the
"genlab" logger, and the CLI writes those records to stderr (through tqdm, so a progress bar
stays whole) at the level the global --verbose / --quiet choose; --quiet hides the bars too.
"""

from __future__ import annotations

import contextlib
import logging
import sys

from tqdm import tqdm

from genlab.progress import progress_bar


class TqdmHandler(logging.Handler):
    """A record as one line on stderr, above any progress bar (tqdm.write)."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            tqdm.write(self.format(record), file=sys.stderr)
        except Exception:
            self.handleError(record)


def configure(verbose: bool = False, quiet: bool = False) -> None:
    """Show genlab's log records on stderr: INFO and up by default, DEBUG with --verbose (named
    by logger), WARNING and up with --quiet. Calling it again replaces the earlier setting."""
    logger = logging.getLogger("genlab")
    for handler in [h for h in logger.handlers if isinstance(h, TqdmHandler)]:
        logger.removeHandler(handler)
    handler = TqdmHandler()
    handler.setFormatter(logging.Formatter("%(name)s: %(message)s" if verbose else "%(message)s"))
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG if verbose else logging.WARNING if quiet else logging.INFO)


def add_progress_flag(parser, help: str = "no progress bar") -> None:
    """A command's --no-progress switch, which show_progress reads (with the global --quiet)."""
    parser.add_argument("--no-progress", action="store_true", help=help)


def show_progress(args) -> bool:
    """Whether a command draws progress bars: not with its --no-progress, nor with --quiet."""
    return not (getattr(args, "no_progress", False) or getattr(args, "quiet", False))


@contextlib.contextmanager
def step_bar(total: int | None, enabled: bool, desc: str = "denoising"):
    """A bar over a pipeline's denoising steps: yields a diffusers-style `callback_on_step_end`
    to pass to the pipeline (or None when disabled). Every pipeline takes one (@diffusers_call);
    a run that restarts at step 0 (prompts drawn one by one) starts the bar again."""
    if not enabled:
        yield None
        return
    bar = progress_bar(total=total, desc=desc, unit="step", leave=False)

    def on_step_end(pipe, step, timestep, callback_kwargs):
        if step + 1 < bar.n:
            bar.reset()
        bar.update(step + 1 - bar.n)
        if bar.n == bar.total:
            bar.refresh()  # the last step shown even when it came within tqdm's mininterval
        return callback_kwargs  # the latents as they are (diffusers' callbacks return the dict)

    try:
        yield on_step_end
    finally:
        bar.close()
