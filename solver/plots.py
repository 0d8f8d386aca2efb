"""Plots of an evaluation sweep: solve rate against NFE, denoising steps and loops (PNG, Agg).

Each line is one family of settings (the other knobs fixed); error bars are the 95% Wilson
intervals. Figures are drawn without pyplot, so nothing touches a display or global state.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

from .evaluate import EvalRow


def _steps_x(row: EvalRow) -> float:
    """The setting's steps; 'one per step' is placed at the steps it actually took."""
    return float(row.setting.steps) if row.setting.steps is not None else row.mean_steps


def _loops_label(row: EvalRow) -> str:
    s = row.setting
    loops = "trained" if s.loops is None else str(s.loops)
    return f"loops≤{loops} adaptive" if s.adaptive else f"loops={loops}"


def _steps_label(row: EvalRow) -> str:
    return f"steps={'all' if row.setting.steps is None else row.setting.steps}"


def _extra(row: EvalRow, rows: Sequence[EvalRow]) -> str:
    """Policy / retries in a series label only when the sweep varies them."""
    parts = []
    if len({r.setting.policy for r in rows}) > 1:
        parts.append(row.setting.policy)
    if len({r.setting.retries for r in rows}) > 1:
        parts.append(f"retries={row.setting.retries}")
    return (" " + " ".join(parts)) if parts else ""


def _draw(
    rows: Sequence[EvalRow],
    path: Path,
    x: Callable[[EvalRow], float],
    series: Callable[[EvalRow], str],
    xlabel: str,
    title: str,
    log_x: bool = False,
) -> Path:
    from matplotlib.figure import Figure

    fig = Figure(figsize=(6.4, 4.4), dpi=120)
    ax = fig.add_subplot()
    groups: dict[str, list[EvalRow]] = {}
    for row in rows:
        groups.setdefault(series(row) + _extra(row, rows), []).append(row)
    for label, members in groups.items():
        members = sorted(members, key=x)
        xs = [x(r) for r in members]
        ys = [100 * r.solve_rate for r in members]
        err = [[100 * (r.solve_rate - r.ci_low) for r in members], [100 * (r.ci_high - r.solve_rate) for r in members]]
        ax.errorbar(xs, ys, yerr=err, marker="o", capsize=3, label=label)
    if log_x and all(x(r) > 0 for r in rows):
        ax.set_xscale("log", base=2)
    ax.set_xlabel(xlabel)
    ax.set_ylabel("solve rate (%)")
    ax.set_ylim(-2, 102)
    ax.grid(alpha=0.3)
    ax.set_title(title, fontsize=10)
    if len(groups) > 1:
        ax.legend(fontsize=8)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    return path


def plot_sweep(rows: Sequence[EvalRow], out_dir: str | Path, title: str = "") -> list[Path]:
    """solve_rate_vs_nfe.png, solve_rate_vs_steps.png and solve_rate_vs_loops.png in `out_dir`."""
    out_dir = Path(out_dir)
    if not rows:
        return []
    return [
        _draw(rows, out_dir / "solve_rate_vs_nfe.png", lambda r: r.mean_nfe, _loops_label,
              "mean NFE per puzzle (network passes)", title, log_x=True),
        _draw(rows, out_dir / "solve_rate_vs_steps.png", _steps_x, _loops_label,
              "denoising steps", title, log_x=True),
        _draw(rows, out_dir / "solve_rate_vs_loops.png", lambda r: r.loops_per_step, _steps_label,
              "loops per step (actually run)", title),
    ]
