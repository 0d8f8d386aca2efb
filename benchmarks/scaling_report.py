"""The scaling study's tables, plots and report (benchmarks/scaling.py runs the study and calls these).

Every function reads the study's records: one dict per model with its shape, parameter count,
training record and the cached evaluation rows (`solver.evaluate.EvalRow.to_dict()` plus the
adaptive threshold). Figures are drawn without pyplot (Agg), as solver/plots.py does.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from benchmarks.common import git_commit, machine_info

if TYPE_CHECKING:
    from benchmarks.scaling import Study

ALL = None  # steps=None: one answer token per step

Table = tuple[list[str], list[list[str]]]


def find(record: dict[str, Any], steps: int | None, loops: int, adaptive: bool = False,
         threshold: float | None = None, on: str = "hidden") -> dict[str, Any] | None:
    for evaluation in record["evals"].values():
        for row in evaluation["rows"]:
            if (row["steps"], row["loops"], row["adaptive"]) == (steps, loops, adaptive) and \
                    (not adaptive or (row["adaptive_threshold"], row.get("adaptive_on", "hidden")) == (threshold, on)):
                return row
    return None


def rate(row: dict[str, Any] | None) -> str:
    if row is None:
        return "—"
    return f"{row['solve_rate']:.1%} [{row['ci_low']:.1%}, {row['ci_high']:.1%}]"


def num(value: float | None, fmt: str = "{:,.0f}") -> str:
    return "—" if value is None else fmt.format(value)


def layers(r: dict[str, Any]) -> str:
    return f"{r['prelude']}/{r['core']}/{r['coda']}"


def q1_table(records: list[dict[str, Any]]) -> Table:
    columns = ["task", "model", "kind", "d", "layers p/c/c", "loops", "params", "train compute (layer evals/step)",
               "solve rate [95% CI]", "NFE", "layer evals", "plain with loops x core layers: params", "its solve rate"]
    rows = []
    for r in sorted((r for r in records if "q1" in r["questions"]), key=lambda r: (r["task"], r["params"] or 0)):
        main = find(r, ALL, r["loops"])
        match = None
        if r["loops"] > 1 and not (r["prelude"] or r["coda"]):
            match = next((p for p in records if p["task"] == r["task"] and p["d_model"] == r["d_model"]
                          and p["loops"] == 1 and p["core"] == r["core"] * r["loops"]
                          and not (p["prelude"] or p["coda"])), None)
        rows.append([r["task"], r["name"], r["kind"], str(r["d_model"]), layers(r), str(r["loops"]), num(r["params"]),
                     f"{r['train_layer_evals_per_step']:g}", rate(main), num(main and main["mean_nfe"], "{:.1f}"),
                     num(main and main["mean_layer_evals"], "{:.1f}"),
                     num(match and match["params"]) if match else "", rate(find(match, ALL, 1)) if match else ""])
    return columns, rows


def q2_tables(records: list[dict[str, Any]], study: Study) -> tuple[Table, Table]:
    loops = list(study.q2_loops)
    grid_cols = ["task", "model (trained loops)", "steps", *[f"loops={lp}: solve rate (NFE)" for lp in loops]]
    grid = []
    pair_cols = ["task", "model", "steps x loops", "NFE", "solve rate", "plain model, steps x loops = 1", "NFE",
                 "solve rate", "same model, loops=1, steps x loops", "NFE", "solve rate"]
    pairs = []
    q2 = [r for r in records if "q2" in r["questions"]]
    for r in q2:
        for steps in study.q2_steps:
            cells = []
            for lp in loops:
                row = find(r, steps, lp)
                cells.append("—" if row is None else f"{row['solve_rate']:.1%} ({row['mean_nfe']:.1f})")
            grid.append([r["task"], f"{r['name']} ({r['loops']})", "all" if steps is None else str(steps), *cells])
        plain = next((p for p in q2 if p["task"] == r["task"] and p["loops"] == 1), None)
        if r["loops"] == 1 or plain is None:
            continue
        for steps in study.q2_steps:
            if steps is None or steps * r["loops"] not in study.q2_steps:
                continue
            looped, flat, self_flat = find(r, steps, r["loops"]), find(plain, steps * r["loops"], 1), \
                find(r, steps * r["loops"], 1)
            pairs.append([r["task"], r["name"], f"{steps} x {r['loops']}", num(looped and looped["mean_nfe"], "{:.1f}"),
                          rate(looped), f"{plain['name']} {steps * r['loops']} x 1",
                          num(flat and flat["mean_nfe"], "{:.1f}"), rate(flat), f"{steps * r['loops']} x 1",
                          num(self_flat and self_flat["mean_nfe"], "{:.1f}"), rate(self_flat)])
    return (grid_cols, grid), (pair_cols, pairs)


def q3_table(records: list[dict[str, Any]], study: Study) -> Table:
    columns = ["task", "model", "kind", "layers p/c/c", "params", "loops (inference)", "layer evals/step",
               "solve rate [95% CI]", "mean layer evals", "NFE"]
    rows = []
    for r in (r for r in records if "q3" in r["questions"]):
        tried = sorted({r["loops"], *(study.q3_loops if r["loops"] > 1 else ())})
        for lp in tried:
            row = find(r, ALL, lp)
            per_step = r["prelude"] + lp * r["core"] + r["coda"]
            rows.append([r["task"], r["name"], r["kind"], layers(r), num(r["params"]),
                         f"{lp}" + (" (trained)" if lp == r["loops"] else ""), str(per_step), rate(row),
                         num(row and row["mean_layer_evals"], "{:.1f}"), num(row and row["mean_nfe"], "{:.1f}")])
    return columns, rows


def q4_table(records: list[dict[str, Any]], study: Study) -> Table:
    columns = ["task", "model", "loop cap", "settles on", "threshold", "solve rate [95% CI]", "NFE", "loops/step",
               "fixed loops: solve rate", "fixed: NFE", "solve rate change (points)", "NFE saved", "within fixed CI"]
    rows = []
    for r in (r for r in records if "q4" in r["questions"]):
        fixed = find(r, ALL, r["loops"])
        for on, threshold in study.q4_adaptive:
            row = find(r, ALL, r["loops"], adaptive=True, threshold=threshold, on=on)
            both = row is not None and fixed is not None
            rows.append([r["task"], r["name"], str(r["loops"]), on, f"{threshold:g}", rate(row),
                         num(row and row["mean_nfe"], "{:.1f}"), num(row and row["loops_per_step"], "{:.2f}"),
                         rate(fixed), num(fixed and fixed["mean_nfe"], "{:.1f}"),
                         f"{100 * (row['solve_rate'] - fixed['solve_rate']):+.1f}" if both else "—",
                         f"{1 - row['mean_nfe'] / fixed['mean_nfe']:.0%}" if both and fixed["mean_nfe"] else "—",
                         ("yes" if fixed["ci_low"] <= row["solve_rate"] <= fixed["ci_high"] else "no") if both else "—"])
    return columns, rows


def markdown(columns: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(cells) + " |" for cells in rows]
    return "\n".join(lines)


# ----------------------------------------------------------------------------- plots


def _axes(title: str, xlabel: str, panels: int = 1) -> tuple[Any, list[Any]]:
    from matplotlib.figure import Figure

    fig = Figure(figsize=(6.4 * panels, 4.4), dpi=110)
    axes = [fig.add_subplot(1, panels, i + 1) for i in range(panels)]
    for ax in axes:
        ax.set_xlabel(xlabel)
        ax.set_ylabel("solve rate (%)")
        ax.set_ylim(-2, 102)
        ax.grid(alpha=0.3)
    fig.suptitle(title, fontsize=10)
    return fig, axes


def _series(ax: Any, points: list[tuple[float, dict[str, Any] | None]], label: str, marker: str = "o",
            color: str | None = None) -> str | None:
    """Solve rate with its 95% interval at each x; returns the line's colour (None when nothing to draw)."""
    points = sorted((p for p in points if p[1] is not None and p[0]), key=lambda p: p[0])
    if not points:
        return None
    rows = [p[1] for p in points]
    err = [[100 * (r["solve_rate"] - r["ci_low"]) for r in rows], [100 * (r["ci_high"] - r["solve_rate"]) for r in rows]]
    drawn = ax.errorbar([p[0] for p in points], [100 * r["solve_rate"] for r in rows], yerr=err, marker=marker,
                        capsize=3, label=label, color=color)
    return drawn.lines[0].get_color()


def _save(fig: Any, axes: list[Any], path: Path, log_x: bool = True) -> Path:
    for ax in axes:
        if log_x and ax.has_data():
            ax.set_xscale("log", base=2)
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize=7)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    return path


def plot_all(records: list[dict[str, Any]], study: Study, out_dir: Path) -> list[Path]:
    paths = []
    for task in study.tasks:
        mine = [r for r in records if r["task"] == task and r["evals"]]
        q1 = [r for r in mine if "q1" in r["questions"] and r["params"]]
        if q1:
            fig, axes = _axes(f"{task}: solve rate (steps=all, trained loops) vs parameters and vs depth run",
                              "parameters", panels=2)
            axes[1].set_xlabel("layer evaluations per step (trained loops x core + prelude + coda)")
            base_d = min(r["d_model"] for r in q1)
            plain = [r for r in q1 if r["loops"] == 1 and r["d_model"] == base_d]
            base = min(plain, key=lambda r: r["params"]) if plain else None  # every series starts here
            groups = {"plain, deeper": plain,
                      "plain, wider": [r for r in q1 if r["loops"] == 1 and r["d_model"] != base_d],
                      "looped core (R-MDM)": [r for r in q1 if r["loops"] > 1]}
            for label, members in groups.items():
                if base is not None and base not in members:
                    members = [base, *members]
                if len(members) > (base is not None):
                    rows = [(r, find(r, ALL, r["loops"])) for r in members]
                    _series(axes[0], [(r["params"], row) for r, row in rows], label)
                    _series(axes[1], [(r["prelude"] + r["loops"] * r["core"] + r["coda"], row) for r, row in rows], label)
            paths.append(_save(fig, axes, out_dir / f"q1-{task}-params.png"))
        q2 = [r for r in mine if "q2" in r["questions"]]
        if q2:
            fig, axes = _axes(f"{task}: solve rate vs NFE over steps x loops", "mean NFE per puzzle", len(q2))
            for ax, r in zip(axes, q2):
                ax.set_title(f"{r['name']} (trained loops {r['loops']})", fontsize=9)
                for lp in study.q2_loops:
                    rows = [find(r, s, lp) for s in study.q2_steps]
                    _series(ax, [(row["mean_nfe"], row) for row in rows if row], f"loops={lp}")
            paths.append(_save(fig, axes, out_dir / f"q2-{task}-nfe.png"))
        q3 = [r for r in mine if "q3" in r["questions"]]
        if q3:
            fig, axes = _axes(f"{task}: solve rate vs compute (steps=all)", "mean layer evaluations per puzzle")
            for r in q3:
                rows = [find(r, ALL, lp) for lp in sorted({r["loops"], *study.q3_loops})]
                _series(axes[0], [(row["mean_layer_evals"], row) for row in rows if row], f"{r['name']} ({r['params'] or 0:,})")
            paths.append(_save(fig, axes, out_dir / f"q3-{task}-compute.png"))
        q4 = [r for r in mine if "q4" in r["questions"]]
        if q4:
            fig, axes = _axes(f"{task}: adaptive loops (x) vs fixed loops (o)", "mean NFE per puzzle")
            for r in q4:
                fixed = find(r, ALL, r["loops"])
                color = _series(axes[0], [(fixed["mean_nfe"], fixed)] if fixed else [], f"{r['name']} fixed")
                for on, marker in (("hidden", "x"), ("predictions", "+")):
                    rows = [find(r, ALL, r["loops"], True, t, on) for o, t in study.q4_adaptive if o == on]
                    _series(axes[0], [(row["mean_nfe"], row) for row in rows if row], f"{r['name']} adaptive ({on})",
                            marker=marker, color=color)
            paths.append(_save(fig, axes, out_dir / f"q4-{task}-adaptive.png"))
    return paths


def machine() -> dict[str, Any]:
    """The common machine block (benchmarks/common.py), with the load at the end and the torch/CUDA in use."""
    try:
        import torch

        versions = {"torch": torch.__version__}
        device = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "cpu"
    except ImportError:
        versions, device = {}, "cpu"
    return machine_info({"load_average_at_end": list(os.getloadavg()), "device": device}, **versions)


def tables(records: list[dict[str, Any]], study: Study) -> list[tuple[str, str, str, Table]]:
    """(key, title, note, (columns, rows)) of each table, in report order."""
    grid, pairs = q2_tables(records, study)
    return [
        ("q1", "1. Solve rate vs parameters (loops vs depth vs width)",
         "Each model at steps=all (one answer token per step) and its trained loop count. A looped model's last "
         "two columns are the plain model of the same width with loops x its core layers.", q1_table(records)),
        ("q2", "2. Solve rate vs denoising steps x inference loops",
         "Cells: solve rate (mean NFE); the trained loop count is in brackets.", grid),
        ("q2_equal_nfe", "2b. Equal NFE: loops instead of steps",
         "A looped model at s steps x L loops against the plain model and itself at s x L steps x 1 loop.", pairs),
        ("q3", "3. Selective looping (LoopMDM) vs looping everything vs deeper plain models",
         "Equal parameters: rows with the same params; equal compute: the same layer evals per step. The looped "
         "models here drew their loop count from 1..L in training, so fewer loops at inference are in distribution.",
         q3_table(records, study)),
        ("q4", "4. Adaptive loops vs fixed loops",
         "steps=all; the sampler stops a row's loops once what it watches settles: 'hidden' = the hidden state "
         "changes by less than the threshold (relative norm between successive loops), 'predictions' = fewer than "
         "that share of the masked positions change their argmax between loops (a readout after every loop, "
         "counted in NFE); the cap is the trained loop count.", q4_table(records, study)),
    ]


def report(study: Study, records: list[dict[str, Any]], command: str, data_commands: list[str],
           plots: list[str]) -> str:
    """The markdown report: the four tables, each with the command and seeds, then how to reproduce each part."""
    seeds = ", ".join(f"{name} data seed {task.data['seed']}" for name, task in study.tasks.items())
    how = f"Command: `{command}`; seeds: {seeds}, train.seed 0, sampler seed 0."
    lines = [f"# Scaling study: --config {study.name}", "",
             f"Written by `benchmarks/scaling.py` on {time.strftime('%Y-%m-%d %H:%M %Z')}, commit "
             f"`{git_commit()[:12] or 'unknown'}`. Planned step times: {study.timing_note}.", "",
             "One training seed per model: differences inside the 95% intervals are not resolved. Solve rates are "
             "by the puzzle verifiers on the first N puzzles of each test split (95% Wilson intervals); sampling at "
             "temperature 0, top-probability unmasking, no retries. NFE = network passes as the sampler counts them "
             "(prelude + core passes + coda per step); layer evals = blocks run.", ""]
    missing = [r["name"] for r in records if not r["evals"]]
    if missing:
        lines += [f"Not trained or evaluated yet: {', '.join(missing)}.", ""]
    for _, title, note, (columns, rows) in tables(records, study):
        lines += [f"## {title}", "", note, "", how, "", markdown(columns, rows), ""]
    if plots:
        lines += ["## Plots", "", *[f"- `{p}`" for p in plots], ""]
    lines += ["## Data, models and the equivalent commands", "",
              "Data (built with `data_gen.api.build_dataset`, the same as):", "", "```bash", *data_commands, "```", "",
              "| model | params | steps | training minutes | hardware |", "|---|---|---|---|---|",
              *[f"| {r['name']} | {num(r['params'])} | {r['train_steps']} | {num(r['train_minutes'], '{:.1f}')} | "
                f"{r['hardware'] or '—'} |" for r in records], "",
              "Each model trained with `solver.train.train`, the same as:", "", "```bash",
              *[r["train_command"] for r in records], "```", "", "Each evaluation, the same as:", "", "```bash",
              *[e["command"] for r in records for e in r["evals"].values()], "```", ""]
    return "\n".join(lines)
