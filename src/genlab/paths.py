"""Where genlab keeps things: the user's data directory (history, images), config and bundled weights.

`GENLAB_HOME` overrides the data directory (tests point it at a temporary folder).
"""

from __future__ import annotations

import os
from pathlib import Path

WEIGHTS_DIR = Path(__file__).parent / "weights"
# The bundled text-to-image model `genlab generate`, `genlab.load` users, the agent and the
# server use when none is named: the two-stage model (the prompt's plan, then the drawing)
# distilled to 4 steps with its guidance folded in. It draws free-form prompts more exactly than
# its teacher at 20 guided steps (issue #32, strictly judged outsider sets: 0.980 against 0.903),
# at a tenth of the network evaluations (docs/experiments/2026-12-07-default-model.md).
DEFAULT_IMAGE_MODEL = "world-t2i-turbo"
# `genlab video`'s and the agent's text-to-video model (its card has the measurements)
DEFAULT_VIDEO_MODEL = "world-t2v-layout"
# the distilled few-step model (genlab.train.distill): `--fast`, the agent's fast candidates;
# now the default itself
FAST_IMAGE_MODEL = "world-t2i-turbo"
# the default's teacher: two stages, 20 DPM-Solver++ steps with classifier-free guidance (it
# acts on negative prompts at its own settings; the distilled default does only above guidance 1)
GUIDED_IMAGE_MODEL = "world-t2i-layout"


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
