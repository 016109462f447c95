"""genlab: visual generation you can learn from, build on and use, offline first.

import genlab
pipe = genlab.load("world-t2i")          # a bundled model name, or a checkpoint path
result = pipe("a red circle above a blue square", seed=0)
result.images[0].save("out.png")
"""

__version__ = "0.1.0"


def load(name_or_path: str, **kwargs):
    """Load a pipeline from a bundled model name, a checkpoint path, or a configured model."""
    # every `import genlab.x` runs this file first: the pipelines (and torch) load on first use
    from genlab.pipelines.registry import load as _load

    return _load(name_or_path, **kwargs)


__all__ = ["__version__", "load"]
