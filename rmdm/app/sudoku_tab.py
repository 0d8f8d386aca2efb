"""The Sudoku tab's handlers as plain functions of plain values (tested without a browser).

Each returns (or yields) HTML strings and a `Run`; blocks.py wires them to components.
Bad input never raises: it comes back as a visible message.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from puzzles.errors import PuzzleError

from . import render
from .frames import MASK, Run, View, reveal_views
from .models import ModelShelf, level_rates
from .playback import Limits, ModelOutcome, SolveSettings, scrubbed, solve_live, stopped

SIZES = (4, 6, 9)
# The difficulty levels the generator reaches at each size (4x4 grids are all solved by
# singles; 6x6 never need more than 10 guesses).
LEVELS_FOR_SIZE = {4: ("easy",), 6: ("easy", "medium", "hard"), 9: ("easy", "medium", "hard", "extreme")}
MAX_SIZE = 9

# (board, caption, verdict, frame index, run): what every solve handler yields
Update = tuple[str, str, str, int, Run | None]


class InputProblem(Exception):
    """Bad input: the message is shown to the user as it is. `puzzle` is the grid as read,
    when it could be read (drawn beside the message), and `clashes` its clues that break a
    rule (flat indices, drawn in red)."""

    def __init__(self, message: str, puzzle: Any = None, clashes: frozenset[int] = frozenset()):
        super().__init__(message)
        self.puzzle = puzzle
        self.clashes = clashes

    def board(self) -> str:
        """The puzzle as read, its clashing clues in red; an empty board when it could not be read."""
        if self.puzzle is None:
            return empty_board()
        return _board(self.puzzle.to_line(), self.puzzle.shape, conflicts=self.clashes)


@dataclass(frozen=True)
class Checked:
    """A readable, solvable puzzle and a note about it for the user."""

    puzzle: Any  # puzzles.sudoku.Sudoku
    line: str
    unique: bool
    note: str


def read_puzzle(text: str | None) -> Checked:
    """Parse and check a puzzle; InputProblem for anything the app should not try to solve."""
    from puzzles.sudoku import count_solutions, parse_sudoku

    if not text or not text.strip():
        raise InputProblem("Enter a puzzle first: generate one, pick an example, or type it in.")
    if len(text) > 10_000:
        raise InputProblem("That text is far too long to be a Sudoku.")
    try:
        puzzle = parse_sudoku(text)
    except PuzzleError as err:
        raise InputProblem(f"Cannot read the puzzle: {err}.", *_clashing_clues(text)) from None
    if puzzle.n > MAX_SIZE:
        raise InputProblem(f"This app solves grids up to {MAX_SIZE}x{MAX_SIZE}; this one is {puzzle.n}x{puzzle.n}.")
    solutions = count_solutions(puzzle, limit=2)
    if solutions == 0:
        raise InputProblem("This puzzle has no solution: its givens cannot all be kept.", puzzle)
    shape = puzzle.shape
    note = f"{shape.n}x{shape.n} ({shape.box_rows}x{shape.box_cols} boxes), {puzzle.clues} givens, "
    note += "one solution." if solutions == 1 else "more than one solution: any valid filling counts."
    return Checked(puzzle, puzzle.to_line(), solutions == 1, note)


def _clashing_clues(text: str) -> tuple[Any, frozenset[int]]:
    """(the grid read without the clue check, the clues that repeat in a row, column or box),
    or (None, {}) when the text is unreadable for another reason (or too large to draw)."""
    from puzzles.sudoku import parse_sudoku, verify_sudoku

    try:
        puzzle = parse_sudoku(text, check_conflicts=False)
    except PuzzleError:
        return None, frozenset()
    if puzzle.n > MAX_SIZE:
        return None, frozenset()
    verdict = verify_sudoku(puzzle, puzzle)
    n = puzzle.n
    clashes = frozenset(r * n + c for v in verdict.violations if v.kind in ("row", "column", "box") for r, c in v.cells)
    return (puzzle, clashes) if clashes else (None, frozenset())


def _shape(run_or_size: Run | int):
    from puzzles.sudoku import SudokuShape

    if isinstance(run_or_size, Run):
        return SudokuShape(*run_or_size.shape)
    return SudokuShape.for_size(int(run_or_size))


def _board(line: str, shape: Any, view: View | None = None, conflicts=(), solved: bool = False) -> str:
    return render.sudoku_board(line, shape.box_rows, shape.box_cols, view, conflicts, solved)


def empty_board(size: int = 9) -> str:
    shape = _shape(size)
    return _board(MASK * shape.cells, shape)


def preview(text: str | None) -> tuple[str, str, int | None]:
    """(board, note, size or None) for the text in the puzzle box: its givens, or why it can't be solved."""
    if not text or not text.strip():
        return empty_board(), "", None
    try:
        checked = read_puzzle(text)
    except InputProblem as err:
        message = str(err) + (" The clashing clues are marked in red." if err.clashes else "")
        return err.board(), render.verdict_box("warn", message), None
    kind = "info" if checked.unique else "warn"
    return _board(checked.line, checked.puzzle.shape), render.verdict_box(kind, checked.note), checked.puzzle.n


def follow_text(shelf: ModelShelf, text: str | None) -> tuple[str, str, int | None]:
    """When the puzzle text changes (typed, generated, an example): (board, note, size) where
    size is the puzzle's side for the Size radio to follow (None: leave it), and the note says
    which bundled model would solve it, or why none."""
    board, note, n = preview(text)
    if n is None:
        return board, note, None
    info = shelf.info("sudoku", n)
    if info is None:
        note += render.verdict_box("warn", shelf.missing_reason("sudoku", n))
    else:
        note += f"<div class='rmdm-legend'>solved by the bundled model {info.name}</div>"
    return board, note, n if n in SIZES else None


def levels_line(shelf: ModelShelf, n: int = 9) -> str:
    """One line for the tab: how often the bundled n x n model solves each generator level by
    itself (plain decoding, no retries), from its solve_rates.json; "" when nothing is measured."""
    import html

    info = shelf.info("sudoku", n)
    levels = level_rates(info.rates) if info is not None else {}
    if not levels:
        return ""
    said = [f"{solved / puzzles:.0%} of {level}" for level, (solved, puzzles) in levels.items()]
    joined = said[0] if len(said) == 1 else ", ".join(said[:-1]) + " and " + said[-1]
    counts = ", ".join(f"{level} {solved}/{puzzles}" for level, (solved, puzzles) in levels.items())
    return (
        f"<div class='rmdm-legend' title='{html.escape(counts, quote=True)}'>By itself (plain decoding) "
        f"the bundled {n}x{n} model {html.escape(info.name)} solved {joined} held-out puzzles "
        f"(levels as the generator rates them); for harder ones try Decoding: search.</div>"
    )


def generate(size: int, level: str, seed: int | None = None) -> str:
    """Puzzle text for a fresh puzzle of this size and difficulty, its rating and seed in a comment
    (the parser skips comments); a failure comes back as a comment line, which reads as no puzzle."""
    from puzzles.sudoku import generate_sudoku

    seed = int(np.random.SeedSequence().entropy % 2**31) if seed is None else int(seed)
    try:
        made = generate_sudoku(_shape(size), np.random.default_rng(seed), level=level)
    except (PuzzleError, ValueError, RuntimeError) as err:
        return f"# could not generate a {size}x{size} {level} puzzle: {err}"
    level_got = getattr(getattr(made, "rating", None), "level", level)
    return f"{made.puzzle.to_line()}  # generated: {size}x{size}, {level_got}, seed {seed}"


def judge(puzzle: Any, answer: str) -> tuple[bool, list[str], frozenset[int]]:
    """(valid, each broken rule in words, conflicting cells as flat indices)."""
    from puzzles.sudoku import verify_sudoku

    try:
        verdict = verify_sudoku(puzzle, answer)
    except PuzzleError as err:
        return False, [f"the answer cannot be read: {err}"], frozenset()
    n = puzzle.n
    cells = frozenset(r * n + c for r, c in verdict.cells())
    return verdict.valid, [_say(v) for v in verdict.violations], cells


def _say(violation: Any) -> str:
    """A violation in words: "row 2: two 5s (r2c1, r2c7)", as `rmdm verify` says it."""
    return violation.describe()


def how_solved(result: Any) -> str:
    """What the exact solver needed, truthfully: its search applies singles and locked
    candidates before branching, so a puzzle singles cannot finish may still need no guess."""
    from puzzles.sudoku.verify import plural

    if result.singles_only:
        return "by singles alone, no guessing"
    if result.guesses == 0:
        return "by singles and locked candidates, no guessing"
    return f"by search: {plural(result.guesses, 'guess', 'guesses')} at branch points"


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def show(run: Run | None, index: int | float | None) -> tuple[str, str]:
    """(board, caption) of frame `index` of a run: what the scrub slider shows (a run with no
    frame yet, the model's before its first: the puzzle)."""
    if run is None:
        return empty_board(), render.caption(None)
    if not run.frames:
        return _board(run.puzzle, _shape(run)), render.caption(None)
    i = max(0, min(len(run.frames) - 1, int(index or 0)))
    view = run.frames[i]
    board = _board(run.puzzle, _shape(run), view, run.marks.get(i, ()), i in run.solved)
    return board, render.caption(view, run.puzzle.count(MASK))


def _refuse(message: str, state: str, line: str | None = None, shape: Any = None) -> Update:
    board = _board(line, shape) if line is not None else empty_board()
    kind = "warn" if state == "no-model" else "bad"
    return board, render.caption(None), render.verdict_box(kind, message, state=state), 0, None


def _refuse_input(err: InputProblem) -> Update:
    """Unreadable or unsolvable input: the message, beside the grid as read when it could be."""
    details = ["The clashing clues are marked in red."] if err.clashes else []
    verdict = render.verdict_box("bad", str(err), details, state="error")
    return err.board(), render.caption(None), verdict, 0, None


def solve_exact(text: str | None) -> Update:
    """The exact solver's answer, shown as a two-frame run (puzzle, then solution)."""
    from puzzles.sudoku import solve_sudoku

    try:
        checked = read_puzzle(text)
    except InputProblem as err:
        return _refuse_input(err)
    shape = checked.puzzle.shape
    started = time.perf_counter()
    result = solve_sudoku(checked.puzzle)
    ms = 1000 * (time.perf_counter() - started)
    if result.solution is None:  # read_puzzle already ruled this out
        return _refuse("The exact solver found no solution.", "error", checked.line, shape)
    answer = result.solution.to_line()
    run = Run("sudoku", checked.line, reveal_views(checked.line, answer, "exact solver"), shape=(shape.box_rows, shape.box_cols))
    valid, problems, cells = judge(checked.puzzle, answer)
    last = len(run.frames) - 1
    run.marks[last] = cells
    if valid:
        run.solved.add(last)
    title = f"Solved by the exact solver ({how_solved(result)}, {ms:.0f} ms)." if valid else "The exact solver's answer is wrong!"
    run.verdict_html = render.verdict_box("ok" if valid else "bad", title, problems, state="solved" if valid else "invalid")
    board, caption = show(run, last)
    return board, caption, run.verdict_html, last, run


def solve_model(
    shelf: ModelShelf, text: str | None, settings: SolveSettings, speed: str = "normal", limits: Limits = Limits()
) -> Iterator[Update]:
    """Solve with the bundled model, showing its frames while it works (`playback.solve_live`);
    the last yield has the verdict."""
    try:
        checked = read_puzzle(text)
    except InputProblem as err:
        yield _refuse_input(err)
        return
    puzzle, shape, line = checked.puzzle, checked.puzzle.shape, checked.line
    loaded = shelf.get("sudoku", shape.n)
    if loaded is None:
        yield _refuse(shelf.missing_reason("sudoku", shape.n), "no-model", line, shape)
        return
    problem = limits.check(settings, line.count(MASK), loaded)
    if problem:
        yield _refuse(problem, "error", line, shape)
        return
    box = (shape.box_rows, shape.box_cols)
    live_run = Run("sudoku", line, [], shape=box)
    finish = lambda outcome: _judged_run(puzzle, line, box, outcome)  # noqa: E731
    yield from solve_live(loaded, puzzle, settings, limits, speed, live_run, show, finish)


def _judged_run(puzzle: Any, line: str, box: tuple[int, int], outcome: ModelOutcome) -> Run:
    """The finished run: each attempt's last frame judged (broken units in red), and the verdict."""
    run = Run("sudoku", line, outcome.views, shape=box)
    attempts = []
    for retry, end in enumerate(run.retry_ends()):
        valid, problems, cells = judge(puzzle, run.frames[end].cells)
        run.marks[end] = cells
        if valid:
            run.solved.add(end)
        said = "valid" if valid else f"{_count(len(problems), 'broken rule')}: " + "; ".join(problems[:3])
        attempts.append(f"attempt {retry + 1}: {said}")
    valid, problems, _ = judge(puzzle, outcome.answer)
    tail = f"{outcome.mode} decoding, NFE {outcome.nfe}, {1000 * outcome.seconds:.0f} ms, {_count(len(attempts), 'attempt')}"
    if outcome.mode == "search":
        tail += f", {_count(outcome.backtracks, 'backtrack')}"
    if valid:
        title = f"Solved: the verifier accepts the model's answer ({tail})."
        run.verdict_html = render.verdict_box("ok", title, attempts if len(attempts) > 1 else [], state="solved")
    else:
        title = f"Not solved: the verifier found {_count(len(problems), 'broken rule')}, marked in red ({tail})."
        details = attempts if len(attempts) > 1 else problems[:8]
        run.verdict_html = render.verdict_box("bad", title, details, state="invalid")
    return run


def stop(run: Run | None, index: int | float | None) -> tuple[str, str, str] | None:
    """What Stop shows: the frame the slider is on, and a verdict about that frame (`playback.stopped`)."""
    return stopped(run, index, show)


def scrub(run: Run | None, index: int | float | None) -> tuple[str, str, str] | None:
    """What dragging the slider shows: that frame, and a verdict about it (`playback.scrubbed`)."""
    return scrubbed(run, index, show)
