"""Reference "models" for calibrating the metrics: `world-oracle` renders a scene that satisfies the
prompt (the best any model can do), optionally degraded by noise or blur to show how metrics move.

Names: "world-oracle", "world-oracle:noise=0.2", "world-oracle:blur=1.5,size=64".
"""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageFilter

from genlab.errors import InvalidArgument
from genlab.pipelines.base import ContractPipeline, GenerationResult, SamplingArgs
from genlab.pipelines.registry import register_resolver
from genlab.world import parse_prompt, realize, render

PREFIX = "world-oracle"


def degrade(image: np.ndarray, noise: float, blur: float, rng: np.random.Generator) -> np.ndarray:
    """uint8 (H,W,3) -> the same image blurred (Gaussian radius `blur` px) plus N(0, noise²) on
    the [-1, 1] scale."""
    if blur > 0:
        image = np.asarray(Image.fromarray(image).filter(ImageFilter.GaussianBlur(blur)))
    if noise > 0:
        x = image.astype(np.float32) / 127.5 - 1 + noise * rng.standard_normal(image.shape)
        image = ((np.clip(x, -1, 1) + 1) * 127.5).round().astype(np.uint8)
    return image


class WorldOracle(ContractPipeline):
    """Follows the pipeline call contract; each image is a rendering of `realize(prompt)`."""

    def __init__(self, noise: float = 0.0, blur: float = 0.0, size: int = 32):
        for name, value in (("noise", noise), ("blur", blur)):
            if not value >= 0:
                raise InvalidArgument(name, "a number ≥ 0", value)
        self.noise, self.blur, self.size = float(noise), float(blur), int(size)
        self.name = PREFIX if not (noise or blur) else f"{PREFIX}:noise={noise:g},blur={blur:g}"

    def capabilities(self) -> dict:
        return {"backend": "world-renderer", "image": True, "video": False, "samplers": []}

    one_prompt = True

    def _generate(self, args: SamplingArgs, height, width, **options) -> GenerationResult:
        """Image i: the i-th scene drawn from one generator seeded `seed` (metadata "index")."""
        if options:  # it has none: a keyword meant for another model is refused, not ignored
            raise InvalidArgument("option", f"no options for {self.name}", sorted(options)[0])
        prompt, seed = args.prompts[0], args.seed
        size = height or width or self.size
        request = parse_prompt(prompt).request
        rng = np.random.default_rng(seed)
        images, metadata = [], []
        for i in range(args.num_images):
            scene = realize(request, rng)
            pixels = degrade(render(scene, size), self.noise, self.blur, rng)
            images.append(Image.fromarray(pixels))
            metadata.append(
                {
                    "prompt": prompt,
                    "seed": seed,
                    "index": i,
                    "model": self.name,
                    "height": size,
                    "width": size,
                }
            )
        return GenerationResult(images=images, metadata=metadata)


@register_resolver
def _resolve_oracle(name: str, **kwargs):
    if name != PREFIX and not name.startswith(PREFIX + ":"):
        return None
    options = {}
    if ":" in name:
        for item in name.split(":", 1)[1].split(","):
            key, _, value = item.partition("=")
            if key not in ("noise", "blur", "size"):
                raise InvalidArgument("model", "world-oracle options noise=, blur=, size=", item)
            try:
                options[key] = int(value) if key == "size" else float(value)
            except ValueError:
                raise InvalidArgument(f"model option {key}", "a number", value) from None
    return WorldOracle(**options)
