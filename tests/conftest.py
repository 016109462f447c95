"""Suite-wide test settings: one torch thread (tiny tensors run faster without a thread pool,
and CI runs two pytest-xdist workers on two cores), a throwaway genlab data/config directory per
test process, and no hub access."""

import atexit
import json
import os
import shutil
import tempfile

import pytest
import torch

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
# Tests never touch the user's real history or config; tests that need their own folder set it.
# Set, not defaulted: xdist workers inherit the controller's environment, and two workers on one
# history database would see each other's runs; each process (each worker) gets its own folder.
_session_dir = tempfile.mkdtemp(prefix="genlab-tests-")
atexit.register(shutil.rmtree, _session_dir, ignore_errors=True)
os.environ["GENLAB_HOME"] = os.path.join(_session_dir, "home")
os.environ["GENLAB_CONFIG"] = os.path.join(_session_dir, "config")
_threads = os.environ.get("GENLAB_TEST_THREADS", "1")
torch.set_num_threads(int(_threads))
# the programs tests start (CLI runs, servers, torchrun) take as few threads as the tests do
os.environ.setdefault("OMP_NUM_THREADS", _threads)


# Shared fixtures. A module's own fixture of the same name takes precedence over these.

CHROMIUM = "/usr/bin/chromium"


@pytest.fixture
def store(tmp_path):
    """A fresh history database (real SQLite) in the test's own folder."""
    from genlab.history import HistoryStore

    return HistoryStore(tmp_path / "history.sqlite")


@pytest.fixture
def one_thread():
    """One intra-op torch thread for the test, whatever GENLAB_TEST_THREADS says: small tensors,
    many steps, where threads only spin against each other on a shared CPU."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture
def no_bundled_models(tmp_path, monkeypatch):
    """An install whose weights folder is empty: no bundled model at all (world-t2v is bundled)."""
    from genlab.pipelines import registry

    monkeypatch.setattr(registry, "WEIGHTS_DIR", tmp_path / "no-weights")


@pytest.fixture(scope="session")
def browser():
    """One headless Chromium for the whole session (starting it costs seconds); each test or
    module opens its own context (own cookies, viewport, storage) and closes it."""
    from playwright.sync_api import sync_playwright

    if not os.path.exists(CHROMIUM):
        pytest.skip(f"headless Chromium not installed at {CHROMIUM}")
    with sync_playwright() as p:
        chromium = p.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--no-first-run",
            ],
        )
        yield chromium
        chromium.close()


@pytest.fixture(scope="session")
def tiny_models(tmp_path_factory):
    """Tiny untrained checkpoints, built once per session, for tests that need a real model file
    but no quality: {"t2i": text-to-image (unet-tiny, 32 px), "video": text-to-video (16 px,
    4 frames, first-frame conditioned)}. Read-only: a test that changes a file makes its own."""
    from genlab.serve.launch import tiny_text2image_checkpoint

    folder = tmp_path_factory.mktemp("tiny-models")
    return {
        "t2i": tiny_text2image_checkpoint(folder / "tiny.safetensors"),
        "video": tiny_video_checkpoint(folder),
    }


def tiny_video_checkpoint(folder):
    """A tiny first-frame-conditioned text-to-video model (16×16, like world-tiny's images)."""
    from genlab.diffusion import NoiseSchedule
    from genlab.io import save_checkpoint
    from genlab.models import create_model
    from genlab.pipelines.text2video import Text2VideoPipeline
    from genlab.text import TextEncoder

    torch.manual_seed(0)
    denoiser = create_model("video-dit-tiny", max_frames=8, frame_cond=True)
    for p in denoiser.parameters():
        torch.nn.init.normal_(p, std=0.05)
    pipe = Text2VideoPipeline(
        denoiser, TextEncoder(width=32, depth=1, num_heads=2, max_length=16),
        NoiseSchedule.create("cosine"), "v_prediction", name="video-tiny", image_size=16,
        num_frames=4,
    )  # fmt: skip
    return save_checkpoint(folder / "video-tiny.safetensors", *pipe.checkpoint())


@pytest.fixture(scope="session")
def tiny_sd(tmp_path_factory):
    """A Stable Diffusion pipeline with a few thousand parameters, saved like a real one (a
    diffusers folder; read-only)."""
    from diffusers import (
        AutoencoderKL,
        DDIMScheduler,
        StableDiffusionPipeline,
        UNet2DConditionModel,
    )
    from transformers import CLIPTextConfig, CLIPTextModel, CLIPTokenizer

    root = tmp_path_factory.mktemp("tiny-sd")
    vocab = {"<|startoftext|>": 0, "<|endoftext|>": 1}
    for c in "abcdefghijklmnopqrstuvwxyz":
        vocab[c] = len(vocab)
        vocab[c + "</w>"] = len(vocab)
    (root / "vocab.json").write_text(json.dumps(vocab))
    (root / "merges.txt").write_text("#version: 0.2\n")
    torch.manual_seed(0)
    pipe = StableDiffusionPipeline(
        unet=UNet2DConditionModel(
            sample_size=8,
            in_channels=4,
            out_channels=4,
            block_out_channels=(8, 16),
            layers_per_block=1,
            down_block_types=("DownBlock2D", "CrossAttnDownBlock2D"),
            up_block_types=("CrossAttnUpBlock2D", "UpBlock2D"),
            cross_attention_dim=16,
            attention_head_dim=2,
            norm_num_groups=4,
        ),
        vae=AutoencoderKL(
            block_out_channels=(8, 16),
            down_block_types=("DownEncoderBlock2D",) * 2,
            up_block_types=("UpDecoderBlock2D",) * 2,
            latent_channels=4,
            norm_num_groups=4,
            sample_size=16,
        ),
        text_encoder=CLIPTextModel(
            CLIPTextConfig(
                vocab_size=len(vocab),
                hidden_size=16,
                intermediate_size=32,
                num_attention_heads=2,
                num_hidden_layers=2,
                max_position_embeddings=16,
                bos_token_id=0,
                eos_token_id=1,
                pad_token_id=1,
            )
        ),
        tokenizer=CLIPTokenizer(
            str(root / "vocab.json"), str(root / "merges.txt"), model_max_length=16
        ),
        scheduler=DDIMScheduler(),
        safety_checker=None,
        feature_extractor=None,
        requires_safety_checker=False,
    )
    pipe.save_pretrained(root / "pipe")
    return root / "pipe"


@pytest.fixture(scope="session")
def tiny_server(tmp_path_factory, tiny_models):
    """One `genlab serve` (127.0.0.1) with the tiny text-to-image model as "tiny", no token, for
    the modules that need nothing else of a server (starting one costs seconds). Tests that need
    their own settings, an empty history or a server to kill start their own."""
    from genlab.serve.launch import LocalServer

    home = tmp_path_factory.mktemp("tiny-server-home")
    with LocalServer(home, models={"tiny": str(tiny_models["t2i"])}) as srv:
        yield srv
