#!/usr/bin/env bash
# What one lent GPU session runs, in one call of the device tool (about 10 minutes):
#   1. a DiT speed benchmark (issue #11), each run under its own time limit so that one slow
#      compile cannot cost the rest, alone on the GPU;
#   2. one or more training recipes at once on the one GPU (small models leave it idle between
#      kernels: two processes fill each other's gaps), each for what is left of the time,
#      world-t2i resumed from an earlier chunk's checkpoint when one is given.
# Results go to OUT_DIR in at most 8 files (the device tool's limit): run.tgz (session.log,
# logs, cards, samples, profiles, exported models, benchmark JSON) and, per recipe, its training
# state split into parts under 16 MiB when it is small enough to bring back (else its exported
# model, split).
#
#   scripts/gpu_session.sh OUT_DIR [TOTAL_SECONDS] [BENCH] [TRAIN] [RESUME_DIR]
#
#   BENCH       table: DiT-B/2, S/2, XL/2, every mode (the #11 table; default)
#               b2-autotune: DiT-B/2, bf16 + whole-model compile, max-autotune
#               b2-profile: DiT-B/2, bf16 and bf16 + compile, then time per kernel family
#               b2-attention: DiT-B/2, bf16 + compile with torch's attention kernel and with
#               cuDNN's first (regional compile, profiled), then cuDNN with whole-model compile
#               b2-tuning: DiT-B/2, bf16 + whole-model compile, without and with inductor's
#               coordinate-descent tuning of its generated kernels
#               none
#   TRAIN       comma-separated recipes (default world-t2i), or none
#   RESUME_DIR  a folder of checkpoint.part-* from an earlier world-t2i chunk (joined with cat)
#   T2I_ARGS    (environment) more arguments for the world-t2i* recipes, e.g. "--steps 6591
#               --decay-steps 2500", or "--init-from world-t2i" (start from the bundled weights:
#               nothing to carry)
#   T2V_ARGS    (environment) more arguments for the world-t2v* recipes
#   TRAIN_EXTRA (environment) more arguments for every recipe, e.g. "--profile-steps 10"
#
# Training runs in runs/gpu-session/RECIPE and resumes from a checkpoint there, so a second call
# on the same warm machine goes on. Locally, a smoke test of the script:
#   GENLAB_SESSION_TINY=1 PYTHON=.venv/bin/python scripts/gpu_session.sh /tmp/out 150 table \
#       world-t2i,world-t2v-long
set -u
OUT=${1:?usage: scripts/gpu_session.sh OUT_DIR [TOTAL_SECONDS] [BENCH] [TRAIN] [RESUME_DIR]}
TOTAL=${2:-570}
BENCH=${3:-table}
TRAIN=${4:-world-t2i}
RESUME=${5:-}
START=$(date +%s)
PY=${PYTHON:-python3}
export PYTHONPATH="$PWD/src${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1
mkdir -p "$OUT"
RUNS=runs/gpu-session
mkdir -p "$RUNS/bench"
LOG="$RUNS/session.log"
if [ -n "${GENLAB_SESSION_TINY:-}" ]; then
    TINY=1 BENCH_ARGS=(--tiny) TRAIN_ARGS=(--tiny --device cpu)
else
    TINY='' BENCH_ARGS=() TRAIN_ARGS=(--device cuda)
fi
elapsed() { echo $(($(date +%s) - START)); }
say() { echo "== $* (at $(elapsed) s)" | tee -a "$LOG"; }

{
    nvidia-smi --query-gpu=name,memory.total,driver_version,clocks.max.sm --format=csv 2>&1
    "$PY" -c "import torch; print('torch', torch.__version__, 'cuda', torch.version.cuda)"
} | tee "$LOG"

# 1. DiT speed: size, time limit, extra arguments per run.
bench() {  # NAME LIMIT ARGS...
    local name=$1 limit=$2
    shift 2
    [ -n "$TINY" ] && limit=30
    say "bench $name (limit $limit s)"
    timeout "$limit" "$PY" benchmarks/gpu_dit.py "$@" "${BENCH_ARGS[@]}" \
        --out "$RUNS/bench/$name.json" 2>&1 | tee -a "$LOG"
}
case $BENCH in
    table)
        bench DiT-B-2 120 --sizes DiT-B/2 --train-steps 10
        bench DiT-S-2 80 --sizes DiT-S/2 --train-steps 10
        bench DiT-XL-2 80 --sizes DiT-XL/2 --train-steps 10
        ;;
    b2-autotune)
        bench DiT-B-2-model-autotune 120 --sizes DiT-B/2 --train-steps 10 --no-sample \
            --modes bf16,bf16+compile --compile-scope model \
            --compile-mode max-autotune-no-cudagraphs
        ;;
    b2-profile)
        bench DiT-B-2-profile 100 --sizes DiT-B/2 --train-steps 10 --no-sample \
            --modes bf16,bf16+compile --profile 3
        ;;
    b2-attention)
        bench DiT-B-2-auto 55 --sizes DiT-B/2 --train-steps 10 --no-sample \
            --modes bf16+compile --profile 3
        bench DiT-B-2-cudnn 55 --sizes DiT-B/2 --train-steps 10 --no-sample \
            --modes bf16+compile --profile 3 --attention cudnn
        bench DiT-B-2-model-cudnn 80 --sizes DiT-B/2 --train-steps 10 --no-sample \
            --modes bf16+compile --attention cudnn --compile-scope model
        ;;
    b2-tuning)
        bench DiT-B-2-model 75 --sizes DiT-B/2 --train-steps 10 --no-sample \
            --modes bf16+compile --compile-scope model
        bench DiT-B-2-model-coordinate-descent 110 --sizes DiT-B/2 --train-steps 10 --no-sample \
            --modes bf16+compile --compile-scope model --coordinate-descent
        ;;
    none) ;;
    *) echo "BENCH: expected table, b2-autotune, b2-profile, b2-attention, b2-tuning or none, got '$BENCH'" >&2; exit 2 ;;
esac

# 2. Train every recipe at once for what is left (the budget counts data preparation; 30 s are
# kept for export and packing).
budget=$(($TOTAL - $(elapsed) - 30))
pids=()
IFS=, read -r -a RECIPES <<<"$TRAIN"
[ "$TRAIN" = none ] && RECIPES=()
for recipe in "${RECIPES[@]}"; do
    run="$RUNS/$recipe"
    mkdir -p "$run"
    # shellcheck disable=SC2206
    args=("${TRAIN_ARGS[@]}" --time-budget "$budget" --out "$run" --no-progress ${TRAIN_EXTRA:-})
    # shellcheck disable=SC2206
    case $recipe in
        world-t2v*) args+=(${T2V_ARGS:-}) ;;
        world-t2i*) args+=(${T2I_ARGS:-}) ;;
    esac
    if [ "$recipe" = world-t2i ]; then
        if [ ! -f "$run/checkpoint.safetensors" ] && [ -n "$RESUME" ] &&
            compgen -G "$RESUME/checkpoint.part-*" >/dev/null; then
            cat "$RESUME"/checkpoint.part-* >"$run/checkpoint.safetensors"
        fi
    fi
    [ -f "$run/checkpoint.safetensors" ] && args+=(--resume)
    say "train $recipe: ${args[*]}"
    "$PY" -m genlab train --recipe "$recipe" "${args[@]}" >"$run/train.log" 2>&1 &
    pids+=($!)
done
for i in "${!pids[@]}"; do
    wait "${pids[$i]}"
    say "${RECIPES[$i]} exited with $?"
    tail -n 5 "$RUNS/${RECIPES[$i]}/train.log" | tee -a "$LOG"
done

# 3. Pack: per recipe in order, its training state in parts under 16 MiB while the states so far
# stay within 46 MB (what comes back is at most 64 MiB and 8 files, the archive included), else
# its exported model; everything else, exported models included, in one archive.
room=46000000
for recipe in "${RECIPES[@]}"; do
    run="$RUNS/$recipe"
    state="$run/checkpoint.safetensors" model="$run/$recipe.safetensors"
    if [ -f "$state" ] && [ "$(stat -c %s "$state")" -le "$room" ]; then
        room=$((room - $(stat -c %s "$state")))
        split -b 15M "$state" "$OUT/$recipe.state.part-"
        sha256sum "$state" | tee -a "$LOG"
    elif [ -f "$model" ]; then
        split -b 15M "$model" "$OUT/$recipe.model.part-"
        sha256sum "$model" | tee -a "$LOG"
    fi
done
say "packed"
ls -la "$OUT" | tee -a "$LOG"
tar czf "$OUT/run.tgz" --exclude checkpoint.safetensors --exclude '*.part-*' -C "$RUNS" .
if [ "$(stat -c %s "$OUT/run.tgz")" -gt 16000000 ]; then  # too big to come back: no models
    tar czf "$OUT/run.tgz" --exclude checkpoint.safetensors --exclude '*.part-*' \
        --exclude '*.safetensors' -C "$RUNS" .
fi
ls -la "$OUT/run.tgz"
