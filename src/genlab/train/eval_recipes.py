"""Makes the evaluation networks' recipes (genlab/eval/recipes.py) discoverable by `genlab train`.
The recipes live with the networks they train; this module only imports them.
"""

import genlab.eval.recipes  # noqa: F401  (registers world-classifier, digits-classifier, world-clip)
