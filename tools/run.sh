#!/usr/bin/env bash
# The main job: set up, build, and serve the offline web app on 127.0.0.1 (COOP/COEP headers on,
# so the threaded engine runs), printing the URL:
#   bash tools/run.sh [--port N]                      (FOLIA_PORT, default 8080)
# or diagnose leaf photos with the native CLI:
#   bash tools/run.sh --diagnose [photo.jpg ...]      (photos given without --diagnose also work)
# Without photos, --diagnose takes a few PlantVillage photos from $FOLIA_DATA (default:
# ../shared/data/plantvillage next to the repository).
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
step() { printf '\n==> %s\n' "$*"; }

# Resolve the photos before cd'ing, so relative paths given by the user keep working.
photos=()
mode=serve
port=${FOLIA_PORT:-8080}
while [ $# -gt 0 ]; do
  case "$1" in
    --diagnose) mode=diagnose ;;
    --serve) mode=serve ;;
    --port) port=$2; shift ;;
    --port=*) port=${1#--port=} ;;
    -h|--help) sed -n '2,8p' "$0"; exit 0 ;;
    -*) echo "run.sh: unknown option $1" >&2; exit 2 ;;
    /*) photos+=("$1"); mode=diagnose ;;
    *) photos+=("$PWD/$1"); mode=diagnose ;;
  esac
  shift
done
cd "$here"
if [ -z "${FOLIA_DATA:-}" ] && [ -d "$here/../shared/data/plantvillage" ]; then
  FOLIA_DATA=$(cd "$here/../shared/data/plantvillage" && pwd)
fi
export FOLIA_DATA=${FOLIA_DATA:-}

step "setup (tools/setup.sh)"
bash tools/setup.sh

step "build the native CLI (tools/build-native.sh)"
bash tools/build-native.sh folia_cli folia-make-random-model
folia="$here/build/native/bin/folia"

if [ "$mode" = diagnose ] && [ ${#photos[@]} -eq 0 ]; then
  if [ -z "$FOLIA_DATA" ] || [ ! -d "$FOLIA_DATA" ]; then
    echo "no photo given and no data folder (set FOLIA_DATA or pass photo.jpg)" >&2
    exit 2
  fi
  step "no photo given: taking the first photo of 4 classes in $FOLIA_DATA"
  for cls in Apple___Apple_scab Grape___Black_rot Potato___Early_blight Tomato___healthy; do
    f=$(find "$FOLIA_DATA/$cls" -maxdepth 1 -type f \( -iname '*.jpg' -o -iname '*.jpeg' -o -iname '*.png' \) 2>/dev/null | sort | head -n 1)
    [ -n "$f" ] && photos+=("$f")
  done
  [ ${#photos[@]} -gt 0 ] || { echo "no photos found in $FOLIA_DATA" >&2; exit 2; }
fi

# The shipped model when there is one; otherwise a random one, so the pipeline still runs.
shipped="$here/shared/models/plantvillage.folia"
if [ -z "${FOLIA_MODEL:-}" ] && [ ! -f "$shipped" ]; then
  step "no trained model at shared/models/plantvillage.folia yet: using a RANDOM model (answers are meaningless)"
  labels=()
  [ -n "$FOLIA_DATA" ] && [ -f "$FOLIA_DATA/CLASSES.txt" ] && labels=(--labels "$FOLIA_DATA/CLASSES.txt")
  mkdir -p build/models
  "$here/build/native/bin/folia-make-random-model" -o build/models/random.folia --seed 1 "${labels[@]}"
  export FOLIA_MODEL="$here/build/models/random.folia"
fi

if [ "$mode" = diagnose ]; then
  step "folia diagnose ${photos[*]}"
  "$folia" diagnose "${photos[@]}"
  exit
fi

step "build the wasm engines (tools/build-wasm.sh --no-test)"
bash tools/build-wasm.sh --no-test
step "build the web app (tools/build-web.sh)"
bash tools/build-web.sh --model "${FOLIA_MODEL:-$shipped}"
step "serve web/dist"
exec node tools/serve.mjs --port "$port"
