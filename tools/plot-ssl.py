#!/usr/bin/python3
"""Plots and tables for the semi-supervised (pseudo-labelling) results of `folia-ssl`.

Reads every results JSON in a folder (written by `folia-ssl run` / `folia-ssl supervised`,
copied there as <name>.json) and writes:
  ssl-accuracy-vs-day.png    validation/test accuracy and pseudo-label precision against the
                             simulated day (one line per seed of the main SSL configuration),
                             with the supervised baselines as horizontal bands
  ssl-ablation.png           final test accuracy, precision and pseudo-labels used per tau / cap
  ssl-tables.md              the results tables (mean +- sample std over seeds)

Only the runs at --size S x S inputs are read (default 32); other sizes' files get a "-S" suffix
(ssl-tables-128.md ...), and a methods table is added: supervised 20/60/100 %, the seed's SSL
(fixed-tau), its labeled-only control and the other methods, each with the share of the
supervised 20 -> 60 % gap it closes. Every run's accuracies are its top-level val_acc/test_acc
(the best-validation checkpoint; older SSL files without them: their final model).

Usage: /usr/bin/python3 tools/plot-ssl.py training/results/ssl [--size 128] [--main-tau 0.9 --main-cap 500]
Needs Debian's python3-matplotlib (run it with /usr/bin/python3).
"""
import argparse
import glob
import json
import math
import os
import re
import statistics
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import matplotlib.ticker  # noqa: E402


def fixmatch_variant(r):
    """What sets a FixMatch run apart from run-128.sh's first ones (tau-min 0.5, lr 1e-3)."""
    fm, cfg, extra = r.get("fixmatch", {}), r.get("config", {}), []
    if fm.get("thresholds") == "flex" and fm.get("tau_min", 0.5) != 0.5:
        extra.append(f"tau-min {fm['tau_min']:g}")
    if cfg.get("lr", 1e-3) != 1e-3:
        extra.append(f"lr {cfg['lr']:g}")
    if fm.get("lambda_u", 1.0) == 0:
        extra = ["lambda_u 0: control"]
    return f" ({', '.join(extra)})" if extra else ""


def load(folder, size=None):
    runs = []
    for path in sorted(glob.glob(os.path.join(folder, "*.json"))):
        with open(path) as f:
            try:
                r = json.load(f)
            except json.JSONDecodeError as e:
                sys.exit(f"{path}: not JSON ({e})")
        if r.get("kind") not in ("ssl", "supervised", "control"):
            continue
        if size is not None and r.get("data", {}).get("size") != size:
            continue
        r["_file"] = os.path.basename(path)
        runs.append(r)
    return runs


def mean_std(values):
    values = [v for v in values if v is not None]
    if not values:
        return None, None
    if len(values) == 1:
        return values[0], None
    return statistics.mean(values), statistics.stdev(values)


def pct(values):
    m, s = mean_std(values)
    if m is None:
        return "-"
    return f"{100 * m:.2f}" if s is None else f"{100 * m:.2f} ± {100 * s:.2f}"


def num(values, fmt="{:.0f}"):
    m, s = mean_std(values)
    if m is None:
        return "-"
    return fmt.format(m) if s is None else (fmt + " ± " + fmt).format(m, s)


def ssl_key(r):
    """(tau, cap, retrain threshold): a configuration of the seed's method."""
    s = r["ssl"]
    return (s["tau"], s["cap_per_class"], s.get("retrain_threshold", 500))


def ssl_label(r):
    tau, cap, rt = ssl_key(r)
    return f"SSL tau={tau:g}, cap={'off' if cap == 0 else cap}" + (f", retrain at {rt}" if rt != 500 else "")


def seeds(rs):
    return ", ".join(str(r["seed"]) for r in sorted(rs, key=lambda r: r["seed"]))


def acc(r, field):
    """A run's selected accuracy (top-level: best-validation checkpoint) or, for old SSL files, the final one."""
    return r[field] if field in r else r["final"][field]


def teacher_name(r):
    """A student's teacher: its method, and for a chain of students the teacher's round (the
    run folder of round n is ...xN-seedS, round 1's has no xN)."""
    t = r["teacher"]
    if t["method"] != "balanced-student":
        return t["method"]
    if t.get("ensemble_with"):  # the averaged softmax of the chain's rounds 1..n
        return f"the ensemble of balanced-student rounds 1-{teacher_round(r)}"
    return f"balanced-student (round {teacher_round(r)})"


def teacher_round(r):
    """A balanced-student teacher's round, from its run folder (round 1's has no xN)."""
    m = re.search(r"x(\d+)-seed\d+", r["teacher"].get("model", ""))
    return int(m.group(1)) if m else 1


def student_round(r):
    """1 for a student of a supervised model, else its teacher's round + 1."""
    return teacher_round(r) + 1 if r["teacher"]["method"] == "balanced-student" else 1


def simpler_on_ties(r):
    """Validation first; on an exact tie the simpler student wins: a single teacher over an
    ensemble, then fewer rounds (validation cannot tell them apart, so the cheaper one)."""
    return (r["val_acc"], not r["teacher"].get("ensemble_with"), -student_round(r))


def round_label(r):
    """A chosen student's round for a row name, marked when its teacher is an ensemble."""
    return f"{student_round(r)}{' (ensemble teacher)' if r['teacher'].get('ensemble_with') else ''}"


def chain_student(r, ensembles=True):
    """A class-balanced student on the whole schedule (no early stopping): a round of a chain."""
    return (r.get("method") == "balanced-student" and r["config"].get("patience") == 0
            and (ensembles or not r["teacher"].get("ensemble_with")))


def rounds_chosen_on_val(runs, ensembles=False):
    """The number of teaching rounds is a hyper-parameter too: per seed, the round of the chain
    (K per class, no early stopping) with the best validation accuracy, its test as reported.
    ensembles: the students of an ensemble of the chain's rounds are candidates too."""
    best = {}
    for r in runs:
        if not chain_student(r, ensembles):
            continue
        key = (r["teacher"]["per_class"], r["seed"])
        if key not in best or simpler_on_ties(r) > simpler_on_ties(best[key]):
            best[key] = r
    rows = {}
    for (k, _), r in sorted(best.items()):
        rows.setdefault(k, []).append(r)
    what = "round and teacher (one round or the ensemble of rounds)" if ensembles else "round"
    return {f"balanced-student ({k} per class), no early stopping, {what} chosen on validation "
            f"(rounds {', '.join(round_label(r) for r in rs)})": rs
            for k, rs in rows.items() if len(rs) > 1 or any(student_round(r) > 1 for r in rs)}


def shared_round_on_mean_val(runs):
    """One number of rounds for every seed: among the rounds each seed's single-teacher chain
    (K per class, no early stopping) has run, the one with the best validation mean over seeds."""
    chains = {}
    for r in runs:
        if chain_student(r, ensembles=False):
            chains.setdefault(r["teacher"]["per_class"], {}).setdefault(student_round(r), {})[r["seed"]] = r
    rows = {}
    for k, by_round in chains.items():
        seeds_ = set.union(*(set(v) for v in by_round.values()))
        full = {n: v for n, v in by_round.items() if set(v) == seeds_}
        if len(seeds_) < 2 or len(full) < 2:
            continue
        # Ties: the fewer rounds (cheaper, and validation cannot tell them apart).
        n = max(full, key=lambda n: (statistics.mean(r["val_acc"] for r in full[n].values()), -n))
        rows[f"balanced-student ({k} per class), no early stopping, one round count for all seeds chosen on "
             f"mean validation (round {n} of 1-{max(full)})"] = list(full[n].values())
    return rows


def methods_table(runs, sup, sup_full=()):
    """Supervised 20/60/100 %, the SSL methods and the control, with the 20 -> 60 % gap closed."""
    lines = ["### Methods (one selection rule: best validation checkpoint; mean ± sample std over seeds)\n",
             "| configuration | seeds | val acc % | test acc % | test gain over its own 20 % start | "
             "share of the 20 -> 60 % gap closed (test gain / mean gap) | pseudo-labels used | precision % |",
             "|---|---|---:|---:|---:|---:|---:|---:|"]
    s20 = statistics.mean(r["test_acc"] for r in sup[0.2]) if 0.2 in sup else None
    s60 = statistics.mean(r["test_acc"] for r in sup[0.6]) if 0.6 in sup else None
    groups = {}
    for r in runs:
        if r["kind"] in ("ssl", "control"):
            name = r.get("method", "fixed-tau")
            if name == "noisy-student":  # folia-ssl student: named by its teacher's method
                name += f" of {r['teacher']['method']}"
            elif name == "balanced-student":  # --teacher-model: named by K and its teacher
                k = r["teacher"]["per_class"]
                name += f" ({'all' if k == 0 else k} per class) of {teacher_name(r)}"
                if r["config"].get("patience") == 0:  # the whole schedule, best val epoch kept
                    name += ", no early stopping"
            elif r["kind"] == "ssl" and "ssl" in r and r["ssl"]["retrain_threshold"] != 500:
                name += f" (retrain at {r['ssl']['retrain_threshold']})"
            elif name.startswith("fixmatch"):
                name += fixmatch_variant(r)
            groups.setdefault(name, []).append(r)
    for frac in sorted(sup):
        rs = sup[frac]
        lines.append(f"| supervised {100 * frac:.0f} % | {seeds(rs)} | {pct([r['val_acc'] for r in rs])} "
                     f"| {pct([r['test_acc'] for r in rs])} | | | | |")
    for frac in sorted({round(r["label_frac"], 3) for r in sup_full}):
        rs = [r for r in sup_full if round(r["label_frac"], 3) == frac and "pretrain" in r]
        if rs:
            groups[f"supervised {100 * frac:.0f} %, no early stopping (vs its seed's early-stopped run)"] = rs
    groups.update(rounds_chosen_on_val(runs))
    groups.update(shared_round_on_mean_val(runs))
    if any(r.get("teacher", {}).get("ensemble_with") for r in runs):
        groups.update(rounds_chosen_on_val(runs, ensembles=True))
    for name, rs in sorted(groups.items()):
        tests = [acc(r, "test_acc") for r in rs]
        gain = [acc(r, "test_acc") - r["pretrain"]["test_acc"] for r in rs]
        closed = "-"
        # Only a gain over a 20 % model is a share of the 20 -> 60 % gap (not 100 % vs 100 %).
        from_20 = all(r["pretrain"].get("label_frac", 0.2) == 0.2 for r in rs)
        if s20 is not None and s60 is not None and s60 > s20 and from_20:
            # The paired gain (each run against its own 20 % start) over the seed-mean gap: a
            # run of one seed is not compared with other seeds' 20 % models.
            closed = f"{100 * statistics.mean(gain) / (s60 - s20):.0f} %"
        # lambda_u 0 (FixMatch's control): rows pass the mask but have no weight in the loss.
        unused = rs[0]["kind"] != "ssl" or rs[0].get("fixmatch", {}).get("lambda_u", 1.0) == 0  # or supervised
        used = "0" if unused else num([r["final"]["accepted_used"] for r in rs])
        prec = "-" if unused else pct([r["final"]["precision_used"] for r in rs])
        lines.append(f"| {name} | {seeds(rs)} | {pct([acc(r, 'val_acc') for r in rs])} | {pct(tests)} "
                     f"| {pct(gain)} | {closed} | {used} | {prec} |")
    lines.append("")
    return lines


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("folder")
    ap.add_argument("--main-tau", type=float, default=0.9)
    ap.add_argument("--main-cap", type=int, default=500)
    ap.add_argument("--ablation-seed", type=int, default=1)
    ap.add_argument("--out", help="output folder (default: the input folder)")
    ap.add_argument("--size", type=int, default=32,
                    help="only runs at this input size (default 32, the first experiments' files); other sizes "
                         "get a -SIZE suffix and the methods table")
    a = ap.parse_args()
    out = a.out or a.folder
    sfx = "" if a.size == 32 else f"-{a.size}"
    runs = load(a.folder, a.size)
    if not runs:
        sys.exit(f"no folia-ssl results JSON in {a.folder}")
    incomplete = [r["_file"] for r in runs if not r.get("complete")]
    runs = [r for r in runs if r.get("complete")]

    sup, sup_full = {}, []
    for r in runs:
        if r["kind"] == "supervised":
            # patience 0 (the whole schedule): the students' schedule control, its own row
            if r["config"].get("patience") == 0:
                sup_full.append(r)
            else:
                sup.setdefault(round(r["label_frac"], 3), []).append(r)
    for r in sup_full:  # paired with its seed's early-stopped run of the same label share
        same = [x for x in sup.get(round(r["label_frac"], 3), []) if x["seed"] == r["seed"]]
        if same:
            r["pretrain"] = {"test_acc": same[0]["test_acc"], "val_acc": same[0]["val_acc"],
                             "label_frac": round(r["label_frac"], 3)}
    ssl = {}
    for r in runs:
        if r["kind"] == "ssl" and r.get("method", "fixed-tau") == "fixed-tau":
            ssl.setdefault(ssl_key(r), []).append(r)
    main_key = (a.main_tau, a.main_cap, 500)
    # The ablation compares configurations on one seed (every configuration has it).
    ablation_keys = sorted((k for k in ssl if any(r["seed"] == a.ablation_seed for r in ssl[k])),
                           key=lambda k: (k[0], -k[1] if k[1] else -10**9, -k[2]))

    # ---- tables
    lines = methods_table([r for r in runs if r not in sup_full], sup, sup_full) if sfx else []
    lines.append("### Main comparison (same leaf-grouped split; mean ± sample std over seeds)\n")
    lines.append("| configuration | labels used | seeds | val acc % | test acc % | pseudo-label precision % "
                 "| pseudo-labels used | data utilisation % | wall time / run |")
    lines.append("|---|---:|---|---:|---:|---:|---:|---:|---:|")
    for frac in sorted(sup):
        rs = sup[frac]
        lines.append(f"| supervised {100 * frac:.0f} % | {num([r['train_images'] for r in rs])} | {seeds(rs)} "
                     f"| {pct([r['val_acc'] for r in rs])} | {pct([r['test_acc'] for r in rs])} | - | - "
                     f"| {pct([r['actual_frac'] for r in rs])} | {num([r['seconds'] for r in rs], '{:.0f}')} s |")
        if frac == 0.2 and main_key in ssl:
            rs2 = ssl[main_key]
            lines.append(
                f"| **{ssl_label(rs2[0])}** (from the 20 % model) | {num([r['labeled_images'] for r in rs2])} "
                f"| {seeds(rs2)} | {pct([acc(r, 'val_acc') for r in rs2])} "
                f"| {pct([acc(r, 'test_acc') for r in rs2])} | {pct([r['final']['precision_used'] for r in rs2])} "
                f"| {num([r['final']['accepted_used'] for r in rs2])} "
                f"| {pct([r['final']['utilisation'] for r in rs2])} "
                f"| {num([r['seconds'] - r['pretrain'].get('seconds', 0) for r in rs2], '{:.0f}')} s (stream) |")
            # Paired by seed: each SSL run starts from the 20 % model of its own seed.
            dv = [acc(r, "val_acc") - r["pretrain"]["val_acc"] for r in rs2]
            dt = [acc(r, "test_acc") - r["pretrain"]["test_acc"] for r in rs2]
            lines.append(f"| SSL minus its own 20 % start (paired) | | {seeds(rs2)} | {pct(dv)} | {pct(dt)} "
                         f"| | | | |")
    lines.append("")
    knobs = ("tau, the per-class cap and the retrain threshold" if any(k[2] != 500 for k in ablation_keys)
             else "tau and the per-class cap")
    lines.append(f"### Ablation: confidence threshold {knobs} (seed {a.ablation_seed}, all from the "
                 f"same supervised 20 % model; accuracy after the last round)\n")
    lines.append("| configuration | seeds | val acc % | test acc % | test acc minus start | precision % (used) "
                 "| pseudo-labels used | rejected below tau | capped | max per class | retrains | utilisation % |")
    lines.append("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for key in ablation_keys:
        rs = [r for r in ssl[key] if r["seed"] == a.ablation_seed]
        f = [r["final"] for r in rs]
        lines.append(f"| {ssl_label(rs[0])} | {seeds(rs)} | {pct([x['val_acc'] for x in f])} "
                     f"| {pct([x['test_acc'] for x in f])} "
                     f"| {pct([r['final']['test_acc'] - r['pretrain']['test_acc'] for r in rs])} "
                     f"| {pct([x['precision_used'] for x in f])} "
                     f"| {num([x['accepted_used'] for x in f])} | {num([x['below_tau'] for x in f])} "
                     f"| {num([x['capped'] for x in f])} | {num([x['max_accepted_per_class'] for x in f])} "
                     f"| {num([x['rounds'] for x in f])} | {pct([x['utilisation'] for x in f])} |")
    lines.append("")
    lines.append("### Per round (main configuration): pseudo-labels added, their precision, accuracy after the retrain\n")
    for r in sorted(ssl.get(main_key, []), key=lambda r: r["seed"]):
        lines.append(f"seed {r['seed']}: start val {100 * r['pretrain']['val_acc']:.2f} % / test "
                     f"{100 * r['pretrain']['test_acc']:.2f} %; " + "; ".join(
                         f"day {x['day']}: +{x['new_labels']} ({100 * x['new_precision']:.1f} %) -> val "
                         f"{100 * x['val_acc']:.2f} / test {100 * x['test_acc']:.2f}" for x in r["rounds"]))
        lines.append("")
    main_runs_t = ssl.get(main_key, [])
    if main_runs_t:
        # Stream images per class, from the split file the runs used (when it is readable here).
        split_path = main_runs_t[0]["data"].get("split", "")
        stream = {}
        if split_path and os.path.exists(split_path):
            with open(split_path) as fh:
                for rel, part in json.load(fh)["files"].items():
                    if part == "stream":
                        cls = rel.split("/")[0]
                        stream[cls] = stream.get(cls, 0) + 1
        classes = sorted(main_runs_t[0]["final"]["accepted_per_class"])
        per = {c: statistics.mean(r["final"]["accepted_per_class"][c] for r in main_runs_t) for c in classes}
        lines.append("### Pseudo-labels used per class (assigned label y_hat; main configuration, mean over seeds) vs stream images truly of the class\n")
        lines.append("| class | pseudo-labels | stream images | share % |")
        lines.append("|---|---:|---:|---:|")
        for c in sorted(classes, key=lambda c: per[c]):
            n = stream.get(c)
            share = f"{100 * per[c] / n:.0f}" if n else "-"
            lines.append(f"| {c} | {per[c]:.1f} | {n if n else '-'} | {share} |")
        lines.append("")
    if incomplete:
        lines.append("Incomplete runs (not in the tables): " + ", ".join(incomplete))
        lines.append("")
    with open(os.path.join(out, f"ssl-tables{sfx}.md"), "w") as fh:
        fh.write("\n".join(lines) + "\n")
    print("\n".join(lines))

    # ---- accuracy and precision against the simulated day
    fig, (ax1, ax2) = plt.subplots(2, 1, figsize=(9, 8), sharex=True)
    colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    main_runs = sorted(ssl.get(main_key, []), key=lambda r: r["seed"])
    max_day = 1
    for i, r in enumerate(main_runs):
        c = colours[i % len(colours)]
        days = [0] + [x["day"] for x in r["rounds"]]
        max_day = max(max_day, r["final"]["day"])
        val = [r["pretrain"]["val_acc"]] + [x["val_acc"] for x in r["rounds"]]
        test = [r["pretrain"]["test_acc"]] + [x["test_acc"] for x in r["rounds"]]
        ax1.step(days, [100 * v for v in test], where="post", color=c, marker="o", label=f"SSL test, seed {r['seed']}")
        ax1.step(days, [100 * v for v in val], where="post", color=c, ls=":", alpha=0.7, label=f"SSL val, seed {r['seed']}")
        d = [x["day"] for x in r["days"]]
        ax2.plot(d, [100 * x["precision_total"] for x in r["days"]], color=c, label=f"cumulative, seed {r['seed']}")
        rd = [x["day"] for x in r["rounds"]]
        ax2.plot(rd, [100 * x["new_precision"] for x in r["rounds"]], color=c, ls="", marker="s",
                 label=f"per round, seed {r['seed']}")
    for frac, ls in zip(sorted(sup), ["--", "-.", ":", "--"]):
        m, s = mean_std([x["test_acc"] for x in sup[frac]])
        ax1.axhline(100 * m, color="k", ls=ls, lw=1, label=f"supervised {100 * frac:.0f} % (test, mean)")
        if s:
            ax1.axhspan(100 * (m - s), 100 * (m + s), color="k", alpha=0.06)
    ax1.set_ylabel("accuracy %")
    ax1.set_title("Pseudo-labelling stream: accuracy after each retrain (step) vs supervised baselines")
    ax1.legend(fontsize=7, ncol=2, loc="center right")
    ax1.grid(alpha=0.3)
    ax2.set_ylabel("pseudo-label precision %")
    ax2.set_xlabel("simulated day (100 stream images a day)")
    ax2.set_xlim(0, max_day + 1)
    ax2.legend(fontsize=7, ncol=2, loc="lower right")
    ax2.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(os.path.join(out, f"ssl-accuracy-vs-day{sfx}.png"), dpi=110)
    plt.close(fig)

    # ---- ablation
    if ablation_keys:
        keys = ablation_keys
        labels = [f"tau {k[0]:g}\ncap {'off' if k[1] == 0 else k[1]}" + (f"\nretrain {k[2]}" if k[2] != 500 else "")
                  for k in keys]
        fig, axes = plt.subplots(1, 3, figsize=(13, 4))
        for ax, (field, title, scale) in zip(axes, [("test_acc", "final test accuracy %", 100),
                                                     ("precision_used", "pseudo-label precision %", 100),
                                                     ("accepted_used", "pseudo-labels used", 1)]):
            ms, ss = [], []
            for k in keys:
                m, s = mean_std([r["final"][field] for r in ssl[k] if r["seed"] == a.ablation_seed])
                ms.append(scale * m)
                ss.append(scale * s if s else 0)
            ax.bar(range(len(keys)), ms, yerr=ss, capsize=3, color=colours[0])
            ax.set_xticks(range(len(keys)))
            ax.set_xticklabels(labels, fontsize=7)
            ax.set_title(title)
            if scale == 100:
                lo = min(ms) - 5
                ax.set_ylim(max(0, lo), 100)
            ax.grid(axis="y", alpha=0.3)
        start = [r for r in sup.get(0.2, []) if r["seed"] == a.ablation_seed]
        if start:
            axes[0].axhline(100 * start[0]["test_acc"], color="k", ls="--", lw=1,
                            label=f"supervised 20 % (the start), seed {a.ablation_seed}")
            axes[0].legend(fontsize=7)
        fig.suptitle(f"Ablation on seed {a.ablation_seed} (every run starts from the same supervised 20 % model)",
                     fontsize=10)
        fig.tight_layout()
        fig.savefig(os.path.join(out, f"ssl-ablation{sfx}.png"), dpi=110)
        plt.close(fig)
    wrote = plot_fixmatch(runs, out, sfx) + plot_students(runs, out, sfx) + plot_rounds(runs, sup, out, sfx)
    print(f"wrote {out}/ssl-accuracy-vs-day{sfx}.png, ssl-ablation{sfx}.png, ssl-tables{sfx}.md{wrote}")


def save_figure(fig, out, name):
    """Lay out, write and close a per-epoch figure; the ', name' the summary line lists."""
    fig.tight_layout()
    fig.savefig(os.path.join(out, name), dpi=110)
    plt.close(fig)
    return ", " + name


def plot_fixmatch(runs, out, sfx):
    """FixMatch runs per epoch: val accuracy against the start, and the unlabeled images that passed."""
    fm = [r for r in runs if r.get("method", "").startswith("fixmatch") and "unlabeled_history" in r]
    if not fm:
        return ""
    fig, (ax1, ax2) = plt.subplots(2, 1, figsize=(9, 7), sharex=True)
    for i, r in enumerate(sorted(fm, key=lambda r: (r["method"], r["seed"]))):
        c = plt.rcParams["axes.prop_cycle"].by_key()["color"][i % 10]
        name = f"{r['method']}{fixmatch_variant(r)}, seed {r['seed']}"
        ep = [h["epoch"] + 1 for h in r["history"]]
        ax1.plot(ep, [100 * h["val_acc"] for h in r["history"]], "o-", color=c, ms=3, label=f"{name}: val")
        ax1.axhline(100 * r["pretrain"]["val_acc"], color=c, ls="--", lw=1, label=f"{name}: its 20 % start (val)")
        u = r["unlabeled_history"]
        ax2.plot([e["epoch"] + 1 for e in u], [e["masked"] for e in u], "o-", color=c, ms=3,
                 label=f"{name}: passed the threshold")
        ax2.plot([e["epoch"] + 1 for e in u], [e["masked"] * e["precision"] for e in u], "x:", color=c,
                 label=f"{name}: of those, correct")
    ax1.set_ylabel("validation accuracy %")
    ax1.set_title("FixMatch on the whole stream, per epoch")
    ax1.legend(fontsize=7)
    ax1.grid(alpha=0.3)
    ax2.set_ylabel("stream images (of 5,237 on the full data)")
    ax2.set_xlabel("epoch")
    ax2.xaxis.set_major_locator(matplotlib.ticker.MaxNLocator(integer=True))
    ax2.legend(fontsize=7)
    ax2.grid(alpha=0.3)
    return save_figure(fig, out, f"ssl-fixmatch-epochs{sfx}.png")


def plot_students(runs, out, sfx):
    """Balanced students per epoch beside the supervised runs of their seeds: where early stopping fired."""
    st = [r for r in runs if r.get("method") == "balanced-student"]
    seeds_ = {r["seed"] for r in st}
    peers = [r for r in runs if r["kind"] == "supervised" and r["seed"] in seeds_]
    if not st:
        return ""
    fig, ax = plt.subplots(figsize=(15, 6))
    lines = (sorted(peers, key=lambda r: (r["label_frac"], r["config"].get("patience"))) +
             sorted(st, key=lambda r: (r["config"].get("patience") != 0, r["_file"])))
    # More than ten lines: tab20, so no two runs share a colour.
    palette = plt.rcParams["axes.prop_cycle"].by_key()["color"] if len(lines) <= 10 else \
        [plt.get_cmap("tab20")(j) for j in range(20)]
    for i, r in enumerate(lines):
        c = palette[i % len(palette)]
        p = r["config"].get("patience")
        stop = "no early stopping" if p == 0 else f"patience {p}"
        if r["kind"] == "supervised":
            name = f"supervised {100 * r['label_frac']:.0f} %, {stop}"
        else:
            k = r["teacher"]["per_class"]
            name = f"balanced student (K {k}) of {teacher_name(r)}, {stop}"
        h = r["history"]
        ax.plot([e["epoch"] + 1 for e in h], [100 * e["val_acc"] for e in h],
                "-" if r["kind"] == "supervised" else "--", color=c, lw=1.2,
                label=f"{name}, seed {r['seed']}: best val {100 * r['val_acc']:.1f} / test {100 * r['test_acc']:.1f}")
        best = max(h, key=lambda e: e["val_acc"])
        ax.plot([best["epoch"] + 1], [100 * best["val_acc"]], "o", color=c, ms=5)
    ax.set_xlabel("epoch (1 warmup epoch, then cosine to epoch 60; a line that ends early: early stopping fired)")
    ax.set_ylabel("validation accuracy %")
    ax.set_ylim(50, 100)
    ax.set_title("Class-balanced students and the supervised runs of their seed, per epoch (dot: the kept epoch)",
                 fontsize=9)
    # Training is deterministic: runs of one seed and data coincide until early stopping ends one.
    # Beside the axes: with a dozen runs a legend inside hid the curves it names.
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0),
              title="runs of one seed coincide until one stops", title_fontsize=7)
    ax.grid(alpha=0.3)
    return save_figure(fig, out, f"ssl-students-epochs{sfx}.png")


def plot_rounds(runs, sup, out, sfx):
    """A chain of class-balanced students (K 100, whole schedule) per round and seed: val and test
    against supervised 20 % and 60 % and the issue's goal (half the gap), so a reader sees where
    each round lands and whether validation still rises."""
    chain = [r for r in runs if chain_student(r) and r["teacher"]["per_class"] == 100]
    if not chain or not (0.2 in sup and 0.6 in sup):
        return ""
    s20, s60 = (100 * statistics.mean(r["test_acc"] for r in sup[f]) for f in (0.2, 0.6))
    fig, ax = plt.subplots(figsize=(9, 5.5))
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for i, seed in enumerate(sorted({r["seed"] for r in chain})):
        c = colors[i % len(colors)]
        single = sorted((r for r in chain if r["seed"] == seed and not r["teacher"].get("ensemble_with")),
                        key=student_round)
        if not single:
            continue
        x = [0] + [student_round(r) for r in single]
        start = single[0]["pretrain"]
        for field, style in (("val_acc", "o--"), ("test_acc", "s-")):
            ax.plot(x, [100 * start[field]] + [100 * r[field] for r in single], style, color=c, ms=5,
                    label=f"seed {seed}: {'validation' if field == 'val_acc' else 'test'}")
        for r in chain:
            if r["seed"] == seed and r["teacher"].get("ensemble_with"):
                ax.plot([student_round(r)], [100 * r["test_acc"]], "*", color=c, ms=11,
                        label=f"seed {seed}: test, student of the ensemble of rounds 1-{student_round(r) - 1}")
    ax.axhline(s20, color="grey", ls=":", label=f"supervised 20 % (test, mean {s20:.1f})")
    ax.axhline(s60, color="black", ls=":", label=f"supervised 60 % (test, mean {s60:.1f})")
    ax.axhline((s20 + s60) / 2, color="tab:red", ls="-.", lw=1,
               label="half the 20 -> 60 % gap above the 20 % mean (the table pairs each seed with its own start)")
    ax.set_xlabel("round of teaching (0: the 20 % start; round N is taught by round N-1's best checkpoint)")
    ax.set_ylabel("accuracy %")
    ax.xaxis.set_major_locator(matplotlib.ticker.MaxNLocator(integer=True))
    ax.set_title("Class-balanced students (100 per class, whole schedule), round by round", fontsize=10)
    ax.legend(fontsize=7, loc="lower right")
    ax.grid(alpha=0.3)
    return save_figure(fig, out, f"ssl-rounds{sfx}.png")


if __name__ == "__main__":
    main()
