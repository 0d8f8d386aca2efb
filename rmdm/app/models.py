"""Which bundled model serves which puzzle, loaded once and kept, and what to say about it.

The app asks `ModelShelf.sudoku(n)` / `.countdown(n_numbers)` for a model; the answer is a
`LoadedModel` or None with the reason, so the UI can say why and offer the exact solver.
torch is imported only when a model is first needed.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from typing import Any

NO_SOLVE_RATES = "(no measured solve rates: no solve_rates.json beside its card)"


@dataclass(frozen=True)
class ModelInfo:
    """What the "about the model" panel shows."""

    name: str
    task: str
    size: int  # Sudoku n, or Countdown's count of numbers
    parameters: int
    loops: int | None
    max_loops: int | None
    layers: str
    card: str
    solve_rates: str  # markdown drawn from the solve_rates.json beside the card, or a note why there is none
    rates: dict | None = None  # that solve_rates.json as data (None when there is none or it cannot be read)
    card_path: str = ""  # where the card lives: solver/checkpoints/<name>/card.md for a bundled model

    def summary_what(self) -> str:
        return f"{self.size}x{self.size} Sudoku" if self.task == "sudoku" else f"Countdown, {self.size} numbers"

    def summary(self) -> str:
        what = self.summary_what()
        loops = f"{self.loops} loops in training" if self.loops else "loops unknown"
        if self.max_loops:
            loops += f" (up to {self.max_loops} at inference)"
        return f"**{self.name}**: {what}; {self.parameters:,} parameters; {self.layers}; {loops}."


def _model_size(loaded: Any) -> tuple[str, int] | None:
    codec = loaded.codec
    task = getattr(codec, "task", None)
    if task == "sudoku":
        return task, int(codec.shape.n)
    if task == "countdown":
        return task, int(codec.n_numbers)
    return None


def _info(loaded: Any, task: str, size: int) -> ModelInfo:
    model = loaded.model
    cfg = getattr(model, "config", None)
    parameters = sum(p.numel() for p in model.parameters())
    layers = "layers unknown"
    if cfg is not None:
        layers = (
            f"{getattr(cfg, 'prelude_layers', 0)} prelude + {getattr(cfg, 'core_layers', '?')} looped core + "
            f"{getattr(cfg, 'coda_layers', 0)} coda layers, width {getattr(cfg, 'd_model', '?')}"
        )
    return ModelInfo(
        name=str(getattr(loaded, "name", "") or getattr(loaded, "path", "model")),
        task=task,
        size=size,
        parameters=int(parameters),
        loops=getattr(cfg, "loops", None),
        max_loops=getattr(cfg, "max_loops", None),
        layers=layers,
        card=str(getattr(loaded, "card", "") or ""),
        **_solve_rates(getattr(loaded, "path", None)),
        card_path=_card_path(getattr(loaded, "path", None)),
    )


def _solve_rates(directory: Any) -> dict[str, Any]:
    """{"solve_rates": the "Measured solve rates" text, "rates": the data} of a checkpoint
    directory's solve_rates.json (a note why there is none, and None, when there is none)."""
    if directory is None:
        return {"solve_rates": NO_SOLVE_RATES, "rates": None}
    from solver.checkpoint import read_solve_rates, solve_rates_markdown

    try:
        rates = read_solve_rates(directory)
        text = solve_rates_markdown(rates).strip() if rates else NO_SOLVE_RATES
    except Exception as err:  # noqa: BLE001 - a bad file costs the panel its table, not the model
        return {"solve_rates": f"(its solve rates could not be read: {err})", "rates": None}
    return {"solve_rates": text, "rates": rates}


def _card_path(directory: Any) -> str:
    """The card's path as a reader finds it: in the package for a bundled model, else on disk."""
    if directory is None:
        return ""
    from pathlib import Path

    from solver.checkpoint import CARD, bundled_dir

    card = Path(directory) / CARD
    try:
        return str(Path("solver", "checkpoints") / card.resolve().relative_to(bundled_dir().resolve()))
    except ValueError:
        return str(card)


class ModelShelf:
    """Bundled checkpoints (plus any extra ones: directories, or models already loaded), loaded
    lazily and at most once."""

    def __init__(self, extra: list[Any] | None = None, bundled: bool = True):
        self._extra = list(extra or [])
        self._bundled = bundled
        self._lock = threading.Lock()
        self._models: dict[tuple[str, int], Any] | None = None
        self._infos: dict[tuple[str, int], ModelInfo] = {}
        self.problems: list[str] = []  # checkpoints that failed to load, said in the about panel

    def _load_all(self) -> dict[tuple[str, int], Any]:
        with self._lock:
            if self._models is not None:
                return self._models
            models: dict[tuple[str, int], Any] = {}
            try:
                from solver.checkpoint import list_checkpoints, load
            except ImportError as err:
                self.problems.append(f"the model code cannot be imported here ({err})")
                self._models = models
                return models
            names = list(list_checkpoints()) if self._bundled else []
            for entry in names + self._extra:
                by_name = isinstance(entry, (str, os.PathLike))
                name = entry if by_name else getattr(entry, "name", "a loaded checkpoint")
                try:
                    loaded = load(entry, device="cpu") if by_name else entry
                    key = _model_size(loaded)
                except Exception as err:  # a broken checkpoint must not take the app down
                    self.problems.append(f"checkpoint {name!r} could not be loaded: {err}")
                    continue
                if key is None:
                    self.problems.append(f"checkpoint {name!r} is for an unknown task")
                    continue
                if key not in models:  # the first one listed for a size wins
                    models[key] = loaded
                    self._infos[key] = _info(loaded, *key)
            self._models = models
            return models

    def add(self, loaded: Any) -> None:
        """Offer one more loaded model (replacing any for the same task and size)."""
        models = self._load_all()
        key = _model_size(loaded)
        if key is None:
            raise ValueError(f"a model for an unknown task: {loaded.codec!r}")
        models[key] = loaded
        self._infos[key] = _info(loaded, *key)

    def get(self, task: str, size: int) -> Any | None:
        return self._load_all().get((task, int(size)))

    def info(self, task: str, size: int) -> ModelInfo | None:
        self._load_all()
        return self._infos.get((task, int(size)))

    def infos(self) -> list[ModelInfo]:
        self._load_all()
        return [self._infos[k] for k in sorted(self._infos)]

    def sizes(self, task: str) -> list[int]:
        return sorted(size for t, size in self._load_all() if t == task)

    def missing_reason(self, task: str, size: int) -> str:
        what = f"{size}x{size} Sudoku" if task == "sudoku" else f"Countdown with {size} numbers"
        have = self.sizes(task)
        have_text = ", ".join(f"{s}x{s}" if task == "sudoku" else str(s) for s in have) or "none"
        return f"No bundled model solves {what} yet (models here: {have_text}). Use the exact solver."


def _rate(row: dict[str, Any]) -> str:
    return f"{row['solve_rate']:.1%} ({row['solved']}/{row['puzzles']})"


def _how(row: dict[str, Any]) -> str:
    """How a solve_rates.json row decoded, as the app's verdicts and the CLI say it: "plain + 4 retries"."""
    from solver.options import decoding_phrase

    return decoding_phrase(row.get("decoding") or "plain", int(row.get("retries") or 0), int(row.get("samples") or 1))


def headline(rates: dict[str, Any] | None) -> list[tuple[str, str, str]]:
    """(set, plain solve rate, best decoding's solve rate and how) for each measured set: the
    plain row is plain decoding without retries; the best is the highest rate measured."""
    lines = []
    for item in (rates or {}).get("sets", []):
        rows = [r for r in item.get("rows", []) if "solve_rate" in r]
        if not rows:
            continue
        plain = [r for r in rows if _how(r) == "plain"]
        best = max(rows, key=lambda r: r["solve_rate"])  # the first of equals: the cheapest, as measured
        lines.append((str(item.get("set", "?")), _rate(plain[0]) if plain else "not measured",
                      f"{_rate(best)}: {_how(best)}"))
    return lines


def level_rates(rates: dict[str, Any] | None) -> dict[str, tuple[int, int]]:
    """level -> (solved, puzzles) of plain decoding without retries, per generator level
    (puzzles.sudoku.LEVELS) measured in solve_rates.json; for a level several sets measured,
    the set with the most puzzles of it."""
    from puzzles.sudoku import LEVELS

    found: dict[str, tuple[int, int]] = {}
    for item in (rates or {}).get("sets", []):
        for row in item.get("rows", []):
            if _how(row) != "plain":
                continue
            for level, group in (row.get("by_group") or {}).items():
                try:
                    counts = (int(group["solved"]), int(group["puzzles"]))
                except (KeyError, TypeError, ValueError):
                    continue
                if level in LEVELS and counts[1] > found.get(level, (0, 0))[1]:
                    found[level] = counts
    return {level: found[level] for level in LEVELS if level in found}


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def about_text(shelf: ModelShelf) -> str:
    """The "about the model" panel: the headline figures in one short table (model, parameters,
    one line per measured set with the plain solve rate and the best decoding's), then where each
    full card is; `cards_text` holds the cards themselves."""
    infos = shelf.infos()
    lines = []
    if infos:
        lines += ["| model | parameters | evaluation set | plain decoding | best measured |", "|---|---:|---|---:|---|"]
        for info in infos:
            what = f"**{info.name}** ({info.summary_what()})"
            figures = headline(info.rates) or [(info.solve_rates if info.rates is None else "(no measured set)", "", "")]
            for k, (label, plain, best) in enumerate(figures):
                first = (what, f"{info.parameters:,}") if k == 0 else ("", "")
                lines.append(f"| {' | '.join(_cell(x) for x in (*first, label, plain, best))} |")
        machines = sorted({str(info.rates.get("machine")) for info in infos if info.rates and info.rates.get("machine")})
        lines += ["", "Solve rates judged by the puzzle verifiers on each set (its label says how it was drawn). "
                  "Plain = the model alone (no constraint, no search), no retries; best = the highest rate any "
                  "measured decoding reached (constrained, search, retries, best of N)"
                  + (f"; measured on {', '.join(machines)}." if machines else "."),
                  "", "Each model's full card (architecture, training, every measured row and its command): "
                  + ", ".join(f"`{info.card_path}`" for info in infos if info.card_path)
                  + "; also under *Full model cards* below."]
    text = "\n".join(lines) or "No bundled model could be loaded here: the exact solvers still work."
    if shelf.problems:
        text += "\n\n**Not loaded:**\n\n" + "\n".join(f"- {p}" for p in shelf.problems)
    return text


def cards_text(shelf: ModelShelf) -> str:
    """Every loaded model's summary and full card (headings shifted down two levels to sit
    inside the panel), with the solve rates of its solve_rates.json where the card lacks them."""
    from solver.checkpoint import SOLVE_RATES_HEADING

    parts = []
    for info in shelf.infos():
        card = _demote(info.card.strip()) if info.card.strip() else "(no card)"
        part = f"{info.summary()}\n\n`{info.card_path}`\n\n{card}"
        if SOLVE_RATES_HEADING not in info.card:
            part += f"\n\n{_demote(info.solve_rates)}"
        parts.append(part)
    return "\n\n---\n\n".join(parts) or "No model is loaded."


def _demote(markdown: str, levels: int = 2) -> str:
    """Headings `#`..`####` become two levels smaller; fenced code is left alone."""
    out, fenced = [], False
    for line in markdown.splitlines():
        if line.lstrip().startswith("```"):
            fenced = not fenced
        elif not fenced and line.startswith("#"):
            line = "#" * levels + line
        out.append(line)
    return "\n".join(out)
