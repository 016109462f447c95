"""Specification of `genlab data prepare`: every curation step counts exactly what it removed, steps
switch off, captions are cleaned or re-captioned, and the output is complete WebDataset shards."""

import io
import json
import tarfile

import numpy as np
import pytest
from PIL import Image

from genlab.cli import main
from genlab.data.curate import CurationConfig, clean_caption, open_source, prepare
from genlab.data.shards import ShardDataset
from genlab.errors import InvalidArgument


def _noise_png(path, seed, size=(24, 24)):
    """A random image: its perceptual hash is far from every other seed's."""
    rng = np.random.default_rng(seed)
    arr = rng.integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)
    Image.fromarray(arr).save(path)
    return arr


@pytest.fixture
def messy_folder(tmp_path):
    """10 good images, 3 planted near-duplicates, 2 corrupt files, 2 boilerplate-only captions,
    1 caption with boilerplate around real words, 1 tiny image, 1 too-wide image, 1 caption that
    is not UTF-8, 1 image with no caption at all."""
    root = tmp_path / "src"
    root.mkdir()
    for i in range(10):
        _noise_png(root / f"good{i}.png", i)
        (root / f"good{i}.txt").write_text(f"picture number {i}")
    for i in range(3):  # the same pixels as good0..2, re-encoded as JPEG: pHash stays close
        arr = np.asarray(Image.open(root / f"good{i}.png"))
        Image.fromarray(arr).save(root / f"dup{i}.jpg", quality=90)
        (root / f"dup{i}.txt").write_text(f"a copy of {i}")
    (root / "broken1.png").write_bytes((root / "good0.png").read_bytes()[:40])  # truncated
    (root / "broken2.png").write_bytes(b"this is not an image at all")
    (root / "broken1.txt").write_text("broken")
    (root / "broken2.txt").write_text("broken")
    for i, junk in enumerate(["IMG_1234.jpg", "  click to enlarge  "]):
        _noise_png(root / f"junk{i}.png", 100 + i)
        (root / f"junk{i}.txt").write_text(junk)
    _noise_png(root / "messy.png", 200)
    (root / "messy.txt").write_text("  a red   kite\n over hills  DSC_0042.JPG  click to enlarge")
    _noise_png(root / "tiny.png", 300, size=(4, 4))
    (root / "tiny.txt").write_text("small")
    _noise_png(root / "wide.png", 301, size=(60, 12))
    (root / "wide.txt").write_text("wide")
    _noise_png(root / "latin.png", 302)
    (root / "latin.txt").write_bytes("caf\xe9 au lait".encode("latin-1"))
    _noise_png(root / "nocaption.png", 303)
    return root


def test_prepare_counts_every_planted_problem_exactly(messy_folder, tmp_path):
    out = tmp_path / "out"
    manifest = prepare(messy_folder, out, CurationConfig(workers=1), progress=False)
    report = manifest["report"]
    assert report["skipped_by_source"] == {"unreadable caption": 1}
    assert report["removed"] == {
        "corrupt": 2,
        "too small": 1,
        "aspect ratio": 1,
        "no caption": 3,  # two boilerplate-only captions and the image without one
        "caption length": 0,
        "near duplicate": 3,
        "low quality": 0,
    }
    assert report["captions_changed"] == {"cleaned": 1, "recaptioned": 0}
    assert report["read"] == 22 - 1  # 22 images; the one with a non-UTF-8 caption is not read
    assert report["kept"] == 11  # 10 good + the cleaned one
    data = ShardDataset(out)
    captions = sorted(data[i]["caption"] for i in range(len(data)))
    assert "a red kite over hills" in captions
    assert all("IMG_" not in c and "click" not in c for c in captions)
    assert json.loads((out / "manifest.json").read_text())["report"] == report


def test_switched_off_steps_remove_nothing(messy_folder, tmp_path):
    config = CurationConfig(
        workers=1, min_size=None, max_aspect=None, dedup=False, clean_captions=False
    )
    report = prepare(messy_folder, tmp_path / "out", config, progress=False)["report"]
    assert report["removed"]["too small"] == 0
    assert report["removed"]["aspect ratio"] == 0
    assert report["removed"]["near duplicate"] == 0
    assert report["removed"]["no caption"] == 1  # uncleaned junk captions are kept as text
    assert report["removed"]["corrupt"] == 2  # corrupt files are always skipped
    assert report["kept"] == 21 - 2 - 1


def test_process_pool_gives_the_same_shards_as_one_process(messy_folder, tmp_path):
    one = prepare(messy_folder, tmp_path / "a", CurationConfig(workers=1), progress=False)
    two = prepare(messy_folder, tmp_path / "b", CurationConfig(workers=2), progress=False)
    assert one["report"] == two["report"]
    assert (tmp_path / "a" / "shard-000000.tar").read_bytes() != b""
    a, b = ShardDataset(tmp_path / "a"), ShardDataset(tmp_path / "b")
    assert [a.raw(i).data for i in range(len(a))] == [b.raw(i).data for i in range(len(b))]


def test_dedup_threshold_is_the_largest_hamming_distance_removed(tmp_path):
    from genlab.data.curate import HASHES, hash_distance

    root = tmp_path / "src"
    root.mkdir()
    arr = _noise_png(root / "a.png", 0, size=(32, 32)).copy()
    arr[:10, :10] = 0  # an edited copy: close to the original, but not the same hash
    Image.fromarray(arr).save(root / "b.png")
    for name in ("a", "b"):
        (root / f"{name}.txt").write_text("noise")
    hash_of = HASHES[CurationConfig.dedup_hash]
    d = hash_distance(hash_of(Image.open(root / "a.png")), hash_of(Image.open(root / "b.png")))
    assert 0 < d < 256

    def removed(threshold):
        config = CurationConfig(workers=1, dedup_threshold=threshold)
        report = prepare(root, tmp_path / f"out{threshold}", config, progress=False)["report"]
        return report["removed"]["near duplicate"]

    assert removed(d) == 1
    assert removed(d - 1) == 0


def test_world_images_are_recaptioned_with_the_parsed_scene(tmp_path):
    manifest = prepare(
        "world:6", tmp_path / "out", CurationConfig(workers=1, recaption="all"), progress=False
    )
    assert manifest["report"]["captions_changed"]["recaptioned"] == 6
    data = ShardDataset(tmp_path / "out")
    sample = data.raw(0)
    from genlab.world import Scene

    scene = Scene.from_json(sample.meta["scene"])
    for obj in scene.objects:  # the canonical caption names every object the parser found
        assert f"{obj.size} {obj.color} {obj.shape}" in sample.caption


def test_quality_hook_drops_samples_below_the_threshold(messy_folder, tmp_path):
    def by_caption_length(images, captions):
        return [len(c) / 100 for c in captions]

    config = CurationConfig(workers=1, quality_threshold=0.17)
    manifest = prepare(
        messy_folder, tmp_path / "out", config, quality=by_caption_length, progress=False
    )
    # "picture number N" is 16 characters (0.16 < 0.17); the cleaned caption is 21.
    assert manifest["report"]["removed"]["low quality"] == 10
    assert manifest["report"]["kept"] == 1


def test_a_quality_threshold_without_a_quality_hook_is_refused(messy_folder, tmp_path):
    # data sits below eval: the hook (e.g. genlab.eval.features.world_clip_quality) is passed in
    config = CurationConfig(workers=1, quality_threshold=0.17)
    with pytest.raises(InvalidArgument, match="quality"):
        prepare(messy_folder, tmp_path / "out", config, progress=False)
    assert not (tmp_path / "out").exists(), "refused before anything is written"


def test_caption_cleaning_rules():
    assert clean_caption("IMG_1234.jpg") is None
    assert clean_caption("Click to enlarge") is None
    assert clean_caption("  a   cat &amp; a dog <b>now</b> ") == "a cat & a dog now"
    assert clean_caption("see https://x.example/a.png a blue sky") == "see a blue sky"
    assert clean_caption(None) is None


def test_cli_prepare_prints_the_report_and_refuses_to_overwrite(messy_folder, tmp_path, capsys):
    out = tmp_path / "out"
    assert (
        main(
            [
                "data",
                "prepare",
                str(messy_folder),
                "--out",
                str(out),
                "--workers",
                "1",
                "--no-progress",
            ]
        )
        == 0
    )
    text = capsys.readouterr().out
    assert "removed (near duplicate): 3" in text
    assert "removed (corrupt): 2" in text
    assert "kept 11 in 1 shard(s)" in text
    assert main(["data", "prepare", str(messy_folder), "--out", str(out), "--no-progress"]) == 2
    assert "empty or new folder" in capsys.readouterr().err


def test_cli_prepare_rejects_a_missing_source_in_one_line(tmp_path, capsys):
    assert main(["data", "prepare", str(tmp_path / "nope"), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("genlab: error: source") and "\n" not in err


def test_shards_are_complete_tar_files_with_png_txt_json(messy_folder, tmp_path):
    out = tmp_path / "out"
    prepare(messy_folder, out, CurationConfig(workers=1, shard_size=4), progress=False)
    tars = sorted(out.glob("*.tar"))
    assert [t.name for t in tars] == [f"shard-{i:06d}.tar" for i in range(3)]
    assert not list(out.glob(".*tmp"))
    with tarfile.open(tars[0]) as tar:
        names = tar.getnames()
        meta = json.loads(tar.extractfile("00000000.json").read())
        Image.open(io.BytesIO(tar.extractfile("00000000.png").read())).verify()
    assert names[:3] == ["00000000.png", "00000000.txt", "00000000.json"]
    assert meta["source_key"] and meta["caption_source"] in ("original", "cleaned")


def test_clean_captions_are_left_alone():
    from genlab.data.world import world_item

    for i in range(50):
        text = world_item(0, i)[1]
        assert clean_caption(text) == text


def test_world_clip_quality_scores_matching_captions_above_swapped_ones():
    from genlab.data.world import world_item
    from genlab.eval.features import world_clip_quality
    from genlab.world import render

    items = [world_item(0, i) for i in range(12)]
    images = [Image.fromarray(render(scene, 32)) for scene, _ in items]
    captions = [text for _, text in items]
    matched = np.mean(world_clip_quality(images, captions))
    swapped = np.mean(world_clip_quality(images, captions[1:] + captions[:1]))
    assert matched > swapped


def test_distinct_small_world_scenes_are_kept_and_only_their_copies_removed(tmp_path):
    """The issue that set the default: a 64-bit pHash at threshold 4 removed 57 of 300 distinct
    world scenes. Now every scene that is removed shows what a kept one shows."""
    from genlab.world.spec import Scene

    def content(scene_json):
        scene = Scene.from_json(scene_json)
        objects = sorted((o.color, o.shape, o.size, o.row, o.col) for o in scene.objects)
        return scene.background, tuple(objects)

    out = tmp_path / "out"
    manifest = prepare("world:300", out, CurationConfig(workers=1), progress=False)
    data = ShardDataset(out)
    kept = {
        data.raw(i).meta["source_key"]: content(data.raw(i).meta["scene"]) for i in range(len(data))
    }
    removed = manifest["report"]["removed"]["near duplicate"]
    assert removed == 300 - len(kept) and removed <= 1
    all_scenes = {r.key: content(r.meta["scene"]) for r in open_source("world:300").iter_raw()}
    for key, scene in all_scenes.items():
        if key not in kept:
            assert scene in kept.values()  # a copy of a scene that was kept


def test_webdataset_reads_the_shards_prepare_writes_from_a_path_or_a_pipe(tmp_path):
    wds = pytest.importorskip("webdataset")
    out = tmp_path / "out"
    prepare("world:6", out, CurationConfig(workers=1, dedup=False), progress=False)
    ours = ShardDataset(out)
    shard = out / "shard-000000.tar"
    for url in (str(shard), f"pipe:cat {shard}"):  # a file, and a stream as from a URL
        samples = list(wds.WebDataset(url, shardshuffle=False).decode("pil"))
        assert [s["__key__"] for s in samples] == [ours.raw(i).key for i in range(len(ours))]
        for i, s in enumerate(samples):
            assert s["txt"] == ours[i]["caption"]
            assert s["png"].size == (32, 32) and s["json"]["caption_source"] == "original"
