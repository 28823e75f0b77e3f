#!/bin/bash
# The 128x128 class-incremental experiments of training/results/incremental/RESULTS.md (issue 16):
# the 32-px protocol (20 + 8 + 7 classes) at the shipped model's input size, with iCaRL's fixed
# total memory and nearest-mean-of-exemplars classifier next to the per-class memory. Run it in
# the background, one job at a time:
#
#   FOLIA_DATA=/path/to/plantvillage nice -n 19 training/results/incremental/run-128.sh [seed...]
#   (default seeds: 1 2; seed 1's runs all come before seed 2's, so a cut-short session still
#   has a whole comparison)
#
# Runs, per seed, in this order: finetune, lwf, ewc, rehearsal-herding (20 exemplars per class),
# rehearsal-herding-total (a total of 700 = 20 x 35: 35 per class after experience 0, 25 after
# experience 1, 20 at the end; + NME), rehearsal with Weight Aligning (the new classes' output
# rows scaled to the old rows' mean norm after each step), total-memory rehearsal with LwF's
# distillation (alpha 1, LwF's default; iCaRL's memory and its distillation, softmax and NME
# classifiers), joint, and (added after the others, so they run last) total-memory rehearsal
# with EEIL's balanced fine-tuning (10 epochs on the memory alone at a tenth of the step's
# learning rate after each step), the same with EEIL's distillation during that pass,
# total-memory rehearsal whose step loss is logit-adjusted (tau 1, the balanced softmax; with
# and without the balanced pass), the last with the steps trained longer and/or at twice the
# learning rate (10 epochs, 1e-3), and Joint trained twice as long (16 epochs: is the bound
# still where it was once the incremental steps got more training?). Every run also reports
# accuracy on the split's val part: the figure knobs are chosen on.
#
# Each is one folia-incremental call with its own --out; all of a seed's runs share one base
# model (experience 0, trained once: <runs>/base/base-seed<s>.pt, --base-dir). That base is
# also kept in the repo (training/results/incremental/bases/base-seed<s>.pt, BASES) and copied
# back into <runs>/base when the work folder is gone, so a later session's runs share it instead
# of training another (the checkpoint carries its base configuration: folia-incremental refuses
# a mismatched one). A finished run's results.json is copied to
# training/results/incremental/i128-<name>-seed<s>.json and skipped when the script is started
# again; a killed run starts its strategy again from the cached base model (folia-incremental
# has no mid-strategy checkpoint). The tables and plots are regenerated at the end.
#
# Knobs (environment; the defaults are the experiment): SIZE, BASE_EPOCHS, STEP_EPOCHS,
# JOINT_EPOCHS, MEMORY_TOTAL, THREADS, RUNS (work folder), RES (where the JSON go), PREFIX (of
# the JSON names, default i<SIZE>; the tables and plots are named after it without its "i"),
# BASES (where the base models are kept), ONLY (run only these names, e.g. ONLY="joint
# rehearsal-herding-total"; the others are skipped), PLOT_ALSO (more results files for the
# tables and plots, e.g. a Joint bound made under another PREFIX), EXTRA (more
# folia-incremental flags, e.g. a smoke test's "--max-classes 5 --per-class 30 --first-classes 3
# --max-steps 2").
set -euo pipefail
cd "$(dirname "$0")/../../.."
# nice alone does not yield to other sessions' jobs under the kernel's autogroup scheduling.
echo 19 2>/dev/null >/proc/self/autogroup || true
SIZE=${SIZE:-128}
BASE_EPOCHS=${BASE_EPOCHS:-8}
STEP_EPOCHS=${STEP_EPOCHS:-6}
JOINT_EPOCHS=${JOINT_EPOCHS:-8}
MEMORY_TOTAL=${MEMORY_TOTAL:-700}
THREADS=${THREADS:-2}
RES=${RES:-training/results/incremental}
RUNS=${RUNS:-build/research/incremental$SIZE}
PREFIX=${PREFIX:-i$SIZE}
BASES=${BASES:-$RES/bases}
read -r -a EXTRA_ARGS <<<"${EXTRA:-}"
BIN_DIR=$RUNS/bin
COMMON=(--size "$SIZE" --threads "$THREADS" --batch 32 --base-epochs "$BASE_EPOCHS"
  --base-dir "$RUNS/base" --quiet
  "${EXTRA_ARGS[@]}")
mkdir -p "$BIN_DIR" "$RES"
# A private copy of the binary: rebuilding build/native while a run is going must not change it.
cp -f build/native/training/folia-incremental "$BIN_DIR/folia-incremental"
BIN=$BIN_DIR/folia-incremental

log() { echo "==> $(date -u +%H:%M:%S) $*" >&2; }

# The seed's base model: restored from the repo's copy before its first run, kept there after.
restore_base() {  # seed
  local kept=$BASES/base-seed$1.pt work=$RUNS/base/base-seed$1.pt
  if [ -f "$kept" ] && [ ! -f "$work" ]; then
    mkdir -p "$RUNS/base"
    cp "$kept" "$work"
    log "base seed $1 from $kept"
  fi
}
keep_base() {  # seed
  local kept=$BASES/base-seed$1.pt work=$RUNS/base/base-seed$1.pt
  if [ -f "$work" ] && [ ! -f "$kept" ]; then
    mkdir -p "$BASES"
    cp "$work" "$kept.tmp"
    mv "$kept.tmp" "$kept"
    log "base seed $1 kept in $kept"
  fi
}

run() {  # name seed folia-incremental flags...; RUN_STEP_EPOCHS=E / RUN_JOINT_EPOCHS=E run ...
  # for other step / joint epochs
  local name=$1 seed=$2
  shift 2
  local json=$RES/$PREFIX-$name-seed$seed.json
  [ -f "$json" ] && { log "$name seed $seed: done already"; return; }
  if [ -n "${ONLY:-}" ] && [[ " $ONLY " != *" $name "* ]]; then return; fi
  log "$name seed $seed"
  restore_base "$seed"
  "$BIN" --out "$RUNS/$name-seed$seed" --seeds "$seed" "${COMMON[@]}" \
    --step-epochs "${RUN_STEP_EPOCHS:-$STEP_EPOCHS}" \
    --joint-epochs "${RUN_JOINT_EPOCHS:-$JOINT_EPOCHS}" "$@"
  keep_base "$seed"
  cp "$RUNS/$name-seed$seed/results.json" "$json.tmp"
  mv "$json.tmp" "$json"
}

seeds=("$@")
[ ${#seeds[@]} -eq 0 ] && seeds=(1 2)
for s in "${seeds[@]}"; do
  run finetune "$s" --strategies finetune
  run lwf "$s" --strategies lwf
  run ewc "$s" --strategies ewc
  run rehearsal-herding "$s" --strategies rehearsal-herding --memory-per-class 20
  run rehearsal-herding-total "$s" --strategies rehearsal-herding --memory-total "$MEMORY_TOTAL"
  run rehearsal-herding-wa "$s" --strategies rehearsal-herding --memory-per-class 20 \
    --weight-aligning
  run rehearsal-herding-total-kd "$s" --strategies rehearsal-herding \
    --memory-total "$MEMORY_TOTAL" --rehearsal-distill 1
  run joint "$s" --strategies joint
  run rehearsal-herding-total-bft "$s" --strategies rehearsal-herding \
    --memory-total "$MEMORY_TOTAL" --balanced-finetune 10
  run rehearsal-herding-total-bft-kd "$s" --strategies rehearsal-herding \
    --memory-total "$MEMORY_TOTAL" --balanced-finetune 10 --balanced-finetune-distill 1
  run rehearsal-herding-total-la "$s" --strategies rehearsal-herding \
    --memory-total "$MEMORY_TOTAL" --logit-adjust 1
  run rehearsal-herding-total-la-bft-kd "$s" --strategies rehearsal-herding \
    --memory-total "$MEMORY_TOTAL" --logit-adjust 1 --balanced-finetune 10 \
    --balanced-finetune-distill 1
  # The steps' training, chosen on val (the knobs above were set a priori): a step learns its new
  # classes to 82-83 % (experience 1 after step 1) where Joint reaches 85-87 % on them, so the
  # step's own schedule (6 epochs at 5e-4, half the base model's peak) may be too short.
  la_bft=(--strategies rehearsal-herding --memory-total "$MEMORY_TOTAL" --logit-adjust 1
    --balanced-finetune 10 --balanced-finetune-distill 1)
  run rehearsal-herding-total-la-bft-kd-lr1e-3 "$s" "${la_bft[@]}" --step-lr 1e-3
  RUN_STEP_EPOCHS=10 run rehearsal-herding-total-la-bft-kd-e10 "$s" "${la_bft[@]}"
  RUN_STEP_EPOCHS=10 run rehearsal-herding-total-la-bft-kd-e10-lr1e-3 "$s" "${la_bft[@]}" \
    --step-lr 1e-3
  RUN_JOINT_EPOCHS=16 run joint-e16 "$s" --strategies joint
done
log "tables and plots"
read -r -a PLOT_ALSO_FILES <<<"${PLOT_ALSO:-}"
/usr/bin/python3 tools/plot-incremental.py "$RES/$PREFIX"-*.json "${PLOT_ALSO_FILES[@]}" \
  --out "$RES" --suffix="-${PREFIX#i}" --table "$RES/incremental-tables-${PREFIX#i}.md"
