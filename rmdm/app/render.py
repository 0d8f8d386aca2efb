"""HTML for the app: the Sudoku board, the Countdown answer strip, captions and verdicts.

Pure functions from `View`s to HTML strings (no gradio, no torch), so they are cheap to
test and each streamed frame is one string. Every bit of user text goes through
`html.escape`. The stylesheet `CSS` is passed to `launch(css=...)`.
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Sequence

from .frames import MASK, View

CSS = """
#sudoku-text textarea, #countdown-numbers textarea, #countdown-target textarea {
  font-family: ui-monospace, "SFMono-Regular", Menlo, Consolas, monospace; letter-spacing: 0.04em; }
.rmdm-board-wrap { display: flex; justify-content: center; padding: 8px 0; }
table.rmdm-board { border-collapse: collapse; border: 3px solid #1f2937; background: #ffffff;
  font-family: ui-sans-serif, system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; }
table.rmdm-board td { width: var(--cell); height: var(--cell); padding: 0; text-align: center;
  vertical-align: middle; border: 1px solid #cbd5e1; font-size: calc(var(--cell) * 0.52);
  line-height: 1; color: #1e3a8a; position: relative; transition: background-color 0.15s; }
table.rmdm-board tr, table.rmdm-steps tr { border: none !important; background: transparent !important; }
table.rmdm-board td.bl { border-left: 3px solid #1f2937; }
table.rmdm-board td.bt { border-top: 3px solid #1f2937; }
table.rmdm-board td.given { background: #e5e7eb; color: #111827; font-weight: 700; }
table.rmdm-board td.filled { color: #1d4ed8; font-weight: 600; }
table.rmdm-board td.fresh { background: #fcd34d !important; color: #78350f; font-weight: 700;
  box-shadow: inset 0 0 0 2px #f59e0b; }
table.rmdm-board td.reverted { background: #e9d5ff !important; color: #581c87; box-shadow: inset 0 0 0 2px #a855f7; }
table.rmdm-board td.masked { color: #6d28d9; font-style: italic; font-weight: 400; }
table.rmdm-board td.masked span { font-size: 0.72em; }
table.rmdm-board td.conflict { background: #fecaca !important; color: #991b1b;
  box-shadow: inset 0 0 0 2px #dc2626; }
table.rmdm-board.solved { border-color: #15803d; box-shadow: 0 0 0 3px #86efac; }
.rmdm-legend { display: flex; flex-wrap: wrap; gap: 10px; justify-content: center;
  font-size: 0.85em; color: #4b5563; margin-top: 4px; }
.rmdm-legend i { display: inline-block; width: 14px; height: 14px; margin-right: 4px;
  vertical-align: -2px; border: 1px solid #9ca3af; }
.rmdm-caption { display: flex; flex-wrap: wrap; gap: 8px; justify-content: center;
  font-variant-numeric: tabular-nums; }
.rmdm-chip { padding: 3px 10px; border-radius: 999px; background: #eef2ff; color: #3730a3;
  font-size: 0.9em; border: 1px solid #c7d2fe; }
.rmdm-chip.retry { background: #fff7ed; color: #9a3412; border-color: #fed7aa; }
.rmdm-chip.backtrack { background: #f3e8ff; color: #6b21a8; border-color: #d8b4fe; }
.rmdm-progress { height: 6px; background: #e5e7eb; border-radius: 3px; margin: 6px auto 0;
  max-width: 420px; overflow: hidden; }
.rmdm-progress > div { height: 100%; background: #6366f1; }
.rmdm-verdict { border-radius: 8px; padding: 10px 14px; border: 1px solid; margin: 2px 0; }
.rmdm-verdict.ok { background: #f0fdf4; border-color: #86efac; color: #14532d; }
.rmdm-verdict.bad { background: #fef2f2; border-color: #fca5a5; color: #7f1d1d; }
.rmdm-verdict.warn { background: #fffbeb; border-color: #fcd34d; color: #78350f; }
.rmdm-verdict.info { background: #f8fafc; border-color: #cbd5e1; color: #334155; }
.rmdm-verdict b { font-size: 1.05em; }
.rmdm-verdict ul { margin: 6px 0 0 18px; padding: 0; }
.rmdm-prompt { display: flex; flex-wrap: wrap; gap: 6px; align-items: center; justify-content: center;
  margin-bottom: 10px; }
.rmdm-num { min-width: 42px; padding: 6px 8px; text-align: center; border-radius: 6px;
  background: #e5e7eb; color: #111827; font-weight: 700; font-size: 1.1em; }
.rmdm-target { padding: 6px 12px; border-radius: 6px; background: #1e3a8a; color: #ffffff;
  font-weight: 700; font-size: 1.2em; }
.rmdm-strip { display: flex; flex-wrap: wrap; gap: 2px; justify-content: center; }
.rmdm-strip span { width: 22px; height: 32px; display: inline-flex; align-items: center;
  justify-content: center; border: 1px solid #cbd5e1; border-radius: 3px; background: #ffffff;
  font-family: ui-monospace, "SFMono-Regular", Menlo, Consolas, monospace; font-size: 17px;
  color: #1d4ed8; font-weight: 600; }
.rmdm-strip span.masked { color: #6d28d9; font-style: italic; font-weight: 400; font-size: 13px; }
.rmdm-strip span.fresh { background: #fcd34d; color: #78350f; box-shadow: inset 0 0 0 2px #f59e0b; }
.rmdm-strip span.pad { color: #cbd5e1; border-style: dashed; }
.rmdm-strip span.conflict { background: #fecaca; color: #991b1b; }
.rmdm-strip span.computed { background: #ccfbf1; color: #115e59; box-shadow: inset 0 0 0 2px #14b8a6; }
table.rmdm-steps { margin: 10px auto 0; border-collapse: collapse; font-variant-numeric: tabular-nums;
  border: none !important; }
table.rmdm-steps td { padding: 3px 10px; border: none !important; border-bottom: 1px solid #e5e7eb !important;
  font-family: ui-monospace, "SFMono-Regular", Menlo, Consolas, monospace; }
table.rmdm-steps td.ok { color: #15803d; } table.rmdm-steps td.bad { color: #b91c1c; }
table.rmdm-steps td.wait { color: #9ca3af; }
"""

# Background of a masked cell: violet, stronger the more confident the model is.
_GUESS_RGB = "139, 92, 246"


def _shade(confidence: float) -> str:
    alpha = 0.06 + 0.5 * max(0.0, min(1.0, confidence))
    return f"background: rgba({_GUESS_RGB}, {alpha:.2f});"


def _cell_size(n: int) -> int:
    return {4: 64, 6: 56, 8: 48, 9: 46}.get(n, 40)


def sudoku_board(
    puzzle: str,
    box_rows: int,
    box_cols: int,
    view: View | None = None,
    conflicts: Iterable[int] = (),
    solved: bool = False,
) -> str:
    """An n x n table: givens grey and bold, committed digits blue, cells committed at this
    frame amber, masked cells show the model's guess shaded by its confidence, conflicts red."""
    n = box_rows * box_cols
    cells = view.cells if view is not None else puzzle
    conflicts = set(conflicts)
    rows = []
    for r in range(n):
        tds = []
        for c in range(n):
            i = r * n + c
            classes, style, text = [], "", ""
            if c and c % box_cols == 0:
                classes.append("bl")
            if r and r % box_rows == 0:
                classes.append("bt")
            if puzzle[i] != MASK:
                classes.append("given")
                text = puzzle[i]
            elif cells[i] != MASK:
                classes.append("filled")
                text = cells[i]
                if view is not None and view.committed and view.committed[i]:
                    classes.append("fresh")
                elif view is not None and view.reverted and view.reverted[i]:
                    classes.append("reverted")  # undone and replaced by the search's next choice
            elif view is not None and view.reverted and view.reverted[i]:
                classes.append("reverted")
            elif view is not None and view.guesses and view.guesses[i] != MASK:
                classes.append("masked")
                conf = view.confidence[i] if view.confidence else 0.0
                style = _shade(conf)
                text = f"<span title='guess {view.guesses[i]}, p={conf:.2f}'>{view.guesses[i]}</span>"
            if i in conflicts:
                classes.append("conflict")
            attrs = f" class='{' '.join(classes)}'" if classes else ""
            attrs += f" style='{style}'" if style else ""
            tds.append(f"<td{attrs}>{text}</td>")
        rows.append("<tr>" + "".join(tds) + "</tr>")
    table_class = "rmdm-board solved" if solved else "rmdm-board"
    return (
        f"<div class='rmdm-board-wrap'><table class='{table_class}' data-n='{n}' "
        f"style='--cell: {_cell_size(n)}px'>{''.join(rows)}</table></div>"
    )


LEGEND = (
    "<div class='rmdm-legend'>"
    "<span><i style='background:#e5e7eb'></i>given</span>"
    "<span><i style='background:#ffffff;border-color:#1d4ed8'></i>filled by the solver</span>"
    "<span><i style='background:#fcd34d'></i>committed this step</span>"
    f"<span><i style='background:rgba({_GUESS_RGB},0.2)'></i><i style='background:rgba({_GUESS_RGB},0.56)'></i>"
    "masked: the model's guess, darker = more confident</span>"
    "<span><i style='background:#fecaca'></i>breaks a rule</span>"
    "<span><i style='background:#e9d5ff'></i>undone by a backtrack (search)</span>"
    "</div>"
)


def caption(view: View | None, total_cells: int | None = None, forced: str = "forced: one digit left") -> str:
    """Chips naming what the frame shows: retry, step k/K, loop l/L, NFE, cells left."""
    if view is None:
        return "<div class='rmdm-caption'><span class='rmdm-chip'>no solve yet</span></div>"
    chips = []
    if view.retry:
        chips.append(f"<span class='rmdm-chip retry'>retry {view.retry}</span>")
    if view.label:
        chips.append(f"<span class='rmdm-chip'>{html.escape(view.label)}</span>")
    else:
        steps = f"/{view.steps}" if view.steps else ""
        loops = f"/{view.loops}" if view.loops else ""
        chips.append(f"<span class='rmdm-chip'>step {view.step + 1}{steps}</span>")
        if view.kind == "backtrack":
            chips.append("<span class='rmdm-chip backtrack'>backtrack: undone</span>")
        elif view.kind == "propagate":
            chips.append(f"<span class='rmdm-chip'>{html.escape(forced)}</span>")
        elif view.kind == "decide":
            chips.append("<span class='rmdm-chip'>choice: the model's most likely digit</span>")
        else:
            chips.append(f"<span class='rmdm-chip'>loop {view.loop + 1}{loops}</span>")
    chips.append(f"<span class='rmdm-chip'>NFE {view.nfe}</span>")
    if view.backtracks or view.kind == "backtrack":
        chips.append(f"<span class='rmdm-chip backtrack'>{view.backtracks} backtrack{'' if view.backtracks == 1 else 's'}</span>")
    total = total_cells if total_cells is not None else len(view.cells)
    chips.append(f"<span class='rmdm-chip'>{view.masked} of {total} masked</span>")
    done = 1.0 - view.masked / total if total else 1.0
    bar = f"<div class='rmdm-progress'><div style='width:{100 * done:.0f}%'></div></div>"
    return f"<div class='rmdm-caption'>{''.join(chips)}</div>{bar}"


def verdict_box(kind: str, title: str, details: Sequence[str] = (), state: str | None = None) -> str:
    """A coloured box: kind is ok | bad | warn | info. `state` (e.g. "solved") is exposed as a
    data attribute so tests and scripts can wait for it."""
    items = "".join(f"<li>{html.escape(d)}</li>" for d in details)
    body = f"<ul>{items}</ul>" if items else ""
    data = f" data-verdict='{html.escape(state)}'" if state else ""
    return f"<div class='rmdm-verdict {kind}'{data}><b>{html.escape(title)}</b>{body}</div>"


def countdown_prompt(numbers: Sequence[int], target: int) -> str:
    nums = "".join(f"<span class='rmdm-num'>{int(x)}</span>" for x in numbers)
    return f"<div class='rmdm-prompt'>{nums}<span>&rarr;</span><span class='rmdm-target'>{int(target)}</span></div>"


def countdown_strip(view: View, pad: str = "", bad: Iterable[int] = ()) -> str:
    """The answer's characters, one box each: committed, newly committed, or masked with the guess.
    `pad` is the character the codec uses for padding (shown faint)."""
    bad = set(bad)
    spans = []
    for i, ch in enumerate(view.cells):
        cls, style, text = [], "", ch
        if ch == MASK:
            guess = view.guesses[i] if view.guesses else MASK
            cls.append("masked")
            conf = view.confidence[i] if view.confidence else 0.0
            style = _shade(conf)
            text = "" if guess in (MASK, pad) else guess
        else:
            if pad and ch == pad:
                cls.append("pad")
                text = "·"
            if view.committed and view.committed[i] and view.kind != "propagate":
                cls.append("fresh")
            if view.computed and view.computed[i]:
                cls.append("computed")
        if i in bad:
            cls.append("conflict")
        attrs = f" class='{' '.join(cls)}'" if cls else ""
        attrs += f" style='{style}'" if style else ""
        spans.append(f"<span{attrs}>{html.escape(text)}</span>")
    return f"<div class='rmdm-strip'>{''.join(spans)}</div>"


def step_table(rows: Sequence[tuple[str, str, str]]) -> str:
    """Rows of (step text, status in ok|bad|wait, note)."""
    if not rows:
        return ""
    mark = {"ok": "&#10003;", "bad": "&#10007;", "wait": "&hellip;"}
    trs = "".join(
        f"<tr><td>{i + 1}.</td><td>{html.escape(text)}</td><td class='{status}'>{mark[status]}</td>"
        f"<td class='{status}'>{html.escape(note)}</td></tr>"
        for i, (text, status, note) in enumerate(rows)
    )
    return f"<table class='rmdm-steps'>{trs}</table>"
