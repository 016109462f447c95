"""The built-in synthetic world: scene specs, renderer, captioner, prompt grammar, scene parser."""

from genlab.world.spec import (  # noqa: F401
    BACKGROUNDS,
    COLORS,
    HELD_OUT,
    MAX_OBJECTS,
    MOTIONS,
    RELATIONS,
    SHAPES,
    SIZES,
    Obj,
    Scene,
)
