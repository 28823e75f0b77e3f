#!/bin/bash
# The 128x128 experiments of training/results/ssl/RESULTS.md (issue: the seed's protocol at full
# size, with controls), in the order they run. Each finished run's results.json is copied to
# training/results/ssl/s128-<name>.json; finished names are skipped and a killed run continues
# (--resume) when the script is started again. Run it in the background, one job at a time:
#
#   FOLIA_DATA=/path/to/plantvillage nice -n 19 training/results/ssl/run-128.sh [stage...]
#   stages: main1 main2 main3 sup60 sup100 ablation (default: all, in that order; mainS is seed S's
#   supervised 20 %, its SSL run, its control, its FlexMatch run and the noisy student of its SSL
#   run, so a cut-short session still has whole paired comparisons), or one of sup20 ssl control
#   flex student student-flex fixmatch fixmatch-flex (all three seeds), or studentS (seed S's
#   noisy student), sslS / controlS / sup20-S (seed S's fixed-tau run, its control, its
#   supervised 20 %), fixmatchS / fixmatch-flexS (seed S's FixMatch run), fixmatch-flex08-S (the
#   flex run with its floor tau-min at 0.8 instead of 0.5), fixmatch-controlS (FixMatch's own
#   control: the same run with lambda-u 0, i.e. the same batches, schedule, restart and
#   mixed-batch BatchNorm, without the unlabeled loss), balancedK-S (seed S's class-balanced
#   student, method balanced-student: the 20 % model labels every stream image and each
#   predicted class keeps its K most confident, K 0 = all; the supervised knobs), balancedKxN-S
#   (round N, N 2-9: the student taught by round N-1's best.pt), balancedKfull-S / balancedKfullxN-S
#   (the same without early stopping: all 60 epochs, the best validation epoch kept),
#   ensembleKxN-S (a student of the ensemble of rounds 1..N of seed S's balancedKfull chain:
#   their averaged softmax labels the stream, K per class, no early stopping),
#   sup20full-S (supervised 20 % on that schedule: the students' labeled-only control),
#   sup100full-S (supervised 100 % on that schedule; patience only decides where a run stops,
#   so copying an early-stopped sup100-seedS folder to sup100-full-seedS resumes it exactly)
#
# One selection rule for every configuration: the checkpoint with the best validation accuracy
# (supervised: best epoch; SSL and control: best round, the supervised start included).
# Supervised: Adam lr 1e-3, warmup 1 epoch + cosine over at most 60 epochs, early stopping with
# patience 8 (it fires well before the cap). SSL: the seed's knobs (tau 0.9, cap 500, 100 images
# a day, retrain at 500 pseudo-labels, lambda 1), 3 retrain epochs at lr 1e-4, T_ramp 6 epochs
# so that the ramp reaches full weight by the second retrain. Noisy student: a fresh model on
# labeled + the SSL run's pseudo-labels with the supervised knobs (folia-ssl student).
# FixMatch (folia-ssl fixmatch): from the 20 % model, every stream image unlabeled, tau 0.95
# (FixMatch's), flex: FlexMatch's class thresholds floored at tau-min 0.5, the supervised knobs
# with a 20-epoch cap (an epoch: 6.6K items, 5.2K weak views, and for flex one eval pass over
# the 5.2K stream images for the thresholds).
set -euo pipefail
cd "$(dirname "$0")/../../.."
# nice alone does not yield to other sessions' jobs under the kernel's autogroup scheduling.
echo 19 2>/dev/null >/proc/self/autogroup || true
RES=training/results/ssl
RUNS=${RUNS:-build/research/ssl128}
BIN_DIR=build/research/bin
THREADS=${THREADS:-2}
COMMON=(--size 128 --threads "$THREADS" --batch 32)
SUP_BASE=(--lr 1e-3 --warmup 1 --epochs 60 --class-weights none)
SUP=("${SUP_BASE[@]}" --patience 8)
RETRAIN=(--retrain-epochs 3 --ramp-epochs 6)
mkdir -p "$BIN_DIR" "$RUNS"
# A private copy of the binary: rebuilding build/native while a run is going must not change it.
cp -f build/native/training/folia-ssl "$BIN_DIR/folia-ssl"
BIN=$BIN_DIR/folia-ssl

log() { echo "==> $(date -u +%H:%M:%S) $*" >&2; }

sup() {  # name label_frac seed [patience]; patience 0: the whole 60-epoch schedule
  local name=$1 frac=$2 seed=$3 patience=${4:-8}
  [ -f "$RES/s128-$name.json" ] && { log "$name: done already"; return; }
  log "$name"
  "$BIN" supervised --out "$RUNS/$name" --label-frac "$frac" --seed "$seed" \
    "${COMMON[@]}" "${SUP_BASE[@]}" --patience "$patience" --resume --quiet
  cp "$RUNS/$name/results.json" "$RES/s128-$name.json"
}

# The 20 % model a seed's SSL, control and FixMatch runs start from. It is kept in the repo
# (training/results/ssl/start-models/sup20-seed<s>.pt with its results JSON, KEPT) as soon as it
# exists here, and copied back into the run folder on a machine without it (a new checkout), so
# every later session's runs of a seed start from the same model. Only where neither exists is
# it trained again; the committed s128-sup20 JSON stays as it is (it is the figure the earlier
# runs were paired with) and the two are logged side by side, so a difference is seen.
KEPT=${KEPT:-$RES/start-models}
keep() {  # run-dir kept-prefix: copy a run's best.pt and results JSON into the repo, atomically
  mkdir -p "$KEPT"
  cp "$1/results.json" "$2.json.tmp" && mv "$2.json.tmp" "$2.json"
  cp "$1/best.pt" "$2.pt.tmp" && mv "$2.pt.tmp" "$2.pt"
}
start_model() {  # seed
  local s=$1 d="$RUNS/sup20-seed$1" k="$KEPT/sup20-seed$1"
  if [ ! -f "$d/best.pt" ] && [ -f "$k.pt" ] && [ -f "$k.json" ]; then
    mkdir -p "$d"; cp "$k.pt" "$d/best.pt"; cp "$k.json" "$d/results.json"
    log "sup20-seed$s: start model from $k.pt"
  fi
  if [ ! -f "$d/best.pt" ] || [ ! -f "$d/results.json" ]; then
    if [ ! -f "$RES/s128-sup20-seed$s.json" ]; then
      sup "sup20-seed$s" 0.2 "$s"
    else
      log "sup20-seed$s: no $d/best.pt here, training it again (the committed JSON stays)"
      "$BIN" supervised --out "$d" --label-frac 0.2 --seed "$s" "${COMMON[@]}" "${SUP[@]}" \
        --resume --quiet
      /usr/bin/python3 -c 'import json, sys
a, b = (json.load(open(p)) for p in sys.argv[1:])
print("==> sup20 rerun: val %.2f / test %.2f %%; committed: val %.2f / test %.2f %%" % (
    100 * b["val_acc"], 100 * b["test_acc"], 100 * a["val_acc"], 100 * a["test_acc"]))' \
        "$RES/s128-sup20-seed$s.json" "$d/results.json" >&2
    fi
  fi
  if [ ! -f "$k.pt" ]; then
    keep "$d" "$k"; log "sup20-seed$s: start model kept in $k.pt"
  fi
}

ssl() {  # name seed retrain_threshold [extra folia-ssl run flags...]; starts from sup20-seed<seed>
  local name=$1 seed=$2 threshold=$3
  shift 3
  [ -f "$RES/s128-$name.json" ] && { log "$name: done already"; return; }
  start_model "$seed"
  log "$name"
  "$BIN" run --out "$RUNS/$name" --seed "$seed" --pretrained "$RUNS/sup20-seed$seed/best.pt" \
    "${COMMON[@]}" "${RETRAIN[@]}" --retrain-threshold "$threshold" --resume "$@"
  cp "$RUNS/$name/results.json" "$RES/s128-$name.json"
}

student() {  # name seed teacher-run; a noisy student of a finished SSL run of the same seed
  local name=$1 seed=$2 teacher=$3
  [ -f "$RES/s128-$name.json" ] && { log "$name: done already"; return; }
  log "$name"
  "$BIN" student --out "$RUNS/$name" --teacher "$RUNS/$teacher" --seed "$seed" \
    "${COMMON[@]}" "${SUP[@]}" --resume --quiet
  cp "$RUNS/$name/results.json" "$RES/s128-$name.json"
}

fixmatch() {  # name seed thresholds [tau-min [lambda-u]]; FixMatch from the seed's 20 % model
  local name=$1 seed=$2 thr=$3 tau_min=${4:-0.5} lambda_u=${5:-1}
  [ -f "$RES/s128-$name.json" ] && { log "$name: done already"; return; }
  start_model "$seed"
  log "$name"
  "$BIN" fixmatch --out "$RUNS/$name" --pretrained "$RUNS/sup20-seed$seed/best.pt" \
    --seed "$seed" --thresholds "$thr" --tau 0.95 --tau-min "$tau_min" --lambda-u "$lambda_u" \
    "${COMMON[@]}" --lr 1e-3 --warmup 1 --epochs 20 --patience 8 --class-weights none \
    --resume --quiet
  cp "$RUNS/$name/results.json" "$RES/s128-$name.json"
}

# A student that teaches the next one (balancedKx2) is kept beside the 20 % models as soon as it
# exists (start-models/<name>.pt with its results JSON) and restored from there on a new checkout.
keep_teacher() {  # name
  local d="$RUNS/$1" k="$KEPT/$1"
  if [ ! -f "$d/best.pt" ] && [ -f "$k.pt" ]; then
    # Its results JSON too: the next student reads from it what its teacher was and where the
    # chain started (without it, a student of a restored teacher took the teacher for its start).
    mkdir -p "$d"; cp "$k.pt" "$d/best.pt"; cp "$k.json" "$d/results.json"
    log "$1: teacher restored from $k.pt"
  elif [ -f "$d/best.pt" ] && [ ! -f "$k.pt" ]; then
    keep "$d" "$k"; log "$1: kept in $k.pt"
  fi
}

# A class-balanced student (its own stage). patience 0 = no early stopping: the whole 60-epoch
# cosine, the checkpoint still the best validation epoch (patience 8 stopped the K=100 student
# of seed 2 at epoch 22, in the high-LR phase where sup60 was also still at 90 %).
balanced() {  # name seed per_class teacher-checkpoint [patience]
  local name=$1 seed=$2 k=$3 teacher=$4 patience=${5:-8}
  [ -f "$RES/s128-$name.json" ] && { log "$name: done already"; return; }
  [ -f "$teacher" ] || { echo "$name: its teacher $teacher is not here (run it first)" >&2; exit 1; }
  log "$name"
  "$BIN" student --out "$RUNS/$name" --teacher-model "$teacher" --top-per-class "$k" --seed "$seed" \
    "${COMMON[@]}" "${SUP_BASE[@]}" --patience "$patience" --resume --quiet
  cp "$RUNS/$name/results.json" "$RES/s128-$name.json"
}

# A student of the ensemble of a chain's rounds 1..n (all kept in start-models/): round n's
# checkpoint is the teacher, the earlier rounds its fellow members; the whole 60-epoch schedule.
ensemble() {  # seed per_class n
  local s=$1 k=$2 n=$3 r name="ssl-balanced$2-full-ens$3-seed$1" models=()
  [ -f "$RES/s128-$name.json" ] && { log "$name: done already"; return; }
  for r in $(seq 1 "$n"); do
    local round="ssl-balanced$k-fullx$r-seed$s"
    [ "$r" -eq 1 ] && round="ssl-balanced$k-full-seed$s"
    keep_teacher "$round"
    [ -f "$RUNS/$round/best.pt" ] || { echo "$name: round $r ($round) is not here" >&2; exit 1; }
    models+=("$RUNS/$round/best.pt")
  done
  log "$name"
  "$BIN" student --out "$RUNS/$name" --teacher-model "${models[-1]}" \
    --ensemble-with "${models[@]:0:n-1}" --top-per-class "$k" --seed "$s" \
    "${COMMON[@]}" "${SUP_BASE[@]}" --patience 0 --resume --quiet
  cp "$RUNS/$name/results.json" "$RES/s128-$name.json"
}

# A round whose results are committed but whose model is neither here nor kept (round 2 of seed 2
# ran before students were kept) is trained again into its folder for the next round to learn
# from; its committed JSON stays, and the two are logged side by side, so a difference is seen.
retrain_round() {  # name seed per_class teacher-checkpoint patience
  local name=$1 d="$RUNS/$1"
  log "$name: no model here or in $KEPT, training it again (the committed JSON stays)"
  "$BIN" student --out "$d" --teacher-model "$4" --top-per-class "$3" --seed "$2" \
    "${COMMON[@]}" "${SUP_BASE[@]}" --patience "$5" --resume --quiet
  /usr/bin/python3 -c 'import json, sys
a, b = (json.load(open(p)) for p in sys.argv[1:])
print("==> rerun: val %.2f / test %.2f %%; committed: val %.2f / test %.2f %%" % (
    100 * b["val_acc"], 100 * b["test_acc"], 100 * a["val_acc"], 100 * a["test_acc"]))' \
    "$RES/s128-$name.json" "$d/results.json" >&2
}

stages=("$@")
[ ${#stages[@]} -eq 0 ] && stages=(main1 main2 main3 sup60 sup100 ablation)
for st in "${stages[@]}"; do
  case $st in
    main[123]) s=${st#main}
               sup "sup20-seed$s" 0.2 "$s"
               ssl "ssl-fixed-tau-seed$s" "$s" 500
               ssl "control-seed$s" "$s" 500 --control "$RES/s128-ssl-fixed-tau-seed$s.json"
               ssl "ssl-flexmatch-seed$s" "$s" 500 --method flexmatch
               student "ssl-student-seed$s" "$s" "ssl-fixed-tau-seed$s" ;;
    sup20) for s in 1 2 3; do sup "sup20-seed$s" 0.2 "$s"; done ;;
    sup20-[123]) s=${st#sup20-}; sup "sup20-seed$s" 0.2 "$s" ;;
    sup20full-[123]) s=${st#sup20full-}; sup "sup20-full-seed$s" 0.2 "$s" 0 ;;
    sup100full-[123]) s=${st#sup100full-}; sup "sup100-full-seed$s" 1.0 "$s" 0 ;;
    ssl[123]) s=${st#ssl}; ssl "ssl-fixed-tau-seed$s" "$s" 500 ;;
    control[123]) s=${st#control}
                  ssl "control-seed$s" "$s" 500 --control "$RES/s128-ssl-fixed-tau-seed$s.json" ;;
    ssl) for s in 1 2 3; do ssl "ssl-fixed-tau-seed$s" "$s" 500; done ;;
    sup60) for s in 1 2; do sup "sup60-seed$s" 0.6 "$s"; done ;;
    sup100) for s in 1 2; do sup "sup100-seed$s" 1.0 "$s"; done ;;
    control) for s in 1 2 3; do
               ssl "control-seed$s" "$s" 500 --control "$RES/s128-ssl-fixed-tau-seed$s.json"; done ;;
    ablation) ssl "ssl-fixed-tau-rt200-seed1" 1 200 ;;
    flex) for s in 1 2 3; do ssl "ssl-flexmatch-seed$s" "$s" 500 --method flexmatch; done ;;
    student) for s in 1 2 3; do student "ssl-student-seed$s" "$s" "ssl-fixed-tau-seed$s"; done ;;
    student-flex) for s in 1 2 3; do
                    student "ssl-student-flex-seed$s" "$s" "ssl-flexmatch-seed$s"; done ;;
    student[123]) s=${st#student}; student "ssl-student-seed$s" "$s" "ssl-fixed-tau-seed$s" ;;
    fixmatch) for s in 1 2 3; do fixmatch "ssl-fixmatch-seed$s" "$s" fixed; done ;;
    fixmatch-flex) for s in 1 2 3; do fixmatch "ssl-fixmatch-flex-seed$s" "$s" flex; done ;;
    fixmatch[123]) s=${st#fixmatch}; fixmatch "ssl-fixmatch-seed$s" "$s" fixed ;;
    fixmatch-control[123]) s=${st#fixmatch-control}
                           fixmatch "ssl-fixmatch-control-seed$s" "$s" fixed 0.5 0 ;;
    fixmatch-flex08-[123]) s=${st#fixmatch-flex08-}
                           fixmatch "ssl-fixmatch-flex08-seed$s" "$s" flex 0.8 ;;
    fixmatch-flex[123]) s=${st#fixmatch-flex}; fixmatch "ssl-fixmatch-flex-seed$s" "$s" flex ;;
    ensemble*x[2-9]-[123]) s=${st##*-} n=${st%-*}; n=${n##*x} k=${st#ensemble}; k=${k%x*}
                           ensemble "$s" "$k" "$n" ;;
    balanced*-[123]) s=${st##*-} k=${st#balanced}; k=${k%-*} n=1 full="" p=8
                     [[ $k =~ x([0-9])$ ]] && { n=${BASH_REMATCH[1]}; k=${k%x?}; }
                     [[ $k == *full ]] && { full=-full; k=${k%full}; p=0; }
                     name="ssl-balanced$k$full-seed$s"
                     if [ "$n" -gt 1 ]; then  # round n: the student of round n-1's student
                       prev=$name
                       [ "$n" -gt 2 ] && prev="ssl-balanced$k${full}x$((n - 1))-seed$s"
                       name="ssl-balanced$k${full}x$n-seed$s"
                       keep_teacher "$prev"
                       if [ ! -f "$RUNS/$prev/best.pt" ] && [ "$n" -gt 2 ]; then
                         pp="ssl-balanced$k$full-seed$s"
                         [ "$n" -gt 3 ] && pp="ssl-balanced$k${full}x$((n - 2))-seed$s"
                         keep_teacher "$pp"
                         retrain_round "$prev" "$s" "$k" "$RUNS/$pp/best.pt" "$p"
                         keep_teacher "$prev"
                       fi
                       balanced "$name" "$s" "$k" "$RUNS/$prev/best.pt" "$p"
                     else
                       start_model "$s"
                       balanced "$name" "$s" "$k" "$RUNS/sup20-seed$s/best.pt" "$p"
                     fi
                     keep_teacher "$name" ;;  # for the next round, later
    *) echo "unknown stage $st" >&2; exit 2 ;;
  esac
done
