"""Does world-t2v (whose encoder separates relation words) place objects by relation in frame 0,
where world-t2i does not? Same prompts and seeds, scored with the compositional suite's checker."""
import json, sys, time
import torch
import genlab
from genlab.eval.compositional import suite, score_image

which, n, part = sys.argv[1], int(sys.argv[2]), sys.argv[3]
torch.set_num_threads(1)
prompts = suite(n, seed=0, categories=("counting", "position", "attribute_binding"), splits=("in_distribution",))
pipe = genlab.load(which)
out = {}
t0 = time.time()
for i, sp in enumerate(prompts):
    if which == "world-t2v":
        frames = pipe(sp.prompt, num_frames=8, seed=i).frames[0]
        img = frames[0]
    else:
        img = pipe(sp.prompt, seed=i, num_inference_steps=20).images[0]
    ok, score, reasons, parsed = score_image(sp.prompt, img)
    out.setdefault(sp.category, []).append(ok)
print(which, {k: (round(sum(v) / len(v), 3), len(v)) for k, v in out.items()}, f"{time.time()-t0:.0f}s")
json.dump(out, open(f"runs/relprobe/{part}.json", "w"))
