"""Server-sent events carry `id:` lines, and a client reconnecting with Last-Event-ID (as a
browser's EventSource does) gets the next change rather than the state it already has: a real
`genlab serve` on 127.0.0.1, spoken to with httpx."""

from __future__ import annotations

import json
import threading

import httpx
import pytest

BODY = {"prompt": "a red circle", "num_inference_steps": 4, "seed": 1, "model": "tiny"}


@pytest.fixture(scope="module")
def client(tiny_server):
    with httpx.Client(base_url=tiny_server.url, timeout=60) as c:
        yield c


def events(response):
    """(id, event, data) of each event as it arrives; id None when the event has none."""
    event_id = event = None
    for line in response.iter_lines():
        if line.startswith("id:"):
            event_id = int(line[3:])
        elif line.startswith("event:"):
            event = line[6:].strip()
        elif line.startswith("data:"):
            yield event_id, event, json.loads(line[5:])
            event_id = event = None


def test_job_events_are_numbered_by_the_jobs_version(client):
    accepted = client.post("/api/generate", json=BODY).json()
    with client.stream("GET", accepted["events_url"]) as response:
        seen = list(events(response))
    ids = [i for i, _, _ in seen]
    assert seen[-1][1] == "done" and None not in ids and ids == sorted(set(ids))
    # a client that saw the final event and reconnects is told to stop (204, as the SSE
    # standard has it); one that missed the end gets it
    again = client.get(accepted["events_url"], headers={"Last-Event-ID": str(ids[-1])})
    assert again.status_code == 204
    with client.stream("GET", accepted["events_url"],
                       headers={"Last-Event-ID": str(ids[0])}) as response:  # fmt: skip
        missed = list(events(response))
    assert [e for _, e, _ in missed] == ["done"] and missed[0][0] == ids[-1]


def test_status_stream_resumes_after_the_last_event_id(client):
    with client.stream("GET", "/api/events") as response:
        first_id, kind, _ = next(events(response))
    assert kind == "status" and isinstance(first_id, int)
    submit = threading.Timer(0.5, lambda: client.post("/api/generate", json=BODY))
    with client.stream("GET", "/api/events", headers={"Last-Event-ID": str(first_id)}) as response:
        submit.start()
        next_id, kind, _ = next(events(response))
    submit.join()
    assert kind == "status" and next_id > first_id  # not the state it had seen again
