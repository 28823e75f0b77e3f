#!/bin/bash
# The exact commands behind training/results/ssl/RESULTS.md, in the order they were run (most
# important first, so a cut-short session still has the main comparison). Each finished run's
# results.json is copied to training/results/ssl/<name>.json; finished names are skipped, and a
# killed run continues (--resume) when the script is started again.
#
#   FOLIA_DATA=/path/to/plantvillage training/results/ssl/run-experiments.sh [stage...]
#   stages: main1 main2 main3 ablation extra (default: all, in that order)
#
# Reduced setup (2-core CPU budget, see RESULTS.md): 32x32 inputs through the same shared
# Pillow-exact preprocessing, supervised training at lr 1e-3 (warmup 1 epoch + cosine, early
# stopping patience 5), retrains of 2 epochs at the seed's constant lr 1e-4, retrain threshold
# 500; every SSL knob otherwise at the seed's value (tau 0.9, cap 500, 100 images a day,
# lambda 1, T_ramp 10 epochs).
set -euo pipefail
cd "$(dirname "$0")/../../.."
BIN=${BIN:-build/native/training/folia-ssl}
SIZE=${SIZE:-32}
THREADS=${THREADS:-2}
RES=training/results/ssl
RUNS=${RUNS:-build/ssl}
COMMON=(--size "$SIZE" --threads "$THREADS" --batch 32)
SUP=(--lr 1e-3 --warmup 1 --patience 5 --class-weights none)

log() { echo "==> $(date -u +%H:%M:%S) $*" >&2; }

sup() {  # name label_frac seed epochs
  local name=$1 frac=$2 seed=$3 epochs=$4
  [ -f "$RES/$name.json" ] && { log "$name: done already"; return; }
  log "$name"
  "$BIN" supervised --out "$RUNS/$name" --label-frac "$frac" --seed "$seed" --epochs "$epochs" \
    "${COMMON[@]}" "${SUP[@]}" --resume --quiet
  cp "$RUNS/$name/results.json" "$RES/$name.json"
}

ssl() {  # name seed [extra folia-ssl run flags...]; starts from sup20-seed<seed>
  local name=$1 seed=$2
  shift 2
  [ -f "$RES/$name.json" ] && { log "$name: done already"; return; }
  log "$name"
  "$BIN" run --out "$RUNS/$name" --seed "$seed" --pretrained "$RUNS/sup20-seed$seed/best.pt" \
    "${COMMON[@]}" --retrain-epochs 2 --retrain-threshold 500 --resume "$@"
  cp "$RUNS/$name/results.json" "$RES/$name.json"
}

main_seed() {
  local s=$1
  sup "sup20-seed$s" 0.2 "$s" 15
  ssl "ssl-tau0.9-cap500-seed$s" "$s"
  sup "sup60-seed$s" 0.6 "$s" 8
  sup "sup100-seed$s" 1.0 "$s" 6
}

ablation() {
  for tau in 0.7 0.8 0.95; do ssl "ssl-tau$tau-cap500-seed1" 1 --tau "$tau"; done
  ssl "ssl-tau0.9-cap0-seed1" 1 --cap 0
}

extra() {  # a cap scaled to this dataset's ~150 stream images per class, so that it binds
  ssl "ssl-tau0.9-cap50-seed1" 1 --cap 50
}

stages=("$@")
[ ${#stages[@]} -eq 0 ] && stages=(main1 main2 main3 ablation extra)
for st in "${stages[@]}"; do
  case $st in
    main1) main_seed 1 ;;
    main2) main_seed 2 ;;
    main3) main_seed 3 ;;
    ablation) ablation ;;
    extra) extra ;;
    *) echo "unknown stage $st" >&2; exit 2 ;;
  esac
done
/usr/bin/python3 tools/plot-ssl.py "$RES"
