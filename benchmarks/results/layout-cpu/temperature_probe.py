"""One category of the compositional suite's seeded in-distribution sample (N prompts, image i
seeded i, 20 DPM-Solver++ steps) drawn by a two-stage model at a planner temperature, scored by
the world's parser; prints the accuracy and writes the per-image results as JSON.

    OMP_NUM_THREADS=1 python benchmarks/results/layout-cpu/temperature_probe.py world-t2i-layout \
        attribute_binding 500 0.5 out.json
"""

import json
import sys
import time
from pathlib import Path

import torch

import genlab
from genlab.eval.compositional import score_image, suite

model, category, n, temperature = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
out_path = Path(sys.argv[5])
torch.set_num_threads(1)
pipe = genlab.load(model, device="cpu")
items = suite(n, seed=0, categories=(category,), splits=("in_distribution",))
start = time.time()
passed = []
for i, item in enumerate(items):
    result = pipe(item.prompt, seed=i, num_inference_steps=20, layout_temperature=temperature)
    passed.append(bool(score_image(item.prompt, result.images[0])[0]))
rate = sum(passed) / len(passed)
print(
    f"{model} {category} T={temperature}: {rate:.3f} ({len(passed)} images, {time.time() - start:.0f} s)"
)
out_path.write_text(
    json.dumps({"category": category, "temperature": temperature, "passed": passed})
)
