"""The built-in synthetic world: scene specs, renderer, captioner, prompt grammar, scene parser.
Everything here is pure numpy and deterministic for a seed, so any part of genlab can rely on it.
"""

from genlab.world.caption import TEMPLATES, caption, caption_and_request  # noqa: F401
from genlab.world.grammar import (  # noqa: F401
    ObjectRequest,
    PromptParse,
    RelationRequest,
    SceneRequest,
    canonical_caption,
    parse_prompt,
    realize,
    request_of,
)
from genlab.world.match import Check, Match, match  # noqa: F401, E402
from genlab.world.parser import ParsedObject, ParsedScene, parse_image  # noqa: F401, E402
from genlab.world.render import render  # noqa: F401
from genlab.world.sample import sample_scene  # noqa: F401
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
from genlab.world.video import (  # noqa: F401, E402
    ParsedVideo,
    classify_motion,
    parse_video,
    render_video,
    sample_video_scene,
    track_objects,
)
