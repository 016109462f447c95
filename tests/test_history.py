import sqlite3
import threading
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from genlab.errors import InvalidArgument, NotFound
from genlab.history import HistoryStore
from genlab.io import read_params


def _image(color=(200, 30, 30)):
    arr = np.zeros((32, 32, 3), np.uint8)
    arr[8:24, 8:24] = color
    return Image.fromarray(arr)


def test_default_store_lives_in_genlab_home(tmp_path, monkeypatch):
    monkeypatch.setenv("GENLAB_HOME", str(tmp_path))
    store = HistoryStore()
    rec = store.add_image(_image(), {"prompt": "a red square"})
    assert store.path == tmp_path / "history.sqlite"
    assert rec.path.startswith(str(tmp_path / "images"))


def test_database_uses_wal_journal(store):
    conn = sqlite3.connect(store.path)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_image_is_saved_as_png_with_its_params_and_recorded(store):
    run_id = store.add_run("generate", "a red square", model="world-t2i")
    rec = store.add_image(
        _image(),
        {"prompt": "a red square", "seed": 3, "guidance_scale": 4.0},
        run_id=run_id,
        model="world-t2i",
    )
    params = read_params(rec.path)
    assert params["prompt"] == "a red square" and params["seed"] == 3
    assert params["model"] == "world-t2i" and params["image_id"] == rec.id
    again = store.get_image(rec.id)
    assert (again.prompt, again.seed, again.model, again.run_id) == (
        "a red square",
        3,
        "world-t2i",
        run_id,
    )
    assert (again.width, again.height) == (32, 32)
    assert again.params["guidance_scale"] == 4.0


def test_run_keeps_transcript_images_and_outcome(store):
    run_id = store.add_run("agent", "draw a ball", backend="offline", params={"max_rounds": 3})
    store.append_step(run_id, {"type": "user", "text": "draw a ball"})
    store.append_step(run_id, {"type": "tool_call", "name": "generate_image"})
    rec = store.add_image(_image(), {"prompt": "a circle"}, run_id=run_id, score=0.5)
    store.finish_run(
        run_id, status="done", score=1.0, stop_reason="all satisfied", result={"best": rec.id}
    )
    run = store.get_run(run_id)
    assert [s["type"] for s in run.steps] == ["user", "tool_call"]
    assert [im.id for im in run.images] == [rec.id] and run.num_images == 1
    assert (run.status, run.score, run.stop_reason) == ("done", 1.0, "all satisfied")
    assert run.result == {"best": rec.id} and run.params == {"max_rounds": 3}
    assert run.finished >= run.created
    assert run.to_dict()["images"][0]["id"] == rec.id


def test_listing_is_paged_newest_first_and_searchable_by_prompt(store):
    ids = [store.add_run("generate", f"a {c} circle") for c in ("red", "blue", "green")]
    ids.append(store.add_run("agent", "a blue star 100%"))
    first = store.list_runs(page=1, per_page=3)
    assert first.total == 4 and first.pages == 2
    assert [r.id for r in first.items] == ids[::-1][:3]
    assert [r.id for r in store.list_runs(page=2, per_page=3).items] == [ids[0]]
    assert {r.id for r in store.list_runs(query="BLUE").items} == {ids[1], ids[3]}
    assert [r.id for r in store.list_runs(query="100%").items] == [ids[3]]
    assert store.list_runs(query="%").total == 1, "% is matched literally, not as a wildcard"
    assert [r.id for r in store.list_runs(kind="agent").items] == [ids[3]]


def test_images_listing_filters_by_prompt_and_run(store):
    run_id = store.add_run("agent", "x")
    a = store.add_image(_image(), {"prompt": "a red circle"}, run_id=run_id)
    store.add_image(_image(), {"prompt": "a blue square"})
    assert [i.id for i in store.list_images(query="red").items] == [a.id]
    assert [i.id for i in store.list_images(run_id=run_id).items] == [a.id]
    assert store.list_images().total == 2


def test_unknown_ids_and_bad_pages_are_clear_errors(store):
    with pytest.raises(NotFound, match="no image with id 'nope'"):
        store.get_image("nope")
    with pytest.raises(NotFound, match="no run with id 'nope'"):
        store.get_run("nope")
    with pytest.raises(NotFound, match="no run"):
        store.add_image(_image(), {"prompt": "x"}, run_id="nope")
    with pytest.raises(InvalidArgument, match="page"):
        store.list_runs(page=0)
    with pytest.raises(InvalidArgument, match="per_page"):
        store.list_images(per_page=10_000)
    with pytest.raises(InvalidArgument, match="status"):
        store.add_run("agent", "x", status="weird")


def test_refused_image_leaves_no_orphan_file(store):
    with pytest.raises(NotFound):
        store.add_image(_image(), {"prompt": "x"}, run_id="missing")
    assert not list(store.images_dir.rglob("*.png"))
    assert store.counts() == {"runs": 0, "images": 0}


def test_edit_records_its_parent_image(store):
    base = store.add_image(_image(), {"prompt": "a red square"})
    edit = store.add_image(_image((30, 170, 50)), {"prompt": "a green square"}, parent_id=base.id)
    assert store.get_image(edit.id).parent_id == base.id
    with pytest.raises(NotFound, match="parent_id"):
        store.add_image(_image(), {"prompt": "x"}, parent_id="missing")


def test_video_files_are_copied_in_and_recorded(store, tmp_path):
    src = tmp_path / "clip.gif"
    _image().save(src, save_all=True, append_images=[_image((30, 60, 225))])
    rec = store.add_file(src, {"prompt": "a moving circle"}, kind="video")
    assert rec.kind == "video" and rec.path.endswith(".gif")
    assert store.list_images(kind="video").total == 1


def test_delete_run_removes_rows_and_files(store):
    run_id = store.add_run("agent", "x")
    rec = store.add_image(_image(), {"prompt": "x"}, run_id=run_id)
    store.delete_run(run_id)
    assert store.counts() == {"runs": 0, "images": 0}
    assert not Path(rec.path).exists()


def test_runs_filter_by_status_and_a_result_note_keeps_the_outcome(store):
    cut = store.add_run("generate", "a red square")
    store.finish_run(cut, status="interrupted", stop_reason="interrupted", error="server died")
    store.finish_run(store.add_run("generate", "a blue star"), status="done")
    listed = store.list_runs(status="interrupted")
    assert [r.id for r in listed.items] == [cut] and listed.total == 1
    with pytest.raises(InvalidArgument, match="status"):
        store.list_runs(status="lost")
    store.update_run_result(cut, {"resubmitted_as": "abc", "note": 1})
    store.update_run_result(cut, {"note": None})  # None removes a key
    run = store.get_run(cut)
    assert run.result == {"resubmitted_as": "abc"}
    assert (run.status, run.error, run.stop_reason) == ("interrupted", "server died", "interrupted")


def test_concurrent_writers_from_threads_and_stores_lose_nothing(tmp_path):
    path = tmp_path / "h.sqlite"
    stores = [HistoryStore(path), HistoryStore(path)]
    run_id = stores[0].add_run("agent", "shared")
    errors = []

    def work(k):
        try:
            for i in range(15):
                stores[k % 2].append_step(run_id, {"worker": k, "i": i})
        except Exception as e:  # collected and asserted below
            errors.append(e)

    threads = [threading.Thread(target=work, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    steps = stores[1].get_run(run_id).steps
    assert len(steps) == 60
    assert sorted((s["worker"], s["i"]) for s in steps) == [
        (k, i) for k in range(4) for i in range(15)
    ]
