"""Suite-wide test settings: one torch thread (tiny tensors run faster without a thread pool,
and CI has two cores), an isolated genlab data directory, and no hub access."""

import os

import pytest
import torch

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
torch.set_num_threads(int(os.environ.get("GENLAB_TEST_THREADS", "1")))


@pytest.fixture(autouse=True)
def _isolated_genlab_home(tmp_path_factory, monkeypatch):
    """Each test writes history, images and config under its own temporary folders."""
    if "GENLAB_HOME" not in os.environ or os.environ.get("GENLAB_TEST_KEEP_HOME") != "1":
        monkeypatch.setenv("GENLAB_HOME", str(tmp_path_factory.mktemp("genlab-home")))
        monkeypatch.setenv("GENLAB_CONFIG", str(tmp_path_factory.mktemp("genlab-config")))
