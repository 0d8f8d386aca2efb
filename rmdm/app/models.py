"""Which bundled model serves which puzzle, loaded once and kept, and what to say about it.

The app asks `ModelShelf.sudoku(n)` / `.countdown(n_numbers)` for a model; the answer is a
`LoadedModel` or None with the reason, so the UI can say why and offer the exact solver.
torch is imported only when a model is first needed.
"""

from __future__ import annotations

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

    def summary(self) -> str:
        what = f"{self.size}x{self.size} Sudoku" if self.task == "sudoku" else f"Countdown, {self.size} numbers"
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
        solve_rates=_solve_rates(getattr(loaded, "path", None)),
    )


def _solve_rates(directory: Any) -> str:
    """The "Measured solve rates" text of a checkpoint directory, from its solve_rates.json."""
    if directory is None:
        return NO_SOLVE_RATES
    from solver.checkpoint import read_solve_rates, solve_rates_markdown

    try:
        rates = read_solve_rates(directory)
        return solve_rates_markdown(rates).strip() if rates else NO_SOLVE_RATES
    except Exception as err:  # noqa: BLE001 - a bad file costs the panel its table, not the model
        return f"(its solve rates could not be read: {err})"


class ModelShelf:
    """Bundled checkpoints (plus any extra directories), loaded lazily and at most once."""

    def __init__(self, extra: list[str] | None = None, bundled: bool = True):
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
            for name in names + self._extra:
                try:
                    loaded = load(name, device="cpu")
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


def about_text(shelf: ModelShelf) -> str:
    """The "about the model" panel: each bundled checkpoint, its size and its measured solve rates."""
    parts = []
    for info in shelf.infos():
        parts.append(f"{info.summary()}\n\n{info.solve_rates}")
    text = "\n\n---\n\n".join(parts) or "No bundled model could be loaded here: the exact solvers still work."
    if shelf.problems:
        text += "\n\n**Not loaded:**\n\n" + "\n".join(f"- {p}" for p in shelf.problems)
    return text
