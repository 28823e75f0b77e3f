#!/usr/bin/python3
"""Draws the training report PNGs from folia-train's JSON (eval-test.json, optionally
calibration.json): learning curves (loss/accuracy per epoch, every stage of a progressive
run), per-class accuracy/F1, the confusion matrix, and a reliability diagram when
calibration data is given. Uses Debian's python3-matplotlib; nothing is recomputed from images.

usage: /usr/bin/python3 tools/plot-training.py EVAL_JSON OUT_DIR [--prefix NAME]
"""
import argparse
import json
import os

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def save(fig, path):
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def short(label):
    crop, _, disease = label.partition("___")
    crop = crop.split("_(")[0].replace(",_bell", "").replace("_", " ")
    return f"{crop}: {disease.replace('_', ' ').strip()}"


def learning_curves(ev, path):
    stages = ev.get("learning_curves", [])
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(12, 4.5))
    x0 = 0
    for st in stages:
        ep = st["epochs"]
        xs = [x0 + e["epoch"] + 1 for e in ep]
        tag = f"{st['size']}px"
        a1.plot(xs, [e["train_loss"] for e in ep], "-", label=f"train loss ({tag})")
        a1.plot(xs, [e["val_loss"] for e in ep], "--", label=f"val loss ({tag})")
        a2.plot(xs, [100 * e["train_acc"] for e in ep], "-", label=f"train acc ({tag}, augmented)")
        a2.plot(xs, [100 * e["val_acc"] for e in ep], "--", label=f"val acc ({tag})")
        if st.get("best_epoch", -1) >= 0 and st is stages[-1]:
            b = st["best_epoch"]
            a2.axvline(x0 + b + 1, color="gray", lw=0.8, ls=":")
        x0 += len(ep)
    a1.set_xlabel("epoch")
    a1.set_ylabel("cross-entropy")
    a1.set_yscale("log")
    a1.legend(fontsize=8)
    a1.grid(alpha=0.3)
    a2.set_xlabel("epoch")
    a2.set_ylabel("accuracy (%)")
    a2.set_ylim(0, 100)
    a2.legend(fontsize=8, loc="lower right")
    a2.grid(alpha=0.3)
    m = ev["metrics"]
    fig.suptitle(f"Learning curves; {ev['part']} top-1 {100 * m['accuracy']:.2f}% ({m['n']} images)")
    save(fig, path)


def per_class(ev, path):
    pc = ev["metrics"]["per_class"]
    labels = [short(c["label"]) for c in pc]
    fig, ax = plt.subplots(figsize=(10, 9))
    ys = range(len(pc))
    ax.barh([y + 0.2 for y in ys], [100 * c["recall"] for c in pc], 0.4, label="accuracy (recall)")
    ax.barh([y - 0.2 for y in ys], [100 * c["f1"] for c in pc], 0.4, label="F1")
    ax.set_yticks(list(ys))
    ax.set_yticklabels([f"{l} (n={c['support']})" for l, c in zip(labels, pc)], fontsize=7)
    ax.invert_yaxis()
    ax.set_xlim(min(50, min(100 * c["recall"] for c in pc) - 5), 100.5)
    ax.set_xlabel("%")
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.06), ncol=2)
    ax.grid(axis="x", alpha=0.3)
    ax.set_title(f"Per-class accuracy and F1 on the {ev['part']} split")
    save(fig, path)


def confusion(ev, path):
    cm = ev["metrics"]["confusion"]
    labels = [short(c["label"]) for c in ev["metrics"]["per_class"]]
    norm = [[v / max(1, sum(row)) for v in row] for row in cm]
    fig, ax = plt.subplots(figsize=(11, 10))
    im = ax.imshow(norm, cmap="Blues", vmin=0, vmax=1)
    n = len(cm)
    for i in range(n):
        for j in range(n):
            if cm[i][j]:
                ax.text(j, i, cm[i][j], ha="center", va="center", fontsize=5,
                        color="white" if norm[i][j] > 0.5 else "black")
    ax.set_xticks(range(n))
    ax.set_yticks(range(n))
    ax.set_xticklabels(labels, rotation=90, fontsize=6)
    ax.set_yticklabels(labels, fontsize=6)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(f"Confusion matrix ({ev['part']}, counts; colour = row share)")
    fig.colorbar(im, fraction=0.03)
    save(fig, path)


def reliability(rel, path):
    """rel: {"bins": [{"lo","hi","count","accuracy","confidence"}...], ...} before/after."""
    fig, ax = plt.subplots(figsize=(5.5, 5))
    ax.plot([0, 1], [0, 1], "k:", lw=1, label="perfect calibration")
    for key, style in (("before", "o-"), ("after", "s-")):
        bins = [b for b in rel[key]["bins"] if b["count"] > 0]
        ax.plot([b["confidence"] for b in bins], [b["accuracy"] for b in bins], style,
                label=f"{key} (ECE {rel[key]['ece']:.4f})")
    ax.set_xlabel("top-1 confidence")
    ax.set_ylabel("accuracy")
    ax.set_title(f"Reliability on {rel['part']} (T = {rel['temperature']:.3f})")
    ax.legend()
    ax.grid(alpha=0.3)
    save(fig, path)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("eval_json")
    ap.add_argument("out_dir")
    ap.add_argument("--prefix", default="plantvillage")
    a = ap.parse_args()
    with open(a.eval_json) as f:
        ev = json.load(f)
    os.makedirs(a.out_dir, exist_ok=True)
    outs = []
    p = os.path.join(a.out_dir, f"{a.prefix}-learning-curves.png")
    learning_curves(ev, p)
    outs.append(p)
    p = os.path.join(a.out_dir, f"{a.prefix}-per-class.png")
    per_class(ev, p)
    outs.append(p)
    p = os.path.join(a.out_dir, f"{a.prefix}-confusion.png")
    confusion(ev, p)
    outs.append(p)
    if "reliability" in ev:
        p = os.path.join(a.out_dir, f"{a.prefix}-reliability.png")
        reliability(ev["reliability"], p)
        outs.append(p)
    for o in outs:
        print("wrote", o)


if __name__ == "__main__":
    main()
