#!/usr/bin/env bash
# Regenerates the shipped model's card (shared/models/MODEL.md, plots, plantvillage-eval.json)
# from the committed model file and splits: every figure is the native engine's answer on the
# split parts (tools/eval-models.py), next to the previous 35-class lab model (taken from git).
#   bash tools/make-model-card.sh            evaluate + write the card (~5 min on 2 cores)
#   bash tools/make-model-card.sh --train    first retrain, calibrate and export the model
#                                            (hours on 2 cores; resumable: run it again)
# Data: FOLIA_FIELD_DATA (default ../shared/data/plantdoc-train), FOLIA_LAB_DATA (default
# ../shared/data/plantvillage), FOLIA_UNKNOWN_DATA (default ../shared/data/new-classes).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
lab=${FOLIA_LAB_DATA:-$root/../shared/data/plantvillage}
field=${FOLIA_FIELD_DATA:-$root/../shared/data/plantdoc-train}
unknown=${FOLIA_UNKNOWN_DATA:-$root/../shared/data/new-classes}
run=build/train/field128  # stage 1; stage 2 in ${run}b
models=shared/models
previous_commit=169fe5d  # the last commit that shipped the 35-class lab model
step() { printf '\n==> %s\n' "$*"; }

[ -x build/native/bin/folia ] && [ -x build/native/training/folia-train ] || bash tools/build-native.sh folia_cli folia-train
train=build/native/training/folia-train
# The previous 35-class lab model: stage 1 starts from it, the card compares with it.
mkdir -p build/eval
previous=build/eval/previous-35.folia
git show "$previous_commit:$models/plantvillage.folia" > "$previous"
if [ "${1:-}" = --train ]; then
  data=(--data "$lab" --data "$field")
  step "stage 1 (resumable): lab + field photos, 128x128, from the previous model, field augmentation"
  resume=(); [ -f "$run/last.pt" ] && resume=(--resume)
  nice -n 19 "$train" train "${data[@]}" --size 128 --epochs 9 \
    --init-model "$previous" --oversample 1,3 --augment field --label-smoothing 0.1 \
    --lr 3e-4 --warmup 0.5 --patience 5 --out "$run" --threads 2 "${resume[@]}"
  step "stage 2 (resumable): from stage 1, lab recipe for lab photos, field recipe for field photos"
  resume=(); [ -f "${run}b/last.pt" ] && resume=(--resume)
  nice -n 19 "$train" train "${data[@]}" --size 128 --epochs 12 \
    --init "$run/best.pt" --oversample 1,4 --augment lab,field --label-smoothing 0.1 \
    --lr 6e-4 --warmup 1 --patience 6 --out "${run}b" --threads 2 "${resume[@]}"
  step "calibrate on lab + field validation photos; threshold on the field ones"
  "$train" calibrate --run "${run}b" "${data[@]}" --abstain-domain "$(basename "$field")" --max-right-flagged 0.25
  step "export with exemplar features and the golden file"
  "$train" export --run "${run}b" "${data[@]}" --exemplars 8 \
    --out "$models/plantvillage.folia" --golden "$models/plantvillage.golden.bin"
  mkdir -p "$models/plantvillage-run/stage1" "$models/plantvillage-run/stage2"
  cp "$run/run.json" "$run/history.json" "$models/plantvillage-run/stage1/"
  cp "${run}b/run.json" "${run}b/history.json" "${run}b/calibration.json" "$models/plantvillage-run/stage2/"
fi

step "evaluate the shipped and the previous model through the engine"
/usr/bin/python3 tools/eval-models.py --model "lab+field (37)=$models/plantvillage.folia" \
  --model "previous lab-only (35)=$previous" \
  --data "$lab=training/splits/plantvillage-seed42.json" \
  --data "$field=training/splits/plantdoc-train-seed42.json" \
  --unknown "$unknown" --parts test,val --out "$models/plantvillage-eval.json"
step "write the card"
/usr/bin/python3 tools/model-card.py "$models/plantvillage-run" "$models/plantvillage-eval.json" \
  "$models/MODEL.md" --commands <(sed -n '/^if \[ "${1:-}" = --train/,/^fi/p' "$0")
