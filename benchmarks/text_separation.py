"""How far apart a text-to-image model's text encoder puts prompts that differ in one thing: the
cosine similarity of the pooled outputs and of the least alike aligned output tokens, for
relations, counts, binding, absolute position, color and size, and for video models motion
direction, kind and binding (pairs whose words a model does not know are left out). A denoiser can only learn what
its conditioning tells apart: near 1.0 means "almost the same prompt" to the model.

For a video U-Net with 3-D convolution blocks it also prints what steers those blocks: the cosine
of the prompt's part of their embedding, the pooled text's projection alone ("pooled path") and,
with `temporal_text`, plus the learned queries' reading of the tokens ("with queries").

Usage: python benchmarks/text_separation.py [MODEL ...] [--json PATH]
(bundled names or checkpoint files of text-to-image models; default: world-t2i)
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import torch

import genlab
from genlab.errors import GenlabError

PAIRS = (  # (what differs, prompt a, prompt b)
    ("relation", "a red circle above a blue square", "a red circle below a blue square"),
    ("relation", "a red circle to the left of a blue square",
     "a red circle to the right of a blue square"),
    ("count", "two red circles", "four red circles"),
    ("count", "three squares", "two squares"),
    ("binding", "a red circle and a blue square", "a blue circle and a red square"),
    ("absolute position", "a red circle in the top left", "a red circle in the bottom right"),
    ("color", "a red circle", "a blue circle"),
    ("size", "a small red circle", "a large red circle"),
    # video models: what a motion caption must get across
    ("motion direction", "a red circle moving left", "a red circle moving right"),
    ("motion direction", "a red circle moving up", "a red circle moving down"),
    ("motion kind", "a red circle growing", "a red circle shrinking"),
    ("motion binding", "a red circle moving right while a blue square grows",
     "a blue circle moving right while a red square grows"),
)  # fmt: skip


def knows(text_encoder, *prompts: str) -> bool:
    """Whether every word of the prompts is in the encoder's vocabulary."""
    from genlab.text import split_words

    return all(w in text_encoder.tokenizer.index for p in prompts for w in split_words(p))


@torch.inference_mode()
def separation(text_encoder, a: str, b: str) -> tuple[float, float]:
    """(pooled cosine, least aligned-token cosine) of prompts a and b."""
    enc = text_encoder.encode([a, b])
    pooled = torch.cosine_similarity(enc.pooled[0], enc.pooled[1], dim=0)
    both = enc.mask[0] & enc.mask[1]
    tokens = torch.cosine_similarity(enc.tokens[0][both], enc.tokens[1][both], dim=-1)
    return float(pooled), float(tokens.min())


@torch.inference_mode()
def steering(denoiser, text_encoder, a: str, b: str) -> tuple[float, float | None]:
    """(pooled path, with queries) cosines of the prompt part of what steers a video U-Net's 3-D
    blocks (the timestep's part, the same for both, left out); None without queries."""
    enc = text_encoder.encode([a, b])
    pooled = denoiser.pooled_embed(enc.pooled)
    plain = float(torch.cosine_similarity(pooled[0], pooled[1], dim=0))
    if getattr(denoiser, "temporal_text", None) is None:
        return plain, None
    steer = pooled + denoiser.temporal_text(enc.tokens, enc.mask)
    return plain, float(torch.cosine_similarity(steer[0], steer[1], dim=0))


def print_steering(results: dict) -> None:
    print("\nwhat steers the video U-Net's 3-D blocks (cosine of the prompt's part)")
    print(f"{'model':28s} {'prompt a / prompt b':62s} {'pooled path':>12s} {'with queries':>13s}")
    for name, rows in results.items():
        name = Path(name).stem if name.endswith(".safetensors") else name
        for _, a, b, plain, queried in rows:
            q = "n/a" if queried is None else f"{queried:.3f}"
            print(f"{name[:28]:28s} {(a + ' / ' + b)[:62]:62s} {plain:12.3f} {q:>13s}")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("models", nargs="*", default=["world-t2i"])
    ap.add_argument("--json", help="also write the figures here")
    args = ap.parse_args(argv)
    results, steered = {}, {}
    for name in args.models:
        try:
            pipe = genlab.load(name)
        except GenlabError as e:
            print(f"genlab: error: {e}", file=sys.stderr)
            return 2
        encoder = getattr(pipe, "text_encoder", None)
        if encoder is None:
            print(f"genlab: error: {name} has no text encoder", file=sys.stderr)
            return 2
        encoder.eval()
        results[name] = [
            (kind, a, b, *separation(encoder, a, b))
            if knows(encoder, a, b)
            else (kind, a, b, None, None)  # words it has never seen: no figure
            for kind, a, b in PAIRS
        ]
        denoiser = pipe.denoiser
        if getattr(denoiser, "temporal_conv", None):  # a video U-Net with 3-D blocks
            denoiser.eval()
            steered[name] = [
                (kind, a, b, *steering(denoiser, encoder, a, b))
                for kind, a, b in PAIRS
                if kind.startswith("motion") and knows(encoder, a, b)
            ]
    labels = [Path(n).stem if n.endswith(".safetensors") else n for n in results]
    width = max(len(n) for n in labels)
    print(f"{'differs in':18s} {'prompt a / prompt b':62s} " + " ".join(
        f"{n:>{max(width, 13)}s}" for n in labels))  # fmt: skip
    print(f"{'':18s} {'':62s} " + " ".join(
        f"{'pooled  token':>{max(width, 13)}s}" for _ in results))  # fmt: skip
    for i, (kind, a, b) in enumerate(PAIRS):
        if all(results[n][i][3] is None for n in results):
            continue
        cells = " ".join(
            f"{'n/a':>{max(width, 13)}s}"
            if results[n][i][3] is None
            else f"{results[n][i][3]:>{max(width, 13) - 7}.3f} {results[n][i][4]:6.3f}"
            for n in results
        )
        print(f"{kind:18s} {(a + ' / ' + b)[:62]:62s} {cells}")
    if steered:
        print_steering(steered)
    if args.json:
        rows = {
            n: [dict(differs=k, a=a, b=b, pooled=p, token=t) for k, a, b, p, t in r]
            for n, r in results.items()
        }
        for n, r in steered.items():
            rows[f"{n} (3-D blocks' steering)"] = [
                dict(differs=k, a=a, b=b, pooled_path=p, with_queries=q) for k, a, b, p, q in r
            ]
        with open(args.json, "w") as f:
            json.dump(rows, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
