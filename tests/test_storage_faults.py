"""When the disk refuses — the history database or the images folder read-only, or the disk full —
the server answers 503 or 507 with a message (never a bare 500 or a dropped connection), the CLI
exits 2 with one line, and nothing is left half-written.

The server and the CLI run as an unprivileged process: under root (as in CI) all capabilities are
dropped with `setpriv`, so file permissions bind it as they bind any user. A full disk is a tiny
tmpfs, mounted where this process may mount (else those tests are skipped, saying why)."""

from __future__ import annotations

import contextlib
import os
import shutil
import stat
import subprocess
import sys
import tempfile
from pathlib import Path

import httpx
import pytest
from PIL import Image

from genlab.history import HistoryStore
from genlab.serve.launch import LocalServer, tiny_text2image_checkpoint

STEPS = 2


def unprivileged() -> list[str]:
    """A command prefix that takes root's power over file permissions away (none needed else)."""
    if os.geteuid() != 0:
        return []
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        pytest.skip("running as root without setpriv: cannot run as an unprivileged process")
    return [setpriv, "--bounding-set=-all", "--inh-caps=-all", "--no-new-privs", "--"]


@contextlib.contextmanager
def tiny_disk(size_kb: int):
    """A fresh tmpfs of `size_kb` KiB, unmounted afterwards."""
    where = Path(tempfile.mkdtemp(prefix="genlab-full-"))
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size_kb}k", "tmpfs", str(where)],
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        where.rmdir()
        pytest.skip(f"cannot mount a tmpfs here ({done.stderr.strip()}): no full disk to test")
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], check=False)
        where.rmdir()


def fill(disk: Path) -> Path:
    """Write a file until the disk has no byte left; returns it (delete it to free the disk)."""
    filler = disk / "filler"
    with open(filler, "wb", buffering=0) as f, contextlib.suppress(OSError):
        while True:
            f.write(b"\0" * 4096)
    return filler


def read_only(*paths: Path):
    for p in paths:
        p.chmod(p.stat().st_mode & ~(stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH))


def writable(*paths: Path):
    for p in paths:
        p.chmod(p.stat().st_mode | stat.S_IWUSR)


def png() -> bytes:
    import io

    buf = io.BytesIO()
    Image.new("RGB", (16, 16), (200, 30, 30)).save(buf, format="PNG")
    return buf.getvalue()


def generate(client, status=202):
    body = {"prompt": "a red circle", "num_inference_steps": STEPS, "seed": 3}
    r = client.post("/api/generate", json=body)
    assert r.status_code == status, r.text
    return r


def wait(client, job_id):
    import time

    deadline = time.monotonic() + 60
    while (job := client.get(f"/api/jobs/{job_id}").json())["status"] not in ("done", "failed"):
        assert time.monotonic() < deadline
        time.sleep(0.05)
    return job


def assert_nothing_half_written(home: Path):
    store = HistoryStore(home / "history.sqlite")
    recorded = {im.path for im in store.list_images(per_page=200).items}
    on_disk = {str(p) for p in (home / "images").rglob("*") if p.is_file()}
    assert on_disk == recorded, "every file is recorded and every record has its file"
    leftovers = [p for p in home.rglob("*") if p.name.endswith((".tmp", ".new"))]
    assert leftovers == []


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    return str(tiny_text2image_checkpoint(tmp_path_factory.mktemp("m") / "tiny.safetensors"))


@pytest.mark.slow
def test_read_only_storage_gives_503_with_a_message_and_writes_nothing(tmp_path, model):
    home = tmp_path / "home"
    with (
        LocalServer(home, models={"tiny": model}, wrapper=unprivileged()) as srv,
        httpx.Client(base_url=srv.url, timeout=60) as client,
    ):
        assert wait(client, generate(client).json()["job_id"])["status"] == "done"
        images = home / "images"
        folders = [images, *[p for p in images.rglob("*") if p.is_dir()]]
        read_only(*folders)
        try:
            r = client.post("/api/images", files={"file": ("a.png", png(), "image/png")})
            assert r.status_code == 503 and "images folder" in r.json()["detail"], r.text
            assert "cannot be written" in r.json()["detail"]
            job = wait(
                client, generate(client).json()["job_id"]
            )  # the row is written, the file not
            assert job["status"] == "failed" and "cannot be written" in job["error"]
            assert str(home) not in job["error"], "no server path in the answer"
            r = client.post("/v1/images/generations", json={"prompt": "a red circle"})
            assert r.status_code == 503 and "images folder" in r.json()["error"]["message"]

            read_only(home, home / "history.sqlite")
            r = generate(client, status=503)
            assert "history database" in r.json()["detail"]
            r = client.get("/api/history")
            assert r.status_code in (200, 503), r.text  # reading may need a file beside the db
            if r.status_code == 503:
                assert "history database" in r.json()["detail"]
            r = client.post("/v1/images/generations", json={"prompt": "a red circle"})
            assert r.status_code == 503 and "history database" in r.json()["error"]["message"]
        finally:
            writable(home, home / "history.sqlite", *folders)
        assert wait(client, generate(client).json()["job_id"])["status"] == "done", "it recovers"
    assert_nothing_half_written(home)


@pytest.mark.slow
def test_a_full_disk_gives_507_with_a_message_and_writes_nothing(model):
    with tiny_disk(1024) as disk:
        home = disk / "home"
        with (
            LocalServer(home, models={"tiny": model}, wrapper=unprivileged()) as srv,
            httpx.Client(base_url=srv.url, timeout=60) as client,
        ):
            assert wait(client, generate(client).json()["job_id"])["status"] == "done"
            filler = fill(disk)
            try:
                r = client.post("/api/images", files={"file": ("a.png", png(), "image/png")})
                assert r.status_code == 507 and "disk is full" in r.json()["detail"], r.text
                r = client.post("/v1/images/generations", json={"prompt": "a blue square"})
                assert r.status_code == 507, r.text
                assert "disk is full" in r.json()["error"]["message"]
                assert "disk is full" in generate(client, status=507).json()["detail"]
            finally:
                filler.unlink()
            assert wait(client, generate(client).json()["job_id"])["status"] == "done"
        assert_nothing_half_written(home)


def cli(home: Path, *args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, GENLAB_HOME=str(home), OMP_NUM_THREADS="1")
    cmd = [*unprivileged(), sys.executable, "-m", "genlab", *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=300, env=env)


def assert_one_line_exit_2(done: subprocess.CompletedProcess, *words: str):
    assert done.returncode == 2, (done.stdout, done.stderr)
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("genlab: error: "), done.stderr
    for word in words:
        assert word in lines[0], lines[0]


@pytest.mark.slow
def test_cli_agent_and_history_exit_2_in_one_line_when_storage_is_read_only(tmp_path, model):
    home = tmp_path / "home"
    HistoryStore(home / "history.sqlite").add_run("generate", "a red circle")
    (home / "images").mkdir()
    read_only(home / "images")
    agent = ["agent", "a red circle", "--image-model", model, "--max-rounds", "1",
             "--candidates", "1", "--steps", "2"]  # fmt: skip
    assert_one_line_exit_2(cli(home, *agent), "images folder", "cannot be written")
    read_only(home, home / "history.sqlite")
    assert_one_line_exit_2(cli(home, *agent), "history database", "cannot be written")
    listing = cli(home, "history")
    if listing.returncode == 0:  # the database could be read without writing beside it
        assert "a red circle" in listing.stdout
    else:
        assert_one_line_exit_2(listing, "history database")
    writable(home, home / "history.sqlite", home / "images")
    assert_nothing_half_written(home)
