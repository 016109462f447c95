"""The response every event route answers with: server-sent events (`security.sse` strings)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable

from fastapi import Request
from fastapi.responses import StreamingResponse


def event_stream(events: AsyncIterator[str]) -> StreamingResponse:
    """A text/event-stream of `events`, neither cached nor buffered by a proxy."""
    return StreamingResponse(
        events,
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


KEEP_ALIVE = ": keep-alive\n\n"  # an SSE comment: proxies keep a quiet connection open
KEEP_ALIVE_SECONDS = 15.0


async def each_change(
    request: Request, version: Callable[[], int], seen: int, interval: float
) -> AsyncIterator[int | None]:
    """Each new value of `version()` (one differing from `seen`, then from the last one given),
    polled every `interval` seconds; None when KEEP_ALIVE_SECONDS pass without one. Ends when
    the client leaves (what it watched goes on)."""
    last_beat = time.monotonic()
    while True:
        current = version()
        if current != seen:
            seen = current
            yield current
        elif time.monotonic() - last_beat > KEEP_ALIVE_SECONDS:
            last_beat = time.monotonic()
            yield None
        if await request.is_disconnected():
            return
        await asyncio.sleep(interval)
