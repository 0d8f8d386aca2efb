"""The web app's parts (app.py at the top level builds the Gradio UI from them).

frames: sampler frames -> `View`s; render: views -> HTML; playback: running the model,
bounding its work and streaming frames; sudoku_tab / countdown_tab: the handlers;
models: the bundled checkpoints; examples: puzzles shipped with the app.
"""
