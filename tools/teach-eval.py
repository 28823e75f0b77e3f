#!/usr/bin/env python3
"""teach-eval.py: measure on-device teaching (`folia teach`) through the native CLI.

  python3 tools/teach-eval.py [--model M] [--scale small|full] [--out training/results/teach]

Experiments (each writes one JSON file under --out, and RESULTS.md summarises them):
  timing      teaching time for 5/10/20/100 photos on 1 and 2 threads (mango photos)
  new-class   recall of the two mango classes taught with 5/10/20 photos per class, split by
              TIME (MANIFEST.tsv source_path timestamps: earlier photos teach, the last 40 %
              check), and the old-class accuracy on the PlantVillage test part before/after,
              with and without exemplar replay
  field       PlantDoc (split file training/splits/plantdoc-train-seed42.json, by file):
              accuracy on its test part before/after teaching 5 and 10 field photos per class
              from its labeled part, and the PlantVillage test accuracy after

--exemplar-base K: when the model file has no exemplars (the shipped model today), first teach
K unaugmented PlantVillage photos per class of the split's "labeled" part as their own labels:
the result carries their view-0 features as exemplars (teaching keeps up to 20 per label), and
every experiment then starts from it, so "replay" has something to replay.

Teaching uses the CLI's defaults (30 epochs, 8 views, seed 42) unless --epochs/--views are
given. The photos to teach are linked into a scratch folder per class (folder name = label).
--scale small checks on a few photos per class (a quick look); full uses every check photo.
"""
import argparse
import json
import os
import platform
import re
import subprocess
import sys
import tempfile
import time
from collections import defaultdict

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
DATA = os.path.normpath(os.path.join(ROOT, "..", "shared", "data"))


def read_manifest(folder):
    """[(relative_path, class, source_path)] of a data folder's MANIFEST.tsv."""
    rows = []
    with open(os.path.join(folder, "MANIFEST.tsv"), encoding="utf-8") as f:
        head = f.readline().rstrip("\n").split("\t")
        for line in f:
            r = dict(zip(head, line.rstrip("\n").split("\t")))
            rows.append((r["relative_path"], r["class"], r.get("source_path", "")))
    return rows


def time_key(source_path):
    """Sort key from the photo's original name (YYYYMMDD_HHMMSS), falling back to the name."""
    m = re.search(r"(\d{8})_(\d{6})", os.path.basename(source_path))
    return (m.group(1) + m.group(2)) if m else os.path.basename(source_path)


def diagnose(args, model, files):
    """{file: top-1 label} from `folia diagnose --json` (in chunks, to bound the argv)."""
    top = {}
    for i in range(0, len(files), 200):
        chunk = files[i:i + 200]
        r = subprocess.run([args.folia, "diagnose", "--json", "--threads", str(args.threads),
                            "--model", model] + chunk, capture_output=True, text=True)
        if r.returncode not in (0, 1):
            sys.exit(f"diagnose failed: {r.stderr}")
        for line in r.stdout.splitlines():
            j = json.loads(line)
            top[j["file"]] = j["top"][0]["label"]
    return top


def accuracy(args, model, labelled):
    """labelled: [(file, label)] -> (top-1 accuracy, {label: recall})."""
    top = diagnose(args, model, [f for f, _ in labelled])
    hit, per = 0, defaultdict(lambda: [0, 0])
    for f, label in labelled:
        ok = top.get(f) == label
        hit += ok
        per[label][0] += ok
        per[label][1] += 1
    return (hit / len(labelled) if labelled else 0.0,
            {k: round(v[0] / v[1], 4) for k, v in sorted(per.items())})


def teach(args, model, by_label, out, threads=None, replay=True, views=None):
    """Links by_label {label: [files]} into class folders and runs `folia teach --json`."""
    with tempfile.TemporaryDirectory(prefix="teach-eval-") as tmp:
        dirs = []
        for label, files in by_label.items():
            d = os.path.join(tmp, label)
            os.makedirs(d)
            for i, f in enumerate(files):
                os.symlink(f, os.path.join(d, f"{i:04d}{os.path.splitext(f)[1].lower()}"))
            dirs.append(d)
        cmd = [args.folia, "teach", "--json", "--model", model, "-o", out, "--threads",
               str(threads or args.threads), "--epochs", str(args.epochs), "--views",
               str(views or args.views), "--date", "1764547200", "--max-photos", "2000"]
        if not replay:
            cmd.append("--no-replay")
        t0 = time.time()
        r = subprocess.run(cmd + dirs, capture_output=True, text=True)
        wall = time.time() - t0
    if r.returncode != 0:
        sys.exit(f"teach failed ({r.returncode}): {r.stderr}")
    summary = json.loads(r.stdout)
    summary["wall_s"] = round(wall, 3)
    return summary


def has_exemplars(args, model):
    r = subprocess.run([args.folia, "inspect", "--json", model], capture_output=True, text=True)
    return r.returncode == 0 and "exemplars.features" in r.stdout


def exemplar_base(args, scratch):
    """The model experiments start from: --model, or --model taught K labeled PV photos/class."""
    if args.exemplar_base <= 0 or has_exemplars(args, args.model):
        return args.model, None
    split = json.load(open(os.path.join(ROOT, "training", "splits", "plantvillage-seed42.json")))
    per = defaultdict(list)
    for rel, part in sorted(split["files"].items()):
        if part == "labeled" and len(per[rel.split("/")[0]]) < args.exemplar_base:
            per[rel.split("/")[0]].append(os.path.join(DATA, "plantvillage", rel))
    out = os.path.join(scratch, "exemplar-base.folia")
    s = teach(args, args.model, dict(per), out, views=1)
    print(f"exemplar base: {sum(map(len, per.values()))} photos, {s['ms']:.0f} ms",
          file=sys.stderr)
    return out, s


def pv_test(args):
    """[(file, label)] of the PlantVillage test part (a few per class at --scale small)."""
    split = json.load(open(os.path.join(ROOT, "training", "splits", "plantvillage-seed42.json")))
    per = defaultdict(list)
    for rel, part in sorted(split["files"].items()):
        if part == "test":
            per[rel.split("/")[0]].append(os.path.join(DATA, "plantvillage", rel))
    keep = args.pv_per_class
    return [(f, c) for c, fs in per.items() for f in (fs[:keep] if keep else fs)]


def mango_split(frac_check=0.4):
    """{class: (teach files oldest first, check files)} split by the photos' timestamps."""
    folder = os.path.join(DATA, "new-classes")
    per = defaultdict(list)
    for rel, cls, src in read_manifest(folder):
        per[cls].append((time_key(src), os.path.join(folder, rel)))
    out = {}
    for cls, items in sorted(per.items()):
        files = [f for _, f in sorted(items)]
        n_check = int(round(len(files) * frac_check))
        out[cls] = (files[:len(files) - n_check], files[len(files) - n_check:])
    return out


def exp_timing(args, scratch):
    mango = mango_split()
    rows = []
    for n in args.timing_sizes:
        by_label = defaultdict(list)
        for cls in sorted(mango):  # half from each class (the 100 take teach and check photos)
            files = mango[cls][0] + mango[cls][1]
            by_label[cls] = files[:n // 2 + (n % 2 if cls == sorted(mango)[0] else 0)]
        for threads in (1, 2):
            s = teach(args, args.base, by_label, os.path.join(scratch, "t.folia"), threads)
            rows.append({"photos": n, "threads": threads, "core_ms": s["ms"], "wall_s": s["wall_s"],
                         "steps": s["steps"], "views": s["views"], "replayed": s["replayed"]})
            print(f"timing: {n} photos, {threads} thread(s): {s['ms']:.0f} ms", file=sys.stderr)
    return {"rows": rows}


def exp_new_class(args, scratch):
    mango = mango_split()
    check = [(f, cls) for cls, (_, c) in mango.items()
             for f in (c[:args.check_per_class] if args.check_per_class else c)]
    old = pv_test(args)
    base_old, _ = accuracy(args, args.base, old)
    rows = []
    for k in (5, 10, 20):
        for replay in (True, False):
            out = os.path.join(scratch, f"mango-{k}-{int(replay)}.folia")
            s = teach(args, args.base, {c: t[:k] for c, (t, _) in mango.items()}, out,
                      replay=replay)
            top = diagnose(args, out, [f for f, _ in check])
            acc, recall = accuracy(args, out, check)
            as_new = sum(top.get(f) in mango for f, _ in check) / len(check)
            old_acc, _ = accuracy(args, out, old)
            rows.append({"photos_per_class": k, "replay": replay, "replayed": s["replayed"],
                         "new_class_top1": round(acc, 4), "new_class_recall": recall,
                         "check_as_any_new_class": round(as_new, 4),
                         "old_test_top1": round(old_acc, 4),
                         "old_test_drop": round(base_old - old_acc, 4), "core_ms": s["ms"]})
            print(f"new-class: {k}/class replay={replay}: new {acc:.3f}, old {old_acc:.3f} "
                  f"(base {base_old:.3f})", file=sys.stderr)
    return {"base_old_test_top1": round(base_old, 4), "old_test_images": len(old),
            "check_images": len(check), "rows": rows}


def exp_field(args, scratch):
    split = json.load(open(os.path.join(ROOT, "training", "splits", "plantdoc-train-seed42.json")))
    folder = os.path.join(DATA, "plantdoc-train")
    labeled, test = defaultdict(list), []
    for rel, part in sorted(split["files"].items()):
        cls, f = rel.split("/")[0], os.path.join(folder, rel)
        if part == "labeled":
            labeled[cls].append(f)
        elif part == "test":
            test.append((f, cls))
    if args.check_per_class:
        seen = defaultdict(int)
        kept = []
        for f, cls in test:
            seen[cls] += 1
            if seen[cls] <= args.check_per_class:
                kept.append((f, cls))
        test = kept
    old = pv_test(args)
    base_field, base_recall = accuracy(args, args.base, test)
    base_old, _ = accuracy(args, args.base, old)
    rows = []
    for k in (5, 10):
        out = os.path.join(scratch, f"field-{k}.folia")
        s = teach(args, args.base, {c: fs[:k] for c, fs in sorted(labeled.items())}, out)
        acc, recall = accuracy(args, out, test)
        old_acc, _ = accuracy(args, out, old)
        rows.append({"photos_per_class": k, "classes_taught": len(labeled), "new_classes":
                     len(s["new_classes"]), "field_test_top1": round(acc, 4),
                     "field_recall": recall, "old_test_top1": round(old_acc, 4),
                     "core_ms": s["ms"], "replayed": s["replayed"]})
        print(f"field: {k}/class: field {base_field:.3f} -> {acc:.3f}, old {base_old:.3f} -> "
              f"{old_acc:.3f}", file=sys.stderr)
    return {"base_field_test_top1": round(base_field, 4), "base_field_recall": base_recall,
            "base_old_test_top1": round(base_old, 4), "field_test_images": len(test),
            "rows": rows}


def md_section(title, intro, head, rule, rows):
    """A results section: '## title', the intro lines, a Markdown table (head, rule, rows), a blank."""
    return [f"## {title}", "", *intro, head, rule, *rows, ""]


def write_results_md(out_dir, meta, results):
    lines = ["# On-device teaching: measurements", "",
             f"Generated by `tools/teach-eval.py` on {meta['date']} ({meta['machine']}), model "
             f"`{meta['model']}`, scale `{meta['scale']}`, {meta['epochs']} epochs, "
             f"{meta['views']} views per photo, seed 42. JSON next to this file.", ""]
    if meta.get("exemplar_base"):
        e = meta["exemplar_base"]
        lines += [f"The model had no exemplars: every experiment starts from it taught "
                  f"{e['per_class']} labeled PlantVillage photos per class ({e['exemplars']} "
                  f"photos, 1 view, kept as exemplars), and the base figures are that model's.",
                  ""]
    if "timing" in results:
        lines += md_section(
            "Teaching time (mango photos, core `ms` of the summary: features + training)", [],
            "| photos | threads | core ms | wall s (CLI incl. model load) | steps |",
            "|---:|---:|---:|---:|---:|",
            [f"| {r['photos']} | {r['threads']} | {r['core_ms']:.0f} | {r['wall_s']:.2f} | "
             f"{r['steps']} |" for r in results["timing"]["rows"]])
    if "new-class" in results:
        n = results["new-class"]

        def new_class_row(r):
            rec = ", ".join(f"{k.split('___')[-1]} {v:.2f}" for k, v in r["new_class_recall"].items())
            return (f"| {r['photos_per_class']} | {r['replay']} ({r['replayed']}) | "
                    f"{r['new_class_top1']:.4f} | {rec} | "
                    f"{r.get('check_as_any_new_class', float('nan')):.4f} | "
                    f"{r['old_test_top1']:.4f} | "
                    f"{r['old_test_drop']:+.4f} |")
        lines += md_section(
            "New classes (2 mango classes, split by time)",
            [f"Check: {n['check_images']} later photos; old classes: "
             f"{n['old_test_images']} PlantVillage test photos, base top-1 "
             f"{n['base_old_test_top1']:.4f}.", ""],
            "| photos/class | replay (rows) | new-class top-1 | recall per class | "
            "called a mango class | old top-1 | old drop |",
            "|---:|---|---:|---|---:|---:|---:|",
            [new_class_row(r) for r in n["rows"]])
    if "field" in results:
        f = results["field"]
        lines += md_section(
            "Field adaptation (PlantDoc, split by file)",
            [f"Base: PlantDoc test top-1 {f['base_field_test_top1']:.4f} on "
             f"{f['field_test_images']} photos; PlantVillage test top-1 "
             f"{f['base_old_test_top1']:.4f}.", ""],
            "| field photos/class | PlantDoc test top-1 | PlantVillage test top-1 |",
            "|---:|---:|---:|",
            [f"| {r['photos_per_class']} | {r['field_test_top1']:.4f} | {r['old_test_top1']:.4f} |"
             for r in f["rows"]])
    # Hand-written reading of the figures lives below the marker and survives a re-run.
    path, marker, notes = os.path.join(out_dir, "RESULTS.md"), "<!-- notes -->", ""
    if os.path.exists(path):
        old = open(path).read()
        if marker in old:
            notes = old[old.index(marker):]
    with open(path, "w") as fh:
        fh.write("\n".join(lines) + ("\n" + notes if notes else ""))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", default=os.path.join(ROOT, "shared", "models", "plantvillage.folia"))
    ap.add_argument("--folia", default=os.path.join(ROOT, "build", "native", "bin", "folia"))
    ap.add_argument("--out", default=os.path.join(ROOT, "training", "results", "teach"))
    ap.add_argument("--scale", choices=["small", "full"], default="small")
    ap.add_argument("--experiments", default="timing,new-class,field")
    ap.add_argument("--epochs", type=int, default=30)
    ap.add_argument("--views", type=int, default=8)
    ap.add_argument("--threads", type=int, default=2, help="threads of teach/diagnose runs")
    ap.add_argument("--exemplar-base", type=int, default=10, metavar="K",
                    help="without exemplars in --model: teach K labeled PV photos/class first "
                         "(0: never)")
    a = ap.parse_args()
    a.timing_sizes = [5, 10, 20] if a.scale == "small" else [5, 10, 20, 100]
    a.pv_per_class = 5 if a.scale == "small" else 0
    a.check_per_class = 10 if a.scale == "small" else 0
    os.makedirs(a.out, exist_ok=True)
    meta = {"date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "model": a.model,
            "scale": a.scale, "epochs": a.epochs, "views": a.views,
            "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, load "
                       f"{os.getloadavg()[0]:.1f}"}
    results = {}
    runs = {"timing": exp_timing, "new-class": exp_new_class, "field": exp_field}
    with tempfile.TemporaryDirectory(prefix="teach-eval-models-") as scratch:
        a.base, made = exemplar_base(a, scratch)
        meta["exemplar_base"] = made and {"per_class": a.exemplar_base, "ms": made["ms"],
                                          "exemplars": made["examples"]}
        for name in a.experiments.split(","):
            results[name] = runs[name](a, scratch)
            with open(os.path.join(a.out, f"{name}-{a.scale}.json"), "w") as f:
                json.dump({"meta": meta, **results[name]}, f, indent=1)
    # Experiments not run this time keep their last results (same scale) in RESULTS.md.
    for name in runs:
        path = os.path.join(a.out, f"{name}-{a.scale}.json")
        if name not in results and os.path.exists(path):
            results[name] = json.load(open(path))
    write_results_md(a.out, meta, results)
    print(json.dumps({"written": a.out, "experiments": list(results)}))


if __name__ == "__main__":
    main()
