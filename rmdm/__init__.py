"""The `rmdm` command line: one entry point that dispatches to puzzles, data_gen and solver."""
