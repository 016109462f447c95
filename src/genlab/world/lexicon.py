"""The words of the built-in world: every synonym the captioner may write and the grammar reads.
The first word of each list is the canonical one; both directions come from these tables.
"""

from __future__ import annotations

from genlab.world.spec import BACKGROUNDS, COLORS, MOTIONS, RELATIONS, SHAPES, SIZES

# shape -> [(singular, plural), ...]
SHAPE_WORDS: dict[str, list[tuple[str, str]]] = {
    "circle": [("circle", "circles"), ("ball", "balls"), ("disc", "discs"), ("dot", "dots")],
    "square": [("square", "squares"), ("box", "boxes"), ("block", "blocks")],
    "triangle": [("triangle", "triangles"), ("pyramid", "pyramids")],
    "diamond": [("diamond", "diamonds"), ("rhombus", "rhombuses"), ("lozenge", "lozenges")],
    "star": [("star", "stars"), ("pentagram", "pentagrams")],
}
# Nouns that name an object without saying its shape ("two objects").
ANY_SHAPE_WORDS: list[tuple[str, str]] = [
    ("object", "objects"),
    ("shape", "shapes"),
    ("thing", "things"),
    ("item", "items"),
]
COLOR_WORDS: dict[str, list[str]] = {
    "red": ["red", "crimson", "scarlet"],
    "orange": ["orange", "tangerine"],
    "yellow": ["yellow", "golden", "lemon"],
    "green": ["green", "emerald", "lime"],
    "cyan": ["cyan", "turquoise", "aqua"],
    "blue": ["blue", "cobalt", "sapphire"],
    "purple": ["purple", "violet", "plum"],
    "pink": ["pink", "rose", "fuchsia"],
}
SIZE_WORDS: dict[str, list[str]] = {
    "small": ["small", "little", "tiny"],
    "large": ["large", "big", "huge"],
}
BACKGROUND_WORDS: dict[str, list[str]] = {
    "black": ["black", "dark"],
    "gray": ["gray", "grey"],
    "white": ["white", "light"],
}
RELATION_WORDS: dict[str, list[str]] = {
    "left of": ["left of", "to the left of", "on the left of"],
    "right of": ["right of", "to the right of", "on the right of"],
    "above": ["above", "over", "on top of"],
    "below": ["below", "under", "beneath", "underneath"],
}
INVERSE_RELATION = {
    "left of": "right of",
    "right of": "left of",
    "above": "below",
    "below": "above",
}
# Motion phrases follow the object: "a red circle moving right".
MOTION_WORDS: dict[str, list[str]] = {
    "still": ["staying still", "standing still", "not moving"],
    "left": ["moving left", "sliding left", "moving to the left"],
    "right": ["moving right", "sliding right", "moving to the right"],
    "up": ["moving up", "rising", "moving upward"],
    "down": ["moving down", "falling", "moving downward"],
    "bounce": ["bouncing", "hopping"],
    "grow": ["growing", "getting bigger", "expanding"],
    "shrink": ["shrinking", "getting smaller", "contracting"],
}
# Verb forms used after "while": "while a blue square grows".
MOTION_VERBS: dict[str, list[str]] = {
    "still": ["stays still"],
    "left": ["moves left", "slides left"],
    "right": ["moves right", "slides right"],
    "up": ["moves up", "rises"],
    "down": ["moves down", "falls"],
    "bounce": ["bounces", "hops"],
    "grow": ["grows", "expands"],
    "shrink": ["shrinks", "contracts"],
}
COUNT_WORDS: dict[int, list[str]] = {
    1: ["a", "one", "an"],
    2: ["two"],
    3: ["three"],
    4: ["four"],
    5: ["five"],
    6: ["six"],
    7: ["seven"],
    8: ["eight"],
    9: ["nine"],
    10: ["ten"],
}
# Grid cells: (row, col) with None for "any"; the first phrase is the canonical one.
POSITION_WORDS: dict[tuple[int | None, int | None], list[str]] = {
    (0, 0): ["top left", "upper left", "top left corner"],
    (0, 1): ["top center", "top middle", "upper center"],
    (0, 2): ["top right", "upper right", "top right corner"],
    (1, 0): ["middle left", "center left"],
    (1, 1): ["center", "middle", "centre"],
    (1, 2): ["middle right", "center right"],
    (2, 0): ["bottom left", "lower left", "bottom left corner"],
    (2, 1): ["bottom center", "bottom middle", "lower center"],
    (2, 2): ["bottom right", "lower right", "bottom right corner"],
    (0, None): ["top", "upper half"],
    (1, None): ["middle row"],
    (2, None): ["bottom", "lower half"],
    (None, 0): ["left", "left side"],
    (None, 1): ["center column", "middle column"],
    (None, 2): ["right", "right side"],
}
# Words that carry no meaning here; they are skipped without being reported as unknown.
STOPWORDS = frozenset(
    [
        "the",
        "a",
        "an",
        "of",
        "in",
        "on",
        "at",
        "to",
        "with",
        "and",
        "there",
        "is",
        "are",
        "it",
        "its",
        "image",
        "picture",
        "photo",
        "photograph",
        "drawing",
        "scene",
        "showing",
        "shows",
        "show",
        "containing",
        "contains",
        "has",
        "have",
        "background",
        "backdrop",
        "colored",
        "coloured",
        "color",
        "colour",
        "which",
        "that",
        "one",
        "another",
        "also",
        "next",
        "plus",
        "while",
        "against",
        "some",
        "exactly",
        "just",
        "only",
        "both",
        "each",
        "all",
        "side",
        "corner",
        "other",
    ]
)


def _check_complete() -> None:
    assert set(SHAPE_WORDS) == set(SHAPES)
    assert set(COLOR_WORDS) == set(COLORS)
    assert set(SIZE_WORDS) == set(SIZES)
    assert set(BACKGROUND_WORDS) == set(BACKGROUNDS)
    assert set(RELATION_WORDS) == set(RELATIONS)
    assert set(MOTION_WORDS) == set(MOTIONS) == set(MOTION_VERBS)


_check_complete()


# ----------------------------------------------------------------------------------------------
# Words people write that the captioner never does. The grammar reads them (so they never reach
# a model's training captions or tokenizer); the paraphrase split of the compositional suite
# writes them. Each maps onto the world's own value.
# fmt: off
READ_SHAPE_WORDS: dict[str, list[tuple[str, str]]] = {
    "circle": [("disk", "disks"), ("sphere", "spheres"), ("orb", "orbs"), ("spot", "spots")],
    "square": [("cube", "cubes"), ("tile", "tiles")],
    "triangle": [("wedge", "wedges")],
    "diamond": [("rhomb", "rhombs"), ("gem", "gems")],
    "star": [("asterisk", "asterisks"), ("five pointed star", "five pointed stars"),
             ("5 pointed star", "5 pointed stars"), ("pointed star", "pointed stars")],
}
# Adjectives that say the shape: "a triangular shape", "a round red thing" ("star shaped" and
# the like are made from every shape noun).
SHAPE_ADJECTIVES: dict[str, list[str]] = {
    "circle": ["round", "circular", "spherical"],
    "square": ["squared", "squarish", "boxy", "cubic"],
    "triangle": ["triangular", "three sided", "3 sided", "three cornered", "3 cornered"],
    "diamond": ["rhombic", "diamond like"],
    "star": ["starry", "star like", "five pointed", "5 pointed", "five point", "5 point"],
}
READ_COLOR_WORDS: dict[str, list[str]] = {
    "red": ["ruby", "cherry", "reddish"],
    "orange": ["amber", "orangey", "orangish", "apricot"],
    "yellow": ["gold", "yellowish", "mustard", "canary"],
    "green": ["mint", "jade", "greenish"],
    # the world's blue is a deep one; a light or sky blue is nearest its cyan
    "cyan": ["teal", "aquamarine", "sky blue", "light blue", "baby blue", "turquoise blue",
             "aqua blue", "cyan blue"],
    "blue": ["navy", "azure", "bluish", "blueish", "cerulean", "ultramarine", "sapphire"],
    "purple": ["lavender", "lilac", "purplish", "mauve", "amethyst"],
    "pink": ["magenta", "pinkish", "rosy", "blush"],
}
# A shade before a color word keeps the color: the world has one shade of each ("light green",
# "dark red"); two color words of one color are that color ("navy blue", "golden yellow").
SHADE_WORDS = ("light", "dark", "bright", "deep", "pale", "vivid", "pastel", "hot", "neon",
               "soft", "rich", "royal", "dull", "strong", "pure", "plain", "solid")
# Things a color is named after, read like a shade: "grass green", "bubblegum pink"
COLOR_NAMESAKES = ("grass", "forest", "grape", "bubblegum", "baby", "carrot", "pumpkin",
                   "sunflower", "candy", "fire", "ocean", "sea")
# Words that describe a color named right after them without changing which of the world's it
# is: "kelly green", "fire-engine red", "inky black", "electric blue" (up to two of them). Other
# unknown words before a color are still reported as not understood ("a fluffy red elephant").
COLOR_DESCRIPTORS = frozenset(["kelly", "flamingo", "inky", "ink", "apple", "leaf", "tomato", "sunny", "sun", "electric", "blood", "mandarin", "concrete", "traffic", "cone", "fire", "engine", "brick", "cherry", "lipstick", "midnight", "hunter", "pine", "lime", "mint", "army", "bottle", "steel", "slate", "denim", "powder", "ice", "icy", "peacock", "berry", "wine", "cotton", "banana", "butter", "honey", "safety", "tiger", "rust", "sunset", "cadmium", "chartreuse", "nautical", "egg", "school", "bus", "sign", "construction", "highway", "emergency", "cardinal", "raspberry", "strawberry", "watermelon", "shocking", "stone", "cement", "storm", "smoke", "smoky", "battleship", "graphite", "ebony", "onyx", "raven", "velvet", "matte", "glossy", "shiny", "metallic", "muted", "dusty", "warm", "cool", "saturated", "intense", "vibrant", "brilliant", "luminous", "glowing", "fluorescent", "lush", "dusky", "true", "classic", "basic", "primary", "standard", "lemon", "tangerine", "canary", "royal", "sky", "ocean", "sea", "grass", "forest", "grape", "bubblegum", "candy", "carrot", "pumpkin", "sunflower", "baby", "neon", "hot", "pastel", "soft", "dull", "strong", "pure", "plain", "solid", "candy", "jungle", "olive", "medium", "mid", "paper", "chalk"])
# More things colors are named after (flowers, fruit, gems, places, sweets): "poppy red",
# "marigold yellow", "cornflower blue", "candy-floss pink", "lagoon cyan" read as the color named
# after them. An unknown word right before a color word is still read as describing it (and
# reported as not understood); a word listed here is understood.
COLOR_NAMESAKE_NOUNS = frozenset(["poppy", "marigold", "cornflower", "orchid", "daffodil", "buttercup", "dandelion", "tulip", "peony", "iris", "hibiscus", "lotus", "rosebud", "pansy", "bluebell", "periwinkle", "sunflower", "papaya", "mango", "apricot", "cherry", "grape", "berry", "blueberry", "raspberry", "strawberry", "watermelon", "banana", "pineapple", "kiwi", "pear", "apple", "pumpkin", "carrot", "pea", "avocado", "lime", "lemon", "citrus", "melon", "cranberry", "pistachio", "lagoon", "ocean", "sea", "sky", "sunset", "sunrise", "jungle", "forest", "grass", "leaf", "moss", "fern", "spring", "meadow", "arctic", "glacier", "tropical", "lava", "flame", "fire", "denim", "ruby", "emerald", "sapphire", "amethyst", "topaz", "jade", "candy", "floss", "cotton", "bubblegum", "lollipop", "sherbet", "taffy", "neon", "racing", "robin", "egg", "peacock", "parrot", "canary", "flamingo", "lobster", "crayon", "highlighter", "postbox", "mailbox", "tomato", "chili", "chilli", "paprika", "saffron", "mustard", "sunshine", "dayglo", "pool", "swimming", "cyber", "magic", "toxic", "radioactive", "digital", "laser", "ink", "royal", "imperial", "prussian", "tyrian", "persian", "dodger", "cobalt", "navy", "hunter", "kelly", "bottle", "sage", "seafoam", "mint", "frog", "shamrock", "clover", "pickle", "cucumber", "brick", "rust", "blood", "wine", "cardinal", "fuchsia", "barbie", "blush", "ballet", "slipper", "baby", "rose", "violet", "lilac", "lavender", "heather", "plum", "eggplant", "aubergine", "grape", "truck", "taxi", "cab", "stop", "police", "barn", "clementine", "kumquat", "persimmon", "squash", "corn", "cornflower", "canola"])
# ... and before a background's: "jet black", "mid grey", "snow white" (the world has one of each)
BACKGROUND_SHADES = ("jet", "pitch", "coal", "mid", "medium", "neutral", "snow", "off", "ash")
READ_SIZE_WORDS: dict[str, list[str]] = {
    "small": ["smaller", "mini", "miniature", "petite", "teeny", "wee", "smallish", "teensy",
              "itty bitty", "undersized", "diminutive", "titchy", "tiddly"],
    "large": ["larger", "bigger", "giant", "enormous", "massive", "jumbo", "oversized",
              "oversize", "biggish", "largish", "sizable", "hefty", "gigantic", "chunky"],
}
# Size words made of two: an intensifier before a size word ("extra-large", "super tiny"), and a
# thing the size is named after before "sized"/"size" ("pint-sized", "bite-size", "king-size").
SIZE_INTENSIFIERS = ("extra", "super", "ultra", "really", "very", "extremely", "quite", "rather",
                     "fairly", "pretty", "xtra", "mega", "especially", "real", "seriously")
SIZED_NAMESAKES = {
    "small": ("pint", "bite", "pocket", "fun", "travel", "palm", "thumb", "mini", "small", "tiny",
              "little", "doll", "toy", "wee", "coin", "snack", "sample", "half"),
    "large": ("king", "queen", "super", "giant", "jumbo", "mega", "family", "large", "big", "huge",
              "poster", "plus", "outsize", "extra large", "double", "max", "maxi"),
}
SIZE_ABBREVIATIONS = {"small": ("xs", "xxs", "sm"), "large": ("xl", "xxl", "lg")}
# Nouns that name an object without saying its shape, read but never written ("a star figure",
# "square pieces", "two diamond icons"): after a shape word they are part of its noun.
READ_ANY_SHAPE_WORDS: list[tuple[str, str]] = [
    ("figure", "figures"), ("piece", "pieces"), ("icon", "icons"), ("form", "forms"),
    ("symbol", "symbols"), ("element", "elements"), ("sticker", "stickers"), ("glyph", "glyphs"),
    ("badge", "badges"), ("marker", "markers"), ("token", "tokens"), ("emblem", "emblems"),
    ("decal", "decals"), ("cutout", "cutouts"), ("sprite", "sprites"), ("motif", "motifs"),
    ("stamp", "stamps"), ("chip", "chips"), ("counter", "counters"), ("bead", "beads"),
]
# Nouns read but never written, kept out of READ_WORDING so the paraphrase split is unchanged
# ("a coin shape", "a polka dot", "two rhombi").
READ_ONLY_SHAPE_WORDS: dict[str, list[tuple[str, str]]] = {
    "circle": [("coin", "coins"), ("polka dot", "polka dots"), ("dot shape", "dot shapes")],
    "diamond": [("rhombus", "rhombi")],
}
# Things that name a color on their own ("a carrot ball", "grape-colored", "a banana star"), read
# but never written (kept out of READ_WORDING).
NAMESAKE_COLORS = {
    "red": ["tomato", "strawberry", "blood", "ladybug", "firetruck", "lipstick"],
    "orange": ["carrot", "pumpkin", "mandarin", "clementine", "mango", "marmalade", "apricot"],
    "yellow": ["banana", "sunflower", "sunshine", "butter", "yolk", "dandelion", "buttercup"],
    "green": ["grass", "leaf", "kiwi", "clover", "shamrock", "pea", "frog", "moss"],
    "purple": ["grape", "eggplant", "aubergine", "mulberry", "orchid"],
    "pink": ["bubblegum", "flamingo", "peony", "watermelon"],
}
# "count: 3", "qty 3": the count of the group just named
COUNT_LABELS = ("count", "quantity", "qty", "amount", "how many")
# Relations written as a comparison: "further left than", "more to the right than".
COMPARED_RELATIONS = {
    "left of": ["further left than", "farther left than", "more to the left than",
                "further to the left than", "farther to the left than", "more left than"],
    "right of": ["further right than", "farther right than", "more to the right than",
                 "further to the right than", "farther to the right than", "more right than"],
    "above": ["further up than", "farther up than", "higher up than"],
    "below": ["further down than", "farther down than", "lower down than"],
}
# A side named after "with" and an object, without the object it is the side of: "a blue
# square with a red circle to the left" (left of the square), "... with a star on top".
# (A relation word itself ending the clause, "... with a star underneath", is read the same.)
SIDE_ENDINGS = {"left of": ["to the left"], "right of": ["to the right"], "above": ["on top"]}
# "three copies of a red star": a count, then a word for copies, then one of them
COPY_NOUNS = ("copies", "instances", "duplicates", "repeats", "versions", "clones", "replicas")
# "a set of three stars", "a group of 4 circles", "a row of two boxes": a word for a group before
# its count ("a set of" alone says nothing of how many; the count after it does).
GROUP_NOUNS = ("set", "group", "bunch", "row", "collection", "cluster", "batch", "handful",
               "lot", "line", "series", "family", "pile", "team", "crowd", "bundle", "pack")
READ_RELATION_WORDS: dict[str, list[str]] = {
    "left of": ["to the left side of", "on the left side of", "at the left of", "just left of",
                "west of"],
    "right of": ["to the right side of", "on the right side of", "at the right of",
                 "just right of", "east of"],
    "above": ["on top of", "atop", "up above", "higher than", "over the top of", "sitting above",
              "floating above", "placed above", "hovering above", "sitting on top of",
              "resting on top of", "north of", "higher up than", "further up than",
              "directly above", "right above", "straight above", "directly over"],
    "below": ["down below", "lower than", "sitting below", "placed below", "sitting under",
              "resting under", "sitting beneath", "south of", "at the foot of",
              "lower down than", "further down than", "directly below", "directly beneath",
              "directly under", "right below", "straight below"],
    "beside": ["beside", "next to", "alongside", "by the side of", "side by side with"],
}
# Positions written with an intensifier ("right in the middle": the "right" is not a side).
READ_POSITION_WORDS: dict[tuple[int | None, int | None], list[str]] = {
    (1, 1): ["right in the middle", "right in the center", "right in the centre",
             "right at the center", "dead center", "smack in the middle", "smack dab in the middle",
             "centered", "centred", "dead centre", "middle cell"],
    (0, 0): ["up in the top left", "upper left hand corner", "top left hand corner"],
    (0, 2): ["up in the top right", "upper right hand corner", "top right hand corner"],
    (2, 0): ["down in the bottom left", "lower left hand corner", "bottom left hand corner"],
    (2, 2): ["down in the bottom right", "lower right hand corner", "bottom right hand corner"],
    # an edge, a row or a column of the picture: "at the left edge", "in the bottom row"
    (None, 0): ["left edge", "left column", "left hand side", "left hand edge", "leftmost column",
                "far left", "leftmost", "left most column", "left third"],
    (None, 2): ["right edge", "right column", "right hand side", "right hand edge",
                "rightmost column", "far right", "rightmost", "right most column", "right third"],
    (0, None): ["up high", "high up", "top edge", "top row", "upper edge", "up top", "along the top", "upper row",
                "topmost row", "top most row", "top third", "upper part", "top part"],
    (2, None): ["down low", "low down", "bottom edge", "bottom row", "lower edge", "down below", "along the bottom",
                "lower row", "bottommost row", "bottom most row", "bottom third", "lower part",
                "bottom part", "down at the bottom"],
}  # fmt: skip
# "beside" says only that two objects share a row, one on either side; the grammar reads it as
# a relation of its own, which `match` checks as "left of or right of".
SIDE_RELATIONS = ("beside",)
# Counts written as phrases: "a pair of red balls", "a couple of boxes", "a single star".
READ_COUNT_WORDS: dict[int, list[str]] = {
    1: ["a single", "single", "one single", "a lone", "lone", "just one", "only one"],
    2: ["a pair of", "a couple of", "pair of", "couple of"],
    3: ["a trio of", "trio of"],
    4: ["a quartet of", "quartet of"],
}
# What people put around a description ("please draw ...", "I'd like to see ..."): no meaning here.
LEAD_IN_WORDS = frozenset([
    "please", "pls", "kindly", "hey", "use", "looking", "for", "place", "sits", "sit", "colored",
    "coloured", "painted", "draw", "drawn", "make", "made", "create", "generate", "render",
    "paint", "sketch", "depict", "produce", "illustrate", "display", "give", "me", "i", "id",
    "want", "would", "like", "love", "need", "can", "could", "you", "let", "us", "see", "get",
    "here", "we", "have", "having", "be", "should", "must", "just", "simple", "simply", "quick",
    "new", "visualize", "visualise", "imagine", "picture", "pic", "img", "image", "images",
    "art", "artwork", "illustration", "graphic", "view", "now", "thanks", "thank", "sitting",
    "placed", "located", "positioned", "resting", "lying", "set", "put", "appears", "appear",
    "appearing", "being", "was", "were", "is", "are", "am", "theres", "featuring", "feature",
    "features", "depicting", "including", "include", "includes", "holds", "holding", "shown",
    "showing", "displayed", "displaying", "rendered", "where", "what", "somewhere", "something",
    "d", "s", "ll", "m", "ve", "across", "screen", "frame", "canvas", "slowly", "quickly",
    "steadily", "gently", "smoothly", "fast", "continuously", "video", "clip", "animation",
    "animated", "movie", "gif",
    # filler and politeness ("okay so", "nothing else", "thanks a lot"), verbs of a request
    # ("design", "keep", "add", "put") and intensifiers ("directly", "off to the left of")
    "okay", "ok", "so", "nothing", "else", "design", "keep", "add", "adding", "want", "wanted",
    "wish", "hoping", "hope", "lot", "much", "cool", "nice", "lovely", "hi", "hello", "um", "uh",
    "well", "maybe", "perhaps", "really", "very", "too", "as", "directly", "off", "along", "up",
    "down", "towards", "toward", "go", "goes", "ought", "needs", "needed", "sure", "then",
    "alright", "cheers", "thx", "ty", "medium", "normal", "regular", "sized", "size", "mid",
    "average", "colors", "colours", "hue", "tone", "shade", "tinted", "filled", "solid", "flat",
    "plain", "clean", "total", "altogether", "overall", "namely",
    # more of the same: "if possible", "ta", "I'm after", "3 identical stars", "hovering over"
    "ta", "if", "possible", "whenever", "after", "identical", "matching", "alike", "same",
    "similar", "equal", "equally", "hovering", "floating", "perched", "standing", "stacked",
    "situated", "lies", "lie", "sitting", "sat", "start", "starting", "begin", "beginning",
    "then", "finally", "also", "too", "grab", "whip", "mock", "come", "dream", "conjure",
    "formed", "arranged", "arrange", "lined", "hang", "hanging", "hangs", "hung", "kept",
    "parked", "stuck", "pinned", "u", "yo", "asap", "my", "our", "slide", "deck",
    "presentation", "thank", "itself", "by", "style", "fancy", "prompt", "part", "signal", "immediately",
])
# Colors, shapes and relations people ask for that this world does not have: reported by name
# ("white is not a color of this world") instead of being dropped or drawn as something else.
FOREIGN_COLORS = ("white", "black", "gray", "grey", "brown", "beige", "silver", "tan", "khaki",
                  "maroon", "olive", "indigo", "bronze", "copper", "cream", "ivory", "charcoal",
                  "coral", "salmon", "peach", "burgundy", "transparent", "rainbow")
FOREIGN_SHAPES = ("hexagon", "pentagon", "octagon", "oval", "ellipse", "rectangle", "heart",
                  "cross", "arrow", "crescent", "moon", "ring", "line", "cylinder", "cone",
                  "spiral", "trapezoid", "parallelogram", "polygon", "cloud", "flower", "tree",
                  "house", "car", "dog", "cat", "person", "letter", "number", "cuboid", "prism",
                  "torus")
FOREIGN_RELATIONS = ("between", "inside", "behind", "in front of", "around", "near", "far from",
                     "touching", "overlapping", "within", "across from", "diagonal to",
                     "surrounding", "encircling")
# fmt: on


def _read_motion_words() -> dict[str, list[str]]:
    """Motion as people write it: a verb in any form and a direction ("drifting rightward",
    "moves toward the right", "heading up"), verbs that carry their direction ("sinking",
    "rose"), and "from left to right"."""
    verbs = ["moving", "moves", "moved", "move", "travelling", "traveling", "travels", "travel",
             "drifting", "drifts", "drift", "sliding", "slides", "slid", "slide", "gliding",
             "glides", "glide", "going", "goes", "go", "heading", "heads", "head", "rolling",
             "rolls", "roll", "running", "runs", "flying", "flies", "floating", "floats",
             "shifting", "shifts", "sweeping", "sweeps", "passing", "passes", "zooming",
             "zooms", "racing", "races", "speeding", "speeds", "inching", "inches",
             "creeping", "creeps", "walking", "walks", "scrolling", "scrolls", "panning"]  # fmt: skip
    directions = {
        "left": ["left", "leftward", "leftwards", "to the left", "toward the left",
                 "towards the left", "to the left side", "toward the left side", "westward"],
        "right": ["right", "rightward", "rightwards", "to the right", "toward the right",
                  "towards the right", "to the right side", "toward the right side", "eastward"],
        "up": ["up", "upward", "upwards", "toward the top", "towards the top", "to the top",
               "skyward", "higher"],
        "down": ["down", "downward", "downwards", "toward the bottom", "towards the bottom",
                 "to the bottom", "lower"],
    }  # fmt: skip
    out: dict[str, list[str]] = {m: [] for m in MOTION_WORDS}
    for motion, ways in directions.items():
        out[motion] += [f"{v} {w}" for v in verbs for w in ways]
    spans = {
        "left": ["from right to left", "from the right to the left", "right to left"],
        "right": ["from left to right", "from the left to the right", "left to right"],
        "up": ["from bottom to top", "from the bottom to the top"],
        "down": ["from top to bottom", "from the top to the bottom"],
    }
    for motion, phrases in spans.items():
        out[motion] += phrases + [f"{v} {p}" for v in verbs for p in phrases]
    out["up"] += ["rises", "rose", "risen",
                  "ascending", "ascends", "climbing", "climbs", "lifting", "lifts"]  # fmt: skip
    out["down"] += ["falls", "fell",
                    "sinking", "sinks", "sank", "dropping", "drops", "dropped", "descending",
                    "descends", "plunging", "plunges"]  # fmt: skip
    out["bounce"] += ["bounces", "bounced", "bouncing around", "bouncing up and down",
                      "jumping", "jumps", "hopping up and down"]  # fmt: skip
    out["grow"] += ["grows", "grew", "getting larger", "gets bigger", "gets larger",
                    "enlarging", "swelling", "scaling up", "becoming bigger"]  # fmt: skip
    out["shrink"] += ["shrinks", "shrank", "gets smaller", "getting tinier", "scaling down",
                      "becoming smaller"]  # fmt: skip
    out["still"] += ["still", "motionless", "stationary", "staying put", "not moving at all",
                     "at rest", "resting still", "holding still", "stays put"]  # fmt: skip
    return out


READ_MOTION_WORDS = _read_motion_words()
