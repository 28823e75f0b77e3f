#!/usr/bin/python3
"""Writes shared/models/MODEL.md (the model card) and its plots from files that the commands of
tools/make-model-card.sh produce, so every figure in it comes from a file a run wrote:
  RUN_DIR/run.json, history.json, calibration.json  (folia-train train / calibrate)
  EVAL_JSON                                          (tools/eval-models.py: the engine's answers
                                                      on the committed splits, new and old model)

usage: /usr/bin/python3 tools/model-card.py RUN_DIR EVAL_JSON OUT_MD [--commands FILE]"""
import argparse
import datetime
import json
import os

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402


def load(path):
    with open(path) as f:
        return json.load(f)


def pct(x):
    return f"{100 * x:.2f} %"


def short(label):
    crop, _, dis = label.partition("___")
    crop = crop.split("_(")[0].replace(",_bell", "").replace("_", " ")
    return f"{crop}: {dis.replace('_', ' ')[:28]}"


def plot_confusion(m, title, path):
    cm = np.array(m["confusion"]["counts"], dtype=float)
    rows, cols = m["confusion"]["rows"], m["confusion"]["cols"]
    norm = cm / np.maximum(cm.sum(1, keepdims=True), 1)
    fig, ax = plt.subplots(figsize=(12, 0.28 * len(rows) + 3))
    im = ax.imshow(norm, cmap="viridis", vmin=0, vmax=1, aspect="auto")
    ax.set_yticks(range(len(rows)), [short(r) for r in rows], fontsize=7)
    ax.set_xticks(range(len(cols)), [short(c) for c in cols], fontsize=6, rotation=90)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(title)
    fig.colorbar(im, ax=ax, fraction=0.03, label="share of the true class")
    fig.tight_layout()
    fig.savefig(path, dpi=80)
    plt.close(fig)


def plot_reliability(sets, path):
    fig, axes = plt.subplots(1, len(sets), figsize=(5 * len(sets), 4.5))
    for ax, (title, m) in zip(np.atleast_1d(axes), sets):
        rel = [r for r in m["reliability"] if r["n"]]
        mid = [(r["lo"] + r["hi"]) / 2 for r in rel]
        ax.bar(mid, [r["acc"] for r in rel], width=0.09, alpha=0.7, label="accuracy")
        ax.plot([0, 1], [0, 1], "k--", lw=1, label="perfect calibration")
        ax.plot([r["conf"] for r in rel], [r["acc"] for r in rel], "o-", color="C3", label="mean confidence")
        ax.set_xlim(0, 1)
        ax.set_ylim(0, 1)
        ax.set_xlabel("calibrated top-1 probability")
        ax.set_ylabel("accuracy")
        ax.set_title(f"{title} (ECE {m['ece']:.3f})")
        ax.legend(loc="upper left", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=80)
    plt.close(fig)


def plot_curves(hist, path):
    ep = list(range(1, len(hist["epochs"]) + 1))  # stages one after the other
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(10, 4))
    a1.plot(ep, [e["train_loss"] for e in hist["epochs"]], label="train")
    a1.plot(ep, [e["val_loss"] for e in hist["epochs"]], label="val")
    a1.set_xlabel("epoch")
    a1.set_ylabel("loss")
    a1.legend()
    a2.plot(ep, [100 * e["train_acc"] for e in hist["epochs"]], label="train (augmented)")
    a2.plot(ep, [100 * e["val_acc"] for e in hist["epochs"]], label="val (lab + field)")
    a2.set_xlabel("epoch")
    a2.set_ylabel("top-1 %")
    a2.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=80)
    plt.close(fig)


def summary_table(w, ev, names):
    w("| part | images | " + " | ".join(f"{n}: top-1 | {n}: top-3 | {n}: not sure on wrong / right" for n in names) + " |")
    w("|---|---:|" + "---:|---:|---|" * len(names))
    first = ev["models"][names[0]]["sets"]
    for s in first:
        if s == "unknown":
            continue
        cells = []
        for n in names:
            m = ev["models"][n]["sets"][s]
            cells += [pct(m["top1"]), pct(m["top3"]), f"{pct(m['flagged_wrong'])} / {pct(m['flagged_right'])}"]
        w(f"| {s} | {first[s]['n']} | " + " | ".join(cells) + " |")
    if "unknown" in first:
        cells = []
        for n in names:
            cells += ["-", "-", f"answered \"not sure\": {pct(ev['models'][n]['sets']['unknown']['not_sure_rate'])}"]
        w(f"| unknown crop (mango, `new-classes/`) | {first['unknown']['n']} | " + " | ".join(cells) + " |")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("run_dir")
    ap.add_argument("eval_json")
    ap.add_argument("out_md")
    ap.add_argument("--commands")
    a = ap.parse_args()
    # RUN_DIR holds one run (run.json, history.json, calibration.json) or stages stage1/, stage2/...
    # (each run initialised from the one before); calibration.json comes from the last.
    stages = sorted(d for d in os.listdir(a.run_dir) if d.startswith("stage"))
    dirs = [os.path.join(a.run_dir, d) for d in stages] or [a.run_dir]
    runs = [(load(os.path.join(d, "run.json")), load(os.path.join(d, "history.json"))) for d in dirs]
    run, hist = runs[-1]
    cal = load(os.path.join(dirs[-1], "calibration.json"))
    ev = load(a.eval_json)
    names = list(ev["models"])
    new = ev["models"][names[0]]["sets"]
    out_dir = os.path.dirname(os.path.abspath(a.out_md))
    stem = "plantvillage"
    plot_confusion(new["plantdoc-train/test"], "field test part: confusion (row-normalised)", os.path.join(out_dir, f"{stem}-confusion-field.png"))
    plot_confusion(new["plantvillage/test"], "lab test part: confusion (row-normalised)", os.path.join(out_dir, f"{stem}-confusion.png"))
    plot_reliability([("lab test", new["plantvillage/test"]), ("field test", new["plantdoc-train/test"])],
                     os.path.join(out_dir, f"{stem}-reliability.png"))
    plot_curves({"epochs": [e for _, h in runs for e in h["epochs"]]}, os.path.join(out_dir, f"{stem}-learning-curves.png"))
    cfg = run["config"]
    L = []
    w = L.append
    w("# Folia model card: `plantvillage.folia` (lab + field, 37 classes)")
    w("")
    w(f"Generated by `tools/make-model-card.sh` on {datetime.date.today()}: every figure below is "
      "the native engine's answer (`folia diagnose --json`, calibrated probabilities, the file's own "
      "\"not sure\" threshold) on the committed split parts, computed by `tools/eval-models.py`.")
    w("")
    w("## Summary")
    w("")
    summary_table(w, ev, names)
    w("")
    lab_t, fld_t = new["plantvillage/test"], new["plantdoc-train/test"]
    unk = new.get("unknown", {}).get("not_sure_rate", float("nan"))
    w("| target (own test parts) | goal | measured | met |")
    w("|---|---|---:|---|")
    for name, goal, val, ok in [
        ("field test top-1", ">= 45 %", pct(fld_t["top1"]), fld_t["top1"] >= 0.45),
        ("lab test top-1", ">= 95.5 %", pct(lab_t["top1"]), lab_t["top1"] >= 0.955),
        ("field: wrong answers flagged \"not sure\"", ">= 50 %", pct(fld_t["flagged_wrong"]), fld_t["flagged_wrong"] >= 0.5),
        ("field: right answers flagged \"not sure\"", "<= 25 %", pct(fld_t["flagged_right"]), fld_t["flagged_right"] <= 0.25),
        ("unknown crop (mango) answered \"not sure\"", ">= 80 %", pct(unk), unk >= 0.8)]:
        w(f"| {name} | {goal} | {val} | {'yes' if ok else '**no**'} |")
    w("")
    w(f"`{names[0]}` is this model; `{names[1] if len(names) > 1 else ''}` is the previous shipped model "
      "(35 classes, lab photos only) on the same photos: a photo of a class it does not know counts as wrong.")
    w("")
    w(f"* Calibration: temperature T = {cal['temperature']:.4f} fitted on the validation parts of both "
      f"folders ({cal['val_images']} photos, lab + field); \"not sure\" when the calibrated top-1 p < "
      f"{cal['abstain_threshold']:.4f}, chosen on {cal.get('abstain_fitted_on', 'val')} so that at most "
      f"{pct(cal['max_right_flagged'])} of its right answers are flagged.")
    w("* Architecture unchanged: folia-cnn4 (4 x [conv 3x3 + BN + ReLU + maxpool 2], 32/64/128/256 "
      "channels, global average pool, FC 256 + ReLU + dropout 0.3, FC 37), 128x128 RGB, ImageNet "
      "mean/std, Pillow-exact bilinear resize.")
    w("* Exemplar features for on-device teaching: the file carries `exemplars.features` / `exemplars.labels` "
      "(herding-selected trunk features of training photos per class, see `folia-train export --exemplars`).")
    w("")
    w("## Data and split")
    w("")
    w("* `../shared/data/plantvillage`: 8,340 lab photos, 35 classes, the committed leaf-grouped split "
      "`training/splits/plantvillage-seed42.json` (test 877, val 862, train 6,601).")
    w("* `../shared/data/plantdoc-train`: 2,137 field/web photos (already squashed to 256x256, some label "
      "noise), 27 classes, the committed split by file `training/splits/plantdoc-train-seed42.json` "
      "(stratified: test 320, val 320, train 1,497).")
    w("* 37 classes: the union; `Soybean___healthy` and `Squash___Powdery_mildew` have field photos only. "
      "`Peach___Bacterial_spot` has no photo anywhere here.")
    w("* Unknown crop: the 209 mango photos of `../shared/data/new-classes` (never trained on).")
    w("")
    w("## Recipe")
    w("")
    for i, (r, h) in enumerate(runs):
        c = r["config"]
        start = ("the previous 35-class model (`--init-model`; its 35 output rows copied by label, "
                 "2 new rows fresh)") if r.get("init_model") else f"stage {i}'s best checkpoint (`--init`)"
        w(f"* Stage {i + 1}: from {start}, {len(h['epochs'])} epochs at {r['size']}x{r['size']} on "
          f"{r['train_images']} training photos ({r['train_items']} items per epoch: over-sampling "
          f"{r.get('oversample')} per folder), augmentation `{r.get('augment', 'lab')}` per folder; Adam, "
          f"peak LR {c['lr']:g}, warmup {c['warmup_epochs']:g} epoch then cosine to {c['min_lr_frac']:g}x, "
          f"weight decay {c['weight_decay']:g}, batch {c['batch']}, {c['class_weighting']}-inverse class "
          f"weights, label smoothing {c.get('label_smoothing', 0):g}; best validation epoch "
          f"{h.get('best_epoch', -1) + 1} of {len(h['epochs'])} kept.")
    # The field recipe's parameters, from a stage that used it for every folder.
    ap_ = next((r["config"]["augment_params"] for r, _ in runs if r.get("augment") == "field"), cfg["augment_params"])
    w(f"* Augmentation (shared C++ core, `folia::augment_image`): `field` = "
      f"random resized crop p={ap_['crop_p']:g} (area {ap_['crop_min_area']:g}-1, aspect up to {ap_['crop_max_ratio']:g}), "
      f"hue +-{ap_['hue_degrees']:g} deg and saturation +-{ap_['saturation']:g} p={ap_['hue_p']:g}, 3x3 blur "
      f"p={ap_['blur_p']:g}, cut-out p={ap_['cutout_p']:g}, plus the lab recipe with stronger colour jitter; `lab` = "
      "flip, rotation +-20 deg, brightness/contrast +-0.2, light noise. Each transform was not ablated "
      "separately (no CPU budget for 64-px ablations this time).")
    secs = sum(e["seconds"] for _, h in runs for e in h["epochs"])
    w(f"* Training time: {secs / 60:.0f} minutes (sum of epochs) on the 2-core build machine, shared "
      "with builds ([learning curves](plantvillage-learning-curves.png)).")
    w("")
    w("## Plots")
    w("")
    w("* [reliability diagrams, lab and field test](plantvillage-reliability.png)")
    w("* [confusion matrix, field test](plantvillage-confusion-field.png), "
      "[confusion matrix, lab test](plantvillage-confusion.png)")
    w("")
    w("## Per class (test parts)")
    w("")
    lab = {p["label"]: p for p in new["plantvillage/test"]["per_class"]}
    field = {p["label"]: p for p in new["plantdoc-train/test"]["per_class"]}
    old = ev["models"][names[1]]["sets"] if len(names) > 1 else None
    oldf = {p["label"]: p for p in old["plantdoc-train/test"]["per_class"]} if old else {}
    w("| class | lab test n | lab top-1 | field test n | field top-1 | field top-1, old model | field not-sure |")
    w("|---|---:|---:|---:|---:|---:|---:|")
    for c in sorted(set(lab) | set(field)):
        l, f = lab.get(c), field.get(c)
        o = oldf.get(c)
        w(f"| `{c}` | {l['support'] if l else 0} | {pct(l['recall']) if l else '-'} | "
          f"{f['support'] if f else 0} | {pct(f['recall']) if f else '-'} | {pct(o['recall']) if o else '-'} | "
          f"{pct(f['not_sure']) if f else '-'} |")
    w("")
    w("## Known limits")
    w("")
    w("* Field photos: 1,497 training photos over 27 classes (15 for Corn Cercospora); the field test "
      "figures of thin classes rest on a handful of photos. PlantDoc's labels are noisy (web images).")
    w("* The field test part comes from the same PlantDoc collection as its training part (other photos, "
      "same sources): a farmer's own photos may differ more.")
    w("* \"Not sure\" is a threshold on one probability, not a detector of unknown crops: the mango "
      "figure above says how often it catches a crop it has never seen.")
    w("")
    if a.commands:
        w("## Exact commands")
        w("")
        w("```sh")
        with open(a.commands) as f:
            w(f.read().rstrip())
        w("```")
        w("")
    w("## Files")
    w("")
    w("* `plantvillage.folia`: the model file (format: `shared/include/folia/model-file.h`): BatchNorm "
      "unfolded, labels, preprocessing, calibration, exemplar features, training metadata in `meta`.")
    w("* `plantvillage.golden.bin`: a synthetic input (1,128,128,3) and LibTorch's logits for it; the "
      "engine tests compare native and wasm logits against it (max abs diff <= 1e-4).")
    w("* `plantvillage-eval.json`: the evaluation this card is made from (`tools/eval-models.py`).")
    with open(a.out_md + ".tmp", "w") as f:
        f.write("\n".join(L) + "\n")
    os.replace(a.out_md + ".tmp", a.out_md)
    print("wrote", a.out_md)


if __name__ == "__main__":
    main()
