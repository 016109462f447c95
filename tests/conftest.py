"""Suite-wide test settings: one torch thread (tiny tensors run faster without a thread pool,
and CI has two cores), a throwaway genlab data/config directory, and no hub access."""

import os
import tempfile

import torch

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
# Tests never touch the user's real history or config; tests that need their own folder set it.
_session_dir = tempfile.mkdtemp(prefix="genlab-tests-")
os.environ.setdefault("GENLAB_HOME", os.path.join(_session_dir, "home"))
os.environ.setdefault("GENLAB_CONFIG", os.path.join(_session_dir, "config"))
torch.set_num_threads(int(os.environ.get("GENLAB_TEST_THREADS", "1")))
