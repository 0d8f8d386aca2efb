"""The Gradio page: lays out the Sudoku and Countdown tabs and the "About the model" panel,
wires their events to the handlers in this package, and launches the server.

Offline by design: analytics are off before gradio is imported, the theme uses system
fonts, nothing is shared. GRADIO_SERVER_NAME / GRADIO_SERVER_PORT are respected.
`run` builds and serves the page once `rmdm.app.start` (what `python app.py` and `rmdm app`
both run) has checked the address and the checkpoints.
"""

from __future__ import annotations

import argparse
import logging
import os
import threading
from contextlib import closing
from dataclasses import dataclass

os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"  # before gradio is imported: no calls home
os.environ.setdefault("NO_PROXY", "localhost,127.0.0.1,::1")
os.environ.setdefault("GRADIO_ANALYTICS_MAX_EVENTS", "1000")  # the queue's record of each event (default 10,000)

import gradio as gr  # noqa: E402

from . import (  # noqa: E402
    AddressProblem, cannot_serve, check_address, countdown_tab, render, server_address, sudoku_tab,
)
from .examples import countdown_examples, sudoku_examples  # noqa: E402
from .models import ModelShelf, about_text, cards_text  # noqa: E402
from .playback import DECODINGS, POLICIES, SPEEDS, Limits, SolveSettings, replay  # noqa: E402

log = logging.getLogger("rmdm.app")

SYSTEM_FONTS = ["ui-sans-serif", "system-ui", "-apple-system", "Segoe UI", "Roboto", "Helvetica Neue", "Arial", "sans-serif"]
MONO_FONTS = ["ui-monospace", "SFMono-Regular", "Menlo", "Consolas", "Liberation Mono", "monospace"]
INTRO = (
    "# Watching a diffusion model think\n"
    "A small **recursive masked diffusion model** fills in a puzzle: it starts with every blank masked, and at "
    "each denoising step runs its shared core block several times (*loops*) before committing the cells it is "
    "surest of. Violet cells show its current guess (darker = more confident), amber cells were just committed. "
    "A symbolic verifier checks the answer; the exact solver is there to compare."
)
# What the server keeps per session, bounded (issue 16 item 9). Gradio keeps each session (its own
# copy of the page's configuration, about 150 KB here) until more than state_session_capacity
# sessions exist (default 10,000), and a gr.State value until its time_to_live (default: never;
# an hour after a browser tab closes). The run a Player holds keeps every frame (about 1.4 MB for
# a model's 9x9 solve). API calls often start a session each (a POST to /gradio_api/call/<name>
# without a session_hash, which never closes; a new gradio_client Client), so RSS grew by about
# 0.17 MB per exact solve and more per model solve. Now the least recently used sessions past
# SESSION_CAPACITY are dropped, and a run an hour after it was made; a page whose run is gone
# has nothing to replay or scrub until the next solve.
SESSION_CAPACITY = 100
RUN_TTL_S = 3600


def theme() -> gr.themes.Base:
    """The default look with system fonts only, so the page fetches no font from anywhere."""
    return gr.themes.Default(primary_hue="indigo", neutral_hue="slate", font=SYSTEM_FONTS, font_mono=MONO_FONTS)


def _slider(run, index: int):
    count = len(run.frames) if run is not None else 1
    return gr.Slider(minimum=0, maximum=max(1, count - 1), value=index, step=1)


def _stream(handler):
    """Wrap a handler yielding (html, caption, verdict, index, run) for gradio: a slider update for
    the index, and any unexpected error shown as a message (logged here) instead of a trace."""

    def run(*args):
        try:
            with closing(handler(*args)) as updates:  # closed by Stop or the time limit: the solve stops too
                for html, caption, verdict, index, state in updates:
                    yield html, caption, verdict, _slider(state, index), state
        except Exception as err:  # noqa: BLE001 - the user sees a message, the log the traceback
            log.exception("solve failed")
            message = render.verdict_box("bad", f"Something went wrong: {err}", state="error")
            yield gr.skip(), gr.skip(), message, gr.skip(), gr.skip()

    return run


def _safe(handler, message_at: int, count: int, as_text: bool = False):
    """Wrap a one-shot handler: an unexpected error becomes a message in output `message_at`
    (plain text for a textbox, a red box for HTML)."""

    def run(*args):
        try:
            return handler(*args)
        except Exception as err:  # noqa: BLE001
            log.exception("handler failed")
            out = [gr.skip()] * count
            message = f"Something went wrong: {err}"
            out[message_at] = f"# {message}" if as_text else render.verdict_box("bad", message, state="error")
            return tuple(out) if count > 1 else out[0]

    return run


def _loop_slider_max(shelf: ModelShelf, task: str, limits: Limits) -> int:
    """What the tab's models support: the most loops any of them accepts (each refuses more than its own)."""
    caps = [limits.loop_cap(shelf.get(task, size)) for size in shelf.sizes(task) if shelf.get(task, size) is not None]
    return max(caps, default=limits.max_loops)


DECODING_INFO = {
    "sudoku": "constrained: a digit already in the row, column or box is never placed; search: also undo and try the next "
              "digit at a dead end",
    "countdown": "constrained (the calculator): operands only from the numbers still available, results computed exactly, "
                 "the last step reaches the target; search: also undo a choice at a dead end and try the next. "
                 "Models that read characters: plain only",
}


def _default_decoding(shelf: ModelShelf, task: str) -> str:
    """Countdown searches over its calculator's legal steps by default where every bundled model
    has the calculator (the model orders the search; the bundled countdown4 plans a valid answer
    alone, constrained, for about one instance in seven, the search for all: docs/RESULTS.md); else plain."""
    from solver.constraints import ConstraintError, constraint_for

    if task != "countdown":
        return "plain"
    models = [shelf.get(task, size) for size in shelf.sizes(task)]
    try:
        for loaded in models:
            if loaded is not None:
                constraint_for(loaded.codec)
    except ConstraintError:
        return "plain"
    return "search" if any(m is not None for m in models) else "plain"


def _model_controls(max_steps: int, limits: Limits, max_loops: int | None = None, task: str = "sudoku",
                    decoding_default: str = "plain") -> list[gr.components.Component]:
    with gr.Accordion("Model settings", open=False):
        with gr.Row():
            steps = gr.Slider(0, max_steps, value=0, step=1, label="Denoising steps", info="0 = one position per step")
            loops = gr.Slider(0, max_loops or limits.max_loops, value=0, step=1, label="Loops per step",
                              info="0 = as trained; a model refuses counts its loop embedding never trained")
        with gr.Row():
            policy = gr.Dropdown(list(POLICIES), value="top_prob", label="Unmasking policy", info="which masked positions to commit first")
            retries = gr.Slider(0, limits.max_retries, value=0, step=1, label="Verifier-guided retries", info="remask broken cells, go on")
        with gr.Row():
            adaptive = gr.Checkbox(False, label="Adaptive loops", info="stop a step's loops once the predictions stop changing (at most the loops set, else as trained)")
            seed = gr.Number(0, precision=0, label="Seed", minimum=0, maximum=2**31 - 1)
        decoding = gr.Radio(
            list(DECODINGS), value=decoding_default, label="Decoding", elem_id=f"{task}-decoding",
            info=f"{DECODING_INFO[task]} (at most {limits.max_passes} network passes)",
        )
    return [steps, loops, adaptive, policy, retries, seed, decoding]


def _solve_controls(task: str, exact_label: str, max_steps: int, shelf: ModelShelf, limits: Limits) -> tuple:
    """A tab's two solve buttons, its animation speed and its model settings."""
    with gr.Row():
        solve = gr.Button("Solve with the model", variant="primary", elem_id=f"{task}-solve")
        exact = gr.Button(exact_label, elem_id=f"{task}-exact")
    speed = gr.Radio(list(SPEEDS), value="normal", label="Animation speed", elem_id=f"{task}-speed")
    controls = _model_controls(max_steps, limits, _loop_slider_max(shelf, task, limits), task, _default_decoding(shelf, task))
    return solve, exact, speed, controls


def _settings(steps, loops, adaptive, policy, retries, seed, decoding="plain") -> SolveSettings:
    return SolveSettings(
        int(steps or 0), int(loops or 0), bool(adaptive), str(policy), int(retries or 0), int(seed or 0), str(decoding or "plain")
    )


@dataclass
class Player:
    """The animation area of a tab: what is drawn, its caption and verdict, the frame slider,
    replay and stop; `run` keeps the last run for scrubbing."""

    board: gr.HTML
    caption: gr.HTML
    verdict: gr.HTML
    frame: gr.Slider
    again: gr.Button
    stop: gr.Button
    run: gr.State

    @classmethod
    def build(cls, label: str, empty: str = "") -> Player:
        board = gr.HTML(empty, label=label, elem_id=f"{label}-board")
        caption = gr.HTML(render.caption(None), elem_id=f"{label}-caption")
        verdict = gr.HTML(elem_id=f"{label}-verdict")
        with gr.Row():
            frame = gr.Slider(0, 1, value=0, step=1, label="Frame: drag to scrub through the run", scale=5, elem_id=f"{label}-frame")
            with gr.Column(scale=1, min_width=90):
                again = gr.Button("Replay", size="sm")
                stop = gr.Button("Stop", size="sm", variant="stop")
        return cls(board, caption, verdict, frame, again, stop, gr.State(None, time_to_live=RUN_TTL_S))

    def wire(self, show, stop, scrub, speed: gr.Radio, solvers: list[tuple[gr.Button, object, list, str]]) -> None:
        """Each (button, handler, inputs, api name) streams into this player; replay, stop and
        the slider work on the kept run. `show(run, index)` draws one frame; `stop(run, index)` and
        `scrub(run, index)` the frame the slider is on with a verdict about that frame (None: no run)."""
        outputs = [self.board, self.caption, self.verdict, self.frame, self.run]
        options = dict(show_progress="hidden", time_limit=180)
        events = [button.click(_stream(fn), inputs, outputs, api_name=name, **options) for button, fn, inputs, name in solvers]
        replayed = lambda run, name: replay(run, name, lambda i: show(run, i))  # noqa: E731
        events.append(self.again.click(_stream(replayed), [self.run, speed], outputs, api_name=False, **options))

        def at_frame(handler):  # the slider still spans the whole run
            def drawn(run, index):
                frame = handler(run, index)
                return frame if frame is not None else (gr.skip(), gr.skip(), gr.skip())

            return _safe(drawn, 2, 3)

        drawn = [self.board, self.caption, self.verdict]
        self.stop.click(at_frame(stop), [self.run, self.frame], drawn, cancels=events, api_name=False, show_progress="hidden")
        self.frame.input(at_frame(scrub), [self.run, self.frame], drawn, show_progress="hidden", api_name=False)


def _sudoku_tab(shelf: ModelShelf, limits: Limits) -> None:
    examples = sudoku_examples()
    with gr.Row():
        with gr.Column(scale=2, min_width=320):
            with gr.Row():
                size = gr.Radio(list(sudoku_tab.SIZES), value=9, label="Size")
                level = gr.Dropdown(list(sudoku_tab.LEVELS_FOR_SIZE[9]), value="easy", label="Difficulty")
            generate = gr.Button("Generate a puzzle")
            example = gr.Dropdown(list(examples), value=None, label="Or pick an example")
            gr.HTML(sudoku_tab.levels_line(shelf), elem_id="sudoku-levels")  # what the bundled 9x9 model handles alone
            text = gr.Textbox(
                label="Puzzle", lines=4, max_lines=12, elem_id="sudoku-text",
                placeholder="One line of 16, 36 or 81 characters ('.' or 0 for a blank), or one row per line",
            )
            note = gr.HTML(elem_id="sudoku-note")
            solve, exact, speed, controls = _solve_controls("sudoku", "Exact solver", 81, shelf, limits)
        with gr.Column(scale=3, min_width=360):
            player = Player.build("sudoku", sudoku_tab.empty_board(9))
            gr.HTML(render.LEGEND)
    board = player.board

    def on_text(value):  # the board, the note, and the Size radio follows the puzzle
        preview_board, preview_note, n = sudoku_tab.follow_text(shelf, value)
        return preview_board, preview_note, gr.skip() if n is None else n

    def solve_with_model(value, speed_name, *settings):
        yield from sudoku_tab.solve_model(shelf, value, _settings(*settings), speed_name, limits)

    def exact_once(value):
        yield sudoku_tab.solve_exact(value)

    def on_size(n, chosen, value):
        levels = sudoku_tab.LEVELS_FOR_SIZE[int(n)]
        board = gr.skip() if value and value.strip() else sudoku_tab.empty_board(n)
        return gr.Dropdown(choices=list(levels), value=chosen if chosen in levels else levels[0]), board

    size.change(on_size, [size, level, text], [level, board], api_name=False, show_progress="hidden")
    generate.click(_safe(sudoku_tab.generate, 0, 1, as_text=True), [size, level], text, api_name="generate_sudoku")
    for cleared in (generate.click, text.input):  # the dropdown names an example only while it is shown
        cleared(lambda: None, None, example, api_name=False, show_progress="hidden")
    example.input(lambda label: examples.get(label, ""), example, text, api_name=False)
    text.change(_safe(on_text, 1, 3), text, [board, note, size], show_progress="hidden", api_name=False)
    player.wire(sudoku_tab.show, sudoku_tab.stop, sudoku_tab.scrub, speed, [
        (solve, solve_with_model, [text, speed, *controls], "solve_sudoku"),
        (exact, exact_once, [text], "solve_sudoku_exact"),
    ])


def _countdown_tab(shelf: ModelShelf, limits: Limits) -> None:
    examples = countdown_examples()
    with gr.Row():
        with gr.Column(scale=2, min_width=320):
            with gr.Row():
                count = gr.Radio([3, 4, 5, 6], value=4, label="How many numbers")
                rules = gr.Radio(["ml", "tv"], value="ml", label="Rules", info="ml: use every number once; tv: each at most once")
            generate = gr.Button("Generate an instance")
            example = gr.Dropdown(list(examples), value=None, label="Or pick an example")
            with gr.Row():
                numbers = gr.Textbox(label="Numbers", placeholder="e.g. 44, 15, 79", elem_id="countdown-numbers", scale=3)
                target = gr.Textbox(label="Target", placeholder="e.g. 50", elem_id="countdown-target", scale=1)
            note = gr.HTML()
            solve, exact, speed, controls = _solve_controls("countdown", "Exact solver's answer", 64, shelf, limits)
        with gr.Column(scale=3, min_width=360):
            player = Player.build("countdown")
            gr.HTML(
                "<div class='rmdm-legend'>Each box is one slot of the answer. Each step is: an operand, the "
                "operator, an operand, then the result's digits; ①②③④ are the given numbers and ❶❷❸ the "
                "results of earlier steps. Violet = still masked (the model's guess, darker = more confident), "
                "amber = committed this step, · = padding. With the calculator (constrained or search decoding) "
                "each result is computed exactly once its step's operands and operator are chosen: "
                "teal = computed by the calculator, not by the model. "
                "The table checks each step's arithmetic as it appears.</div>"
            )

    def solve_with_model(nums, goal, rule, speed_name, *settings):
        yield from countdown_tab.solve_model(shelf, nums, goal, rule, _settings(*settings), speed_name, limits)

    def exact_once(nums, goal, rule):
        yield countdown_tab.solve_exact(nums, goal, rule)

    def on_numbers(value):  # the count radio follows the numbers typed, when it offers that count
        n = countdown_tab.count_of(value)
        return gr.skip() if n is None else n

    generate.click(_safe(countdown_tab.generate, 2, 3), [count, rules], [numbers, target, note], api_name="generate_countdown")
    for cleared in (generate.click, numbers.input, target.input):  # the dropdown names an example only while it is shown
        cleared(lambda: None, None, example, api_name=False, show_progress="hidden")
    example.input(lambda label: examples.get(label, ("", "", "ml")), example, [numbers, target, rules], api_name=False)
    numbers.change(on_numbers, numbers, count, api_name=False, show_progress="hidden")
    player.wire(countdown_tab.show, countdown_tab.stop, countdown_tab.scrub, speed, [
        (solve, solve_with_model, [numbers, target, rules, speed, *controls], "solve_countdown"),
        (exact, exact_once, [numbers, target, rules], "solve_countdown_exact"),
    ])


def build_demo(shelf: ModelShelf | None = None, limits: Limits = Limits()) -> gr.Blocks:
    shelf = shelf or ModelShelf()
    with gr.Blocks(title="R-MDM puzzle solver", analytics_enabled=False) as demo:
        gr.Markdown(INTRO)
        with gr.Tab("Sudoku"):
            _sudoku_tab(shelf, limits)
        with gr.Tab("Countdown"):
            _countdown_tab(shelf, limits)
        with gr.Accordion("About the model", open=False):
            about = gr.Markdown("Loading the bundled models...", elem_id="about")
            with gr.Accordion("Full model cards", open=False):
                cards = gr.Markdown(elem_id="about-cards")
        demo.load(lambda: (about_text(shelf), cards_text(shelf)), None, [about, cards], api_name=False, show_progress="hidden")
    return demo


def launch(demo: gr.Blocks, host: str | None = None, port: int | None = None, **kwargs):
    """Queue with bounded concurrency, then launch locally (host/port default to the
    GRADIO_SERVER_NAME / GRADIO_SERVER_PORT variables, then 127.0.0.1:7860)."""
    host, port = server_address(host, port)
    demo.queue(max_size=32, default_concurrency_limit=2)
    return demo.launch(
        server_name=host, server_port=port, share=False, theme=theme(), css=render.CSS,
        footer_links=["api", "settings"], ssr_mode=False, state_session_capacity=SESSION_CAPACITY, **kwargs,
    )


def warm_up(shelf: ModelShelf) -> None:
    """Compile the exact solver (numba, seconds on a first run) and load the models, so the
    first visitor does not wait for either."""
    try:
        sudoku_tab.read_puzzle("...3.1..2..11.3.")
        shelf.infos()
    except Exception:  # noqa: BLE001 - a failed warm-up only costs the first request time
        log.exception("warm-up failed")


def run(args: argparse.Namespace, loaded: list | None = None) -> int:
    """Build the page and serve it. `rmdm.app.start` calls this once the address and each
    --checkpoint have passed its checks (what `python app.py` and `rmdm app` both run), with the
    --checkpoint models it loaded (`loaded`; without them they are loaded by name); an OSError
    from the launch itself (the port taken meanwhile) is the same one line as the check's."""
    host, port = server_address(args.host, args.port)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)  # gradio's own start-up checks
    shelf = ModelShelf(extra=args.checkpoint if loaded is None else loaded)
    threading.Thread(target=warm_up, args=(shelf,), daemon=True).start()
    demo = build_demo(shelf, Limits() if args.max_passes is None else Limits(max_passes=args.max_passes))
    try:
        launch(demo, host, port)
    except OSError as err:
        try:
            check_address(host, port)
        except AddressProblem as taken:
            return cannot_serve(str(taken))
        return cannot_serve(f"cannot serve on {host}:{port}: {' '.join(str(err).split())}")
    return 0


def main(argv: list[str] | None = None) -> int:
    from . import main as package_main

    return package_main(argv)


if __name__ == "__main__":
    raise SystemExit(main())
