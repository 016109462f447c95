"""The Ray engine (one local Ray with 2 CPUs for the whole module): `data prepare --engine ray`
keeps the local engine's samples, also from another process joining with --ray-address;
`generate --from-file` writes stable names and a JSONL index, the same images on either engine;
`eval --engine ray` draws the local engine's image sets."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from genlab.cli import main
from genlab.data.curate import CurationConfig, prepare
from genlab.data.shards import ShardDataset

ray = pytest.importorskip("ray")


@pytest.fixture(scope="module")
def ray_address():
    """A local Ray with 2 CPUs, started once here (10-30 s) and shut down after the module."""
    # on the loopback address: no traffic leaves this machine
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, _node_ip_address="127.0.0.1")
    yield ray.get_runtime_context().gcs_address
    ray.shutdown()


def shard_samples(folder) -> list[tuple]:
    return [
        (s.key, s.meta["source_key"], s.caption, s.data) for s in ShardDataset(folder).iter_raw()
    ]


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_prepare_on_ray_keeps_the_local_engines_samples_in_the_same_shards(tmp_path, ray_address):
    # the coarse 64-bit pHash, which merges some distinct world scenes: dedup has work to do
    config = CurationConfig(workers=2, shard_size=40, dedup_hash="phash")
    local = prepare("world:120", tmp_path / "local", config, progress=False)
    assert local["report"]["removed"]["near duplicate"] > 0

    # another process joins this Ray as a cluster (genlab's code shipped to the workers)
    env = dict(os.environ, OMP_NUM_THREADS="1")
    cli = [sys.executable, "-m", "genlab", "data", "prepare", "world:120"]
    cli += ["--out", str(tmp_path / "ray"), "--shard-size", "40", "--engine", "ray"]
    cli += ["--dedup-hash", "phash"]
    cli += ["--ray-address", ray_address, "--no-progress", "--json"]
    proc = subprocess.run(cli, capture_output=True, text=True, env=env, timeout=240)
    assert proc.returncode == 0, proc.stderr[-2000:]
    joined = json.loads(proc.stdout)
    assert joined["engine"] == "ray" and joined["report"] == local["report"]
    assert joined["shards"] == local["shards"]
    assert shard_samples(tmp_path / "ray") == shard_samples(tmp_path / "local")


def test_engine_flags_are_checked(tmp_path, capsys):
    rc = main(["data", "prepare", "world:5", "--out", str(tmp_path / "x"), "--ray-address", "a:1"])
    assert (
        rc == 2
        and "--ray-address: expected no value unless --engine ray" in capsys.readouterr().err
    )
    assert main(["generate", "a red circle", "--engine", "ray"]) == 2
    assert "--engine: expected only with --from-file" in capsys.readouterr().err
    prompts = tmp_path / "p.txt"
    prompts.write_text("a red circle\n")
    assert main(["generate", "a red circle", "--from-file", str(prompts)]) == 2
    assert "prompt: expected no PROMPT with --from-file" in capsys.readouterr().err
    prompts.write_text("\n  \n")
    assert main(["generate", "--from-file", str(prompts), "--out", str(tmp_path)]) == 2
    assert "at least one prompt" in capsys.readouterr().err
    assert main(["generate"]) == 2
    assert (
        "prompt: expected a prompt, --from-png IMAGE or --from-file PROMPTS"
        in capsys.readouterr().err
    )


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_batch_generation_writes_stable_names_and_an_index_alike_on_both_engines(
    tmp_path, ray_address, capsys
):
    prompts = tmp_path / "prompts.txt"
    prompts.write_text("a red circle\n\na blue square above a green star\nthree yellow stars\n")
    common = ["--from-file", str(prompts), "--n", "2", "--steps", "3", "--seed", "5"]
    assert main(["generate", *common, "--out", str(tmp_path / "local")]) == 0
    assert main(["generate", *common, "--out", str(tmp_path / "ray"), "--engine", "ray"]) == 0
    assert "6 images of 3 prompts" in capsys.readouterr().out

    rows = [json.loads(x) for x in (tmp_path / "ray" / "index.jsonl").read_text().splitlines()]
    assert (tmp_path / "ray" / "index.jsonl").read_text() == (
        tmp_path / "local" / "index.jsonl"
    ).read_text()
    assert [r["prompt"] for r in rows] == [
        "a red circle",
        "a blue square above a green star",
        "three yellow stars",
    ]
    assert [r["seed"] for r in rows] == [5, 7, 9]  # prompt i draws from seed + i·n
    assert rows[1]["files"] == [
        "00001-a-blue-square-above-a-green-0.png",
        "00001-a-blue-square-above-a-green-1.png",
    ]
    for row in rows:
        for k, name in enumerate(row["files"]):
            from genlab.io import read_params

            params = read_params(tmp_path / "ray" / name)
            assert params["prompt"] == row["prompt"] and params["seed"] == row["seed"] + k
            a = np.asarray(Image.open(tmp_path / "ray" / name), dtype=np.int16)
            b = np.asarray(Image.open(tmp_path / "local" / name), dtype=np.int16)
            # the same draw; threads may round a pixel level differently
            assert np.abs(a - b).max() <= 2


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_eval_on_ray_draws_the_local_engines_image_sets(tmp_path, ray_address):
    args = ["eval", "world-oracle:noise=0.2", "--suite", "fid", "--n", "24", "--quiet"]
    assert main([*args, "--out", str(tmp_path / "local")]) == 0
    assert main([*args, "--out", str(tmp_path / "ray"), "--engine", "ray", "--workers", "2"]) == 0
    local = json.loads((tmp_path / "local" / "report.json").read_text())
    on_ray = json.loads((tmp_path / "ray" / "report.json").read_text())
    assert (
        on_ray["fid"]["n_fake"] == 24
        and on_ray["sampling"]["images"] == local["sampling"]["images"]
    )
    assert on_ray["fid"]["fid"] == pytest.approx(local["fid"]["fid"], rel=1e-6)
    assert on_ray["fid"]["kid"] == pytest.approx(local["fid"]["kid"], rel=1e-6, abs=1e-9)
