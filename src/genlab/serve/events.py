"""The response every event route answers with: server-sent events (`security.sse` strings)."""

from __future__ import annotations

from collections.abc import AsyncIterator

from fastapi.responses import StreamingResponse


def event_stream(events: AsyncIterator[str]) -> StreamingResponse:
    """A text/event-stream of `events`, neither cached nor buffered by a proxy."""
    return StreamingResponse(
        events,
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )
