#!/usr/bin/python3
"""Plots and a Markdown table from folia-incremental's results.json files.

Usage: /usr/bin/python3 tools/plot-incremental.py RESULTS.json [MORE.json ...] [--out DIR]
           [--suffix S] [--table FILE]

Several files (e.g. one per run of training/results/incremental/run-128.sh) are merged; they must
share one configuration apart from the rehearsal memory (memory_total), Weight Aligning,
rehearsal's distillation, balanced fine-tuning, logit adjustment and the steps' epochs and
learning rate. A rehearsal run with a total memory is shown as "<strategy>, total K" next to the
per-class one; one with distillation gets ", KD <alpha>", with Weight Aligning ", WA"; steps
trained with other epochs or learning rate than most files' get ", <E> step epochs" and
", step lr <lr>", a Joint run with other epochs ", <E> epochs" (the title gives the most common).

Writes DIR/incremental-acc<S>.png (ACC over the seen classes after every step, per strategy, mean
over seeds with the min-max range shaded, iCaRL's nearest-mean-of-exemplars classifier dashed
where a run has one; Joint as the upper-bound marker) and DIR/incremental-forgetting<S>.png
(accuracy on every experience at the end vs right after learning it). Prints (or writes to
--table) a Markdown table with mean +- std over seeds, titled with the input size; a "val final
ACC" column (the split's val part, where knobs are chosen) only where some run reports it.
"""
import argparse
import collections
import json
import math
import os
import statistics
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

ORDER = ["joint", "finetune", "lwf", "ewc", "rehearsal-herding", "rehearsal", "rehearsal-random",
         "rehearsal-distance"]


def mean_std(values):
    if not values:
        return float("nan"), float("nan")
    if len(values) == 1:
        return values[0], 0.0
    return statistics.mean(values), statistics.stdev(values)


def pct(values):
    """mean ± sample std over seeds; one seed has no spread to show."""
    m, s = mean_std([100 * v for v in values])
    return f"{m:.1f} ± {s:.1f}" if len(values) > 1 else f"{m:.1f}"


def val_cell(rs):
    """The val column's cell (with its separator): final ACC on the val part, where knobs are
    chosen, over the runs that report it."""
    vals = [r["val_metrics"]["final_acc"] for r in rs if "val_metrics" in r]
    if not vals:
        return " | –"
    return " | " + pct(vals) + (f" ({len(vals)} of {len(rs)} seeds)" if len(vals) < len(rs) else "")


def display_name(run, shared):
    """The run's row name; shared: the files' common configuration (its step_epochs and step_lr
    are the most common ones)."""
    if run["strategy"] == "joint":
        e = run["_joint_epochs"]
        return "joint" + (f", {e} epochs" if e != shared["joint_epochs"] else "")
    cfg = run.get("incremental_config", {})
    train = cfg.get("train", {})
    step = ""
    if train.get("epochs", shared["step_epochs"]) != shared["step_epochs"]:
        step += f", {train['epochs']} step epochs"
    if not math.isclose(train.get("lr", shared["step_lr"]), shared["step_lr"], rel_tol=1e-6):
        step += f", step lr {train['lr']:g}"
    total = cfg.get("memory_total", 0)
    name = f"{run['strategy']}, total {total}" if total else run["strategy"]
    if cfg.get("rehearsal_distill"):
        name += f", KD {cfg['rehearsal_distill']:g}"
    if cfg.get("balanced_finetune_epochs"):
        name += f", BFT {cfg['balanced_finetune_epochs']}"
        if cfg.get("balanced_finetune_distill"):
            name += f" + KD {cfg['balanced_finetune_distill']:g}"
    if cfg.get("logit_adjust"):
        name += f", LA {cfg['logit_adjust']:g}"
    return (name + ", WA" if cfg.get("weight_aligning") else name) + step


def order_key(name):
    base = name.split(",")[0]
    return (ORDER.index(base) if base in ORDER else 99, name)


# Configuration keys that may differ between the merged files (each run's row name shows them).
VARYING = ("memory_total", "weight_aligning", "rehearsal_distill", "balanced_finetune",
           "balanced_finetune_lr_frac", "balanced_finetune_distill", "logit_adjust", "step_epochs",
           "step_lr", "joint_epochs")


def load_runs(paths):
    """The runs of every file, and their shared configuration (what may vary dropped; the most
    common step epochs and learning rate). A file of Joint runs alone may differ in the base
    model's epochs, which Joint does not use (a Joint bound next to a longer protocol)."""
    runs, files, steps, joints = [], [], collections.Counter(), collections.Counter()
    for path in paths:
        with open(path) as f:
            res = json.load(f)
        if res.get("format") != "folia-incremental-1":
            sys.exit(f"{path}: not a folia-incremental-1 results file")
        c = {k: v for k, v in res["config"].items() if k not in VARYING}
        joint_only = all(r["strategy"] == "joint" for r in res["runs"])
        files.append((path, c, joint_only))
        # Joint's file carries step settings it does not use: they count only without others.
        steps[(res["config"]["step_epochs"], res["config"]["step_lr"], joint_only)] += 1
        for r in res["runs"]:
            r["_joint_epochs"] = res["config"]["joint_epochs"]
            if r["strategy"] == "joint":
                joints[res["config"]["joint_epochs"]] += 1
        runs += res["runs"]
    ref_path, cfg, _ = next((f for f in files if not f[2]), files[0])
    for path, c, joint_only in files:
        skip = {"base_epochs"} if joint_only else set()
        diff = sorted(k for k in set(c) | set(cfg) if k not in skip and c.get(k) != cfg.get(k))
        if diff:
            sys.exit(f"{path}: another configuration than {ref_path} ({', '.join(diff)})")
    cfg = dict(cfg)
    # The most common; a tie goes to the fewer epochs (the protocol's, the longer runs are checks).
    cfg["step_epochs"], cfg["step_lr"], _ = max(steps,
                                                key=lambda k: (not k[2], steps[k], -k[0], -k[1]))
    cfg["joint_epochs"] = max(joints, key=lambda k: (joints[k], -k)) if joints else None
    return runs, cfg


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("results", nargs="+")
    ap.add_argument("--out", default=None, help="folder for the PNGs (default: next to results)")
    ap.add_argument("--suffix", default="", help="appended to the PNG names, e.g. -128")
    ap.add_argument("--table", default=None, help="write the Markdown table here")
    a = ap.parse_args()
    runs, cfg = load_runs(a.results)
    out = a.out or os.path.dirname(os.path.abspath(a.results[0]))
    os.makedirs(out, exist_ok=True)
    names = sorted({display_name(r, cfg) for r in runs}, key=order_key)
    by = {n: [r for r in runs if display_name(r, cfg) == n] for n in names}

    # --- ACC per step ------------------------------------------------------------------
    # The legend sits right of the axes: with a dozen strategies it would hide the lines.
    fig, ax = plt.subplots(figsize=(13, 5.6))
    n_steps = 1 + cfg["steps"]
    palette = plt.cm.tab20.colors
    colour = 0  # the strategies' colours, Joint's aside
    for n in names:
        rs = by[n]
        if n.startswith("joint"):
            accs = [r["metrics"]["final_acc"] * 100 for r in rs]
            m, _ = mean_std(accs)
            tone = "black" if n == "joint" else "grey"
            ax.axhline(m, color=tone, ls="--", lw=1)
            ax.errorbar([n_steps - 1], [m], yerr=[[m - min(accs)], [max(accs) - m]], fmt="*",
                        color=tone, ms=12, label=f"{n} (upper bound) {m:.1f}%")
            continue
        series = [[100 * v for v in r["metrics"]["acc"]] for r in rs]
        steps = list(range(len(series[0])))
        mean = [statistics.mean(s[i] for s in series) for i in steps]
        lo = [min(s[i] for s in series) for i in steps]
        hi = [max(s[i] for s in series) for i in steps]
        line, = ax.plot(steps, mean, marker="o", color=palette[colour % len(palette)],
                        label=f"{n} {mean[-1]:.1f}%")
        colour += 1
        ax.fill_between(steps, lo, hi, color=line.get_color(), alpha=0.15)
        nme = [[100 * v for v in r["nme_metrics"]["acc"]] for r in rs if "nme_metrics" in r]
        if len(nme) == len(rs):
            nm = [statistics.mean(s[i] for s in nme) for i in steps]
            ax.plot(steps, nm, ls="--", marker="x", color=line.get_color(),
                    label=f"{n}, NME {nm[-1]:.1f}%")
    ax.set_xticks(list(range(n_steps)))
    outputs = []
    first = cfg["first_classes"]
    ax.set_xlabel(f"after step (0 = the first {first} classes; then the rest in {cfg['steps']} steps)")
    ax.set_ylabel("ACC: test accuracy over all seen classes (%)")
    seeds = sorted({r["seed"] for r in runs})
    ax.set_title(f"Class-incremental PlantVillage, {cfg['size']} px, base / step epochs "
                 f"{cfg['base_epochs']} / {cfg['step_epochs']}, step lr {cfg['step_lr']:g}, "
                 f"seeds {seeds}")
    ax.set_ylim(0, 100)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0)
    fig.tight_layout()
    p1 = os.path.join(out, f"incremental-acc{a.suffix}.png")
    fig.savefig(p1, dpi=120)
    plt.close(fig)
    outputs.append(p1)

    # --- accuracy per experience: right after learning vs at the end --------------------
    inc = [n for n in names if not n.startswith("joint")]
    if inc:
        cols = min(len(inc), 6)
        rows = (len(inc) + cols - 1) // cols
        fig, axes = plt.subplots(rows, cols, figsize=(2.6 * cols + 0.5, 3.2 * rows), sharey=True,
                                 squeeze=False)
        for ax in axes.flat[len(inc):]:
            ax.set_visible(False)
        for ax, n in zip(axes.flat, inc):
            rs = by[n]
            T = len(rs[0]["matrix"])
            just = [statistics.mean(100 * r["matrix"][j][j] for r in rs) for j in range(T)]
            end = [statistics.mean(100 * r["matrix"][T - 1][j] for r in rs) for j in range(T)]
            xs = list(range(T))
            ax.bar([x - 0.2 for x in xs], just, width=0.4, label="right after learning")
            ax.bar([x + 0.2 for x in xs], end, width=0.4, label="after the last step")
            ax.set_title(n.replace(", ", ",\n", 2) if len(n) > 30 else n, fontsize=7)
            ax.set_xticks(xs)
            ax.set_xlabel("experience")
            ax.set_ylim(0, 100)
        for row in axes:
            row[0].set_ylabel("test accuracy (%)")
        axes[0][0].legend(fontsize=7, loc="lower left")
        fig.tight_layout()
        p2 = os.path.join(out, f"incremental-forgetting{a.suffix}.png")
        fig.savefig(p2, dpi=120)
        plt.close(fig)
        outputs.append(p2)

    # --- table ---------------------------------------------------------------------------
    # The val column only where some run has it, so tables of older files stay as they were.
    has_val = any("val_metrics" in r for r in runs)
    val = val_cell if has_val else (lambda rs: "")
    lines = [f"Input {cfg['size']} x {cfg['size']} px; base / step / joint epochs "
             f"{cfg['base_epochs']} / {cfg['step_epochs']} / {cfg['joint_epochs']}; step lr "
             f"{cfg['step_lr']:g}; seeds {seeds}. "
             "NME: iCaRL's nearest-mean-of-exemplars classifier on the same model (rehearsal "
             "only), final ACC over all classes." + (
                 " val: the same final ACC on the split's val part, where knobs are chosen (runs "
                 "made before it was measured show –)." if has_val else ""), ""]
    steps_hdr = " | ".join(f"ACC step {t}" for t in range(n_steps))
    val_hdr = " | val final ACC" if has_val else ""
    lines.append(f"| strategy | seeds | {steps_hdr} | final ACC (mean over exps) | NME final ACC | "
                 f"forgetting | BWT | forgetting per experience{val_hdr} | minutes |")
    lines.append("|---" * ((8 if has_val else 7) + n_steps + 1) + "|")
    for n in names:
        rs = by[n]
        mins = f"{statistics.mean(r['seconds'] for r in rs) / 60:.1f}"
        if n.startswith("joint"):
            accs = [r["metrics"]["final_acc"] for r in rs]
            em = [r["metrics"]["final_acc_exp_mean"] for r in rs]
            cells = " | ".join(["–"] * (n_steps - 1) + [pct(accs)])
            lines.append(f"| {n} (upper bound) | {len(rs)} | {cells} | {pct(em)} | – | – | – | –{val(rs)} | {mins} |")
            continue
        cells = " | ".join(pct([r["metrics"]["acc"][t] for r in rs]) for t in range(n_steps))
        em = pct([r["metrics"]["final_acc_exp_mean"] for r in rs])
        fg = pct([r["metrics"]["mean_forgetting"] for r in rs])
        bwt = pct([r["metrics"]["mean_bwt"] for r in rs])
        T = len(rs[0]["metrics"]["forgetting"])
        per = ", ".join(pct([r["metrics"]["forgetting"][j] for r in rs]) for j in range(T))
        nme = [r["nme_metrics"]["final_acc"] for r in rs if "nme_metrics" in r]
        nme_cell = pct(nme) if len(nme) == len(rs) else "–"
        label = n + (" (lower bound)" if n == "finetune" else "")
        lines.append(f"| {label} | {len(rs)} | {cells} | {em} | {nme_cell} | {fg} | {bwt} | {per}{val(rs)} | {mins} |")
    table = "\n".join(lines) + "\n"
    if a.table:
        with open(a.table, "w") as f:
            f.write(table)
    else:
        sys.stdout.write(table)
    for p in outputs:
        print(f"wrote {p}", file=sys.stderr)


if __name__ == "__main__":
    main()
