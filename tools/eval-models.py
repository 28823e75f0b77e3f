#!/usr/bin/python3
"""Evaluates Folia model files through the native engine (`folia diagnose --json`, the path a
farmer's photo takes) on the parts of the committed splits, and on a folder of photos of classes
the models do not know (the "unknown crop" rate). Writes one JSON for tools/model-card.py.

usage: /usr/bin/python3 tools/eval-models.py --model NAME=PATH [--model NAME=PATH ...]
           [--data ROOT=SPLIT ...] [--unknown DIR] [--parts test,val] [--out JSON] [--cli PATH]

Every figure comes from the engine's calibrated probabilities and its "sure" flag (top-1 p >=
the model file's abstain threshold). A photo whose true class a model does not know counts as a
wrong answer for that model."""
import argparse
import json
import os
import subprocess
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)


def diagnose(cli, model, files, threads):
    """-> {file: (top labels, top ps, sure)} for every file, in chunks (argument limits)."""
    out = {}
    for i in range(0, len(files), 400):
        chunk = files[i:i + 400]
        r = subprocess.run([cli, "diagnose", "--model", model, "--json", "--threads", str(threads)] + chunk,
                           capture_output=True, text=True)
        if r.returncode not in (0, 1):
            sys.exit(f"eval-models: {cli} failed ({r.returncode}): {r.stderr.strip()}")
        for line in r.stdout.splitlines():
            j = json.loads(line)
            out[j["file"]] = ([t["label"] for t in j["top"]], [t["p"] for t in j["top"]], j["sure"])
        print(f"  {model}: {min(i + 400, len(files))}/{len(files)}", file=sys.stderr)
    missing = [f for f in files if f not in out]
    if missing:
        sys.exit(f"eval-models: the engine refused {len(missing)} files, e.g. {missing[0]}")
    return out


def model_labels(cli, model):
    r = subprocess.run([cli, "inspect", model, "--json"], capture_output=True, text=True, check=True)
    return json.loads(r.stdout)["labels"]


def reliability(conf, right, bins=10):
    edges = np.linspace(0, 1, bins + 1)
    rows, ece = [], 0.0
    for b in range(bins):
        m = (conf > edges[b]) & (conf <= edges[b + 1]) if b else (conf >= 0) & (conf <= edges[1])
        if m.sum() == 0:
            rows.append({"lo": edges[b], "hi": edges[b + 1], "n": 0, "conf": None, "acc": None})
            continue
        c, a = float(conf[m].mean()), float(right[m].mean())
        ece += m.sum() / len(conf) * abs(c - a)
        rows.append({"lo": edges[b], "hi": edges[b + 1], "n": int(m.sum()), "conf": c, "acc": a})
    return rows, float(ece)


def metrics(res, files, truth, labels):
    """Top-1/top-3, not-sure rates, ECE, per-class recall and the confusion matrix."""
    pred = [res[f][0][0] for f in files]
    top3 = [truth[i] in res[f][0][:3] for i, f in enumerate(files)]
    conf = np.array([res[f][1][0] for f in files])
    sure = np.array([res[f][2] for f in files])
    right = np.array([p == t for p, t in zip(pred, truth)])
    classes = sorted(set(truth))
    idx = {c: i for i, c in enumerate(labels)}
    cm = np.zeros((len(classes), len(labels)), dtype=int)
    for t, p in zip(truth, pred):
        cm[classes.index(t), idx[p]] += 1
    rel, ece = reliability(conf, right.astype(float))
    per_class = []
    for c in classes:
        m = np.array([t == c for t in truth])
        per_class.append({"label": c, "support": int(m.sum()), "recall": float(right[m].mean()),
                          "known": c in idx, "not_sure": float((~sure[m]).mean())})
    n_wrong, n_right = int((~right).sum()), int(right.sum())
    return {
        "n": len(files), "top1": float(right.mean()), "top3": float(np.mean(top3)),
        "not_sure_rate": float((~sure).mean()),
        "flagged_wrong": float((~sure[~right]).mean()) if n_wrong else 0.0,
        "flagged_right": float((~sure[right]).mean()) if n_right else 0.0,
        "wrong": n_wrong, "right": n_right, "ece": ece, "reliability": rel,
        "per_class": per_class, "confusion": {"rows": classes, "cols": labels, "counts": cm.tolist()},
    }


def split_files(root, split, parts):
    with open(split) as f:
        s = json.load(f)
    by = {p: [] for p in parts}
    for rel, p in s["files"].items():
        if p in by:
            by[p].append(rel)
    return {p: sorted(v) for p, v in by.items()}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", action="append", required=True, help="NAME=PATH")
    ap.add_argument("--data", action="append", default=[], help="ROOT=SPLIT_JSON (repeatable)")
    ap.add_argument("--unknown", help="folder of <class>/<photo> of classes no model knows")
    ap.add_argument("--parts", default="test,val")
    ap.add_argument("--cli", default=os.path.join(ROOT, "build/native/bin/folia"))
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--out", default=os.path.join(ROOT, "build/eval/models.json"))
    a = ap.parse_args()
    parts = a.parts.split(",")
    sets = []  # (name, files, truth)
    for d in a.data:
        root, split = d.split("=", 1)
        dom = os.path.basename(os.path.normpath(root))
        for p, rels in split_files(root, split, parts).items():
            sets.append((f"{dom}/{p}", [os.path.join(root, r) for r in rels], [r.split("/")[0] for r in rels]))
    if a.unknown:
        rels = sorted(os.path.join(c, f) for c in os.listdir(a.unknown) if os.path.isdir(os.path.join(a.unknown, c))
                      for f in os.listdir(os.path.join(a.unknown, c)) if not f.startswith("."))
        sets.append(("unknown", [os.path.join(a.unknown, r) for r in rels], [r.split("/")[0] for r in rels]))
    out = {"format": "folia-eval-models-1", "data": a.data, "unknown": a.unknown, "models": {}}
    for spec in a.model:
        name, path = spec.split("=", 1)
        labels = model_labels(a.cli, path)
        allfiles = sorted({f for _, files, _ in sets for f in files})
        res = diagnose(a.cli, path, allfiles, a.threads)
        mo = {"path": os.path.relpath(path, ROOT), "classes": len(labels), "sets": {}}
        for sname, files, truth in sets:
            if sname == "unknown":
                sure = np.array([res[f][2] for f in files])
                mo["sets"][sname] = {"n": len(files), "not_sure_rate": float((~sure).mean()),
                                     "top_labels": sorted({res[f][0][0] for f in files})[:10]}
            else:
                mo["sets"][sname] = metrics(res, files, truth, labels)
        out["models"][name] = mo
        for sname, m in mo["sets"].items():
            extra = "" if sname == "unknown" else (f" top-1 {100 * m['top1']:.2f}% top-3 {100 * m['top3']:.2f}% "
                                                   f"not sure: {100 * m['flagged_wrong']:.1f}% of wrong, {100 * m['flagged_right']:.1f}% of right;")
            print(f"{name} {sname} ({m['n']}):{extra} not-sure rate {100 * m['not_sure_rate']:.1f}%")
    os.makedirs(os.path.dirname(os.path.abspath(a.out)), exist_ok=True)
    tmp = a.out + ".tmp"
    with open(tmp, "w") as f:
        json.dump(out, f, indent=1)
    os.replace(tmp, a.out)
    print("wrote", a.out)


if __name__ == "__main__":
    main()
