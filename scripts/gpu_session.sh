#!/usr/bin/env bash
# What one lent GPU session runs, in one call of the device tool (about 10 minutes):
#   1. benchmarks/gpu_dit.py: DiT-B/2, S/2 and XL/2 training and sampling speed (issue #11),
#      each size under its own time limit so that one slow compile cannot cost the others;
#   2. a chunk of `genlab train --recipe world-t2i` (the bundled text-to-image model) on the GPU
#      for the rest of the time, resumed from the last chunk's checkpoint when one is given.
# Results go to OUT_DIR in at most 8 files (the device tool's limit): the two logs, the training
# checkpoint split into parts under 16 MiB, and run.tgz (exported model, card, log, samples,
# benchmark JSON).
#
#   scripts/gpu_session.sh OUT_DIR [TOTAL_SECONDS] [all|train] [RESUME_DIR]
#
# Training runs in runs/gpu-session/world-t2i and resumes from a checkpoint there (a second call
# on the same warm machine goes on: `train` skips the benchmark), else from RESUME_DIR's
# checkpoint.part-* (an earlier session's, joined with cat). Locally, a smoke test of the script:
# GENLAB_SESSION_TINY=1 PYTHON=.venv/bin/python scripts/gpu_session.sh /tmp/out 120
set -u
OUT=${1:?usage: scripts/gpu_session.sh OUT_DIR [TOTAL_SECONDS] [all|train] [RESUME_DIR]}
TOTAL=${2:-570}
MODE=${3:-all}
RESUME=${4:-}
START=$(date +%s)
PY=${PYTHON:-python3}
export PYTHONPATH="$PWD/src${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1
mkdir -p "$OUT"
RUN=runs/gpu-session/world-t2i
mkdir -p "$RUN/bench"
if [ -n "${GENLAB_SESSION_TINY:-}" ]; then
    BENCH_ARGS=(--tiny) TRAIN_ARGS=(--tiny --device cpu) LIMITS=(30 30 30)
else
    BENCH_ARGS=() TRAIN_ARGS=(--device cuda) LIMITS=(120 80 80)
fi
elapsed() { echo $(($(date +%s) - START)); }

{
    nvidia-smi --query-gpu=name,memory.total,driver_version,clocks.max.sm --format=csv 2>&1
    "$PY" -c "import torch; print('torch', torch.__version__, 'cuda', torch.version.cuda)"
} | tee "$OUT/gpu_dit.log"

# 1. DiT speed, the target size first.
i=0
[ "$MODE" = train ] && SIZES=() || SIZES=(DiT-B/2 DiT-S/2 DiT-XL/2)
for size in "${SIZES[@]}"; do
    tag=${size//\//-}
    echo "== $size (limit ${LIMITS[$i]} s, at $(elapsed) s)" | tee -a "$OUT/gpu_dit.log"
    timeout "${LIMITS[$i]}" "$PY" benchmarks/gpu_dit.py --sizes "$size" --train-steps 10 \
        "${BENCH_ARGS[@]}" --out "$RUN/bench/$tag.json" 2>&1 | tee -a "$OUT/gpu_dit.log"
    i=$((i + 1))
done

# 2. Train for what is left (the budget counts the corpus rendering; 15 s kept for packing).
budget=$((TOTAL - $(elapsed) - 15))
resume=()
if [ -f "$RUN/checkpoint.safetensors" ]; then
    resume=(--resume)
elif [ -n "$RESUME" ]; then
    cat "$RESUME"/checkpoint.part-* >"$RUN/checkpoint.safetensors" && resume=(--resume)
fi
echo "== world-t2i: ${budget} s from $(elapsed) s ${resume[*]}" | tee "$OUT/train.log"
"$PY" -m genlab train --recipe world-t2i "${TRAIN_ARGS[@]}" --time-budget "$budget" \
    --out "$RUN" --no-progress "${resume[@]}" 2>&1 | tee -a "$OUT/train.log"

# 3. Pack: checkpoint parts under 16 MiB each, everything else in one archive.
if [ -f "$RUN/checkpoint.safetensors" ]; then
    split -b 15M "$RUN/checkpoint.safetensors" "$OUT/checkpoint.part-"
    sha256sum "$RUN/checkpoint.safetensors" | tee -a "$OUT/train.log"
fi
tar czf "$OUT/run.tgz" --exclude checkpoint.safetensors -C "$(dirname "$RUN")" world-t2i
echo "== done at $(elapsed) s" | tee -a "$OUT/train.log"
ls -la "$OUT"
