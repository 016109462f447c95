"""Counting, position and binding of a text-to-image model on the compositional suite's seeded
in-distribution sample of N prompts per category (suite(N, seed=0)), image i seeded i, 20
DPM-Solver++ steps, scored by the world's parser. Writes {category: [passed, ...]} as JSON, so
that two models are compared prompt by prompt (paired).

    OMP_NUM_THREADS=1 python benchmarks/results/word-rate-cpu/probe.py world-t2i 200 bundled.json
"""

import json
import sys
import time
from pathlib import Path

import torch

import genlab
from genlab.eval.compositional import score_image, suite

model, n, out_path = sys.argv[1], int(sys.argv[2]), Path(sys.argv[3])
torch.set_num_threads(1)
prompts = suite(
    n,
    seed=0,
    categories=("counting", "position", "attribute_binding"),
    splits=("in_distribution",),
)
pipe = genlab.load(model)
passed: dict[str, list[bool]] = {}
start = time.time()
for i, item in enumerate(prompts):
    image = pipe(item.prompt, seed=i, num_inference_steps=20).images[0]
    passed.setdefault(item.category, []).append(score_image(item.prompt, image)[0])
rates = {k: (round(sum(v) / len(v), 3), len(v)) for k, v in passed.items()}
print(model, rates, f"{time.time() - start:.0f} s")
out_path.write_text(json.dumps(passed))
