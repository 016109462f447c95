"""Where genlab keeps things: the user's data directory (history, images), config and bundled weights.

`GENLAB_HOME` overrides the data directory (tests point it at a temporary folder).
"""

from __future__ import annotations

import os
from pathlib import Path

WEIGHTS_DIR = Path(__file__).parent / "weights"
# The bundled text-to-image model `genlab generate`, the agent and the server use when none is
# named: the two-stage model (plan, then draw) follows prompts best of the bundled ones (its card).
DEFAULT_IMAGE_MODEL = "world-t2i-layout"
# `genlab video`'s and the agent's text-to-video model (its card has the measurements)
DEFAULT_VIDEO_MODEL = "world-t2v-layout"
# its distilled few-step student (genlab.train.distill): `--fast`, the agent's fast candidates
FAST_IMAGE_MODEL = "world-t2i-turbo"


def data_dir() -> Path:
    """The user's genlab data directory (created on demand)."""
    root = os.environ.get("GENLAB_HOME")
    if root:
        path = Path(root)
    else:
        base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
        path = Path(base) / "genlab"
    path.mkdir(parents=True, exist_ok=True)
    return path


def config_dir() -> Path:
    """The user's genlab config directory (models.toml lives here); not created on demand."""
    root = os.environ.get("GENLAB_CONFIG")
    if root:
        return Path(root)
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "genlab"


def history_db() -> Path:
    return data_dir() / "history.sqlite"


def images_dir() -> Path:
    path = data_dir() / "images"
    path.mkdir(parents=True, exist_ok=True)
    return path
