"""Human preference: votes between two models' images for one prompt are stored in the history
database, pairs come from it, and Elo / Bradley–Terry ratings rank the preferred model first;
the page and API work over real HTTP."""

from __future__ import annotations

import socket
import threading
import time

import httpx
import numpy as np
import pytest

from genlab.errors import InvalidArgument, NotFound
from genlab.eval.preference import (
    PreferenceStore,
    Vote,
    bradley_terry,
    elo,
    preference_router,
    ratings,
)
from genlab.history import HistoryStore


def _image(value: int) -> np.ndarray:
    return np.full((16, 16, 3), value, dtype=np.uint8)


def test_the_model_that_wins_more_is_rated_higher_by_elo_and_bradley_terry():
    votes = (
        [Vote("big", "small", "a")] * 6
        + [Vote("big", "small", "b")] * 2
        + [Vote("small", "big", "tie")]
    )
    e, bt = elo(votes), bradley_terry(votes)
    assert e["big"] > 1000 > e["small"]
    assert bt["big"] > 1000 > bt["small"]
    # P(big beats small) under Bradley–Terry is close to its win share (6.5 of 9 games)
    p = 1 / (1 + 10 ** ((bt["small"] - bt["big"]) / 400))
    assert 0.6 < p < 0.8


def test_ties_leave_equal_ratings_and_records_count_them():
    table = ratings([Vote("a", "b", "tie")] * 4)
    assert [r.games for r in table] == [4, 4]
    assert table[0].bradley_terry == pytest.approx(table[1].bradley_terry)
    assert table[0].elo == pytest.approx(1000) and table[0].ties == 4


def test_pairs_come_from_history_images_and_votes_are_stored(tmp_path):
    db = tmp_path / "history.sqlite"
    history = HistoryStore(db)
    with pytest.raises(NotFound, match="two different models"):
        PreferenceStore(db).next_pair()
    a = history.add_image(_image(10), {"prompt": "a red circle"}, model="model-a")
    b = history.add_image(_image(200), {"prompt": "a red circle"}, model="model-b")
    other = history.add_image(_image(90), {"prompt": "a blue star"}, model="model-b")
    store = PreferenceStore(db)
    pair = store.next_pair(seed=0)
    assert {pair.image_a, pair.image_b} == {a.id, b.id} and pair.prompt == "a red circle"
    store.vote(a.id, b.id, "a", rater="tester")
    store.vote(b.id, a.id, "b")
    again = PreferenceStore(db)  # a new connection reads what was committed
    assert [(v.model_a, v.winner) for v in again.votes()] == [("model-a", "a"), ("model-b", "b")]
    assert again.ratings()[0].model == "model-a" and again.ratings()[0].wins == 2
    with pytest.raises(InvalidArgument, match="same prompt"):
        store.vote(a.id, other.id, "a")
    with pytest.raises(InvalidArgument, match="one of a, b, tie"):
        store.vote(a.id, b.id, "left")
    with pytest.raises(NotFound):
        store.vote(a.id, "no-such-image", "a")


def test_the_preference_page_and_api_work_over_http(tmp_path):
    import uvicorn
    from fastapi import FastAPI

    db = tmp_path / "history.sqlite"
    history = HistoryStore(db)
    a = history.add_image(_image(10), {"prompt": "two squares"}, model="m1")
    b = history.add_image(_image(240), {"prompt": "two squares"}, model="m2")
    app = FastAPI()
    app.include_router(preference_router(db))
    # the server gets a socket already bound to a free port: no other test process can take it
    # between choosing the port and listening on it (as with pytest-xdist's parallel workers)
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="error"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        base = f"http://127.0.0.1:{port}"
        for _ in range(100):
            if server.started:
                break
            time.sleep(0.05)
        page = httpx.get(f"{base}/preference")
        assert page.status_code == 200 and "Which image fits the prompt better?" in page.text
        pair = httpx.get(f"{base}/api/preference/pair").json()
        assert {pair["image_a"], pair["image_b"]} == {a.id, b.id}
        assert pair["url_a"] == f"/api/images/{pair['image_a']}" and "m1" not in str(pair)
        winner = "a" if pair["image_a"] == b.id else "b"  # vote for m2
        ok = httpx.post(f"{base}/api/preference/vote", json={**pair, "winner": winner})
        assert ok.status_code == 200
        bad = httpx.post(f"{base}/api/preference/vote", json={**pair, "winner": "both"})
        assert bad.status_code == 422 and "winner" in bad.text
        table = httpx.get(f"{base}/api/preference/ratings").json()
        assert table[0]["model"] == "m2" and table[0]["wins"] == 1
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()
