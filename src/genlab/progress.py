"""Progress bars (tqdm) for work a person waits on: a bar appears only once the work has lasted
DELAY_S seconds, so quick commands and one-line errors stay clean on stderr.
"""

from __future__ import annotations

from tqdm import tqdm

DELAY_S = 2.0


def progress_bar(iterable=None, *, enabled: bool = True, **kwargs) -> tqdm:
    """tqdm(iterable, **kwargs), shown after DELAY_S seconds; nothing at all when not enabled."""
    return tqdm(iterable, delay=DELAY_S, disable=not enabled, **kwargs)
