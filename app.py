"""Start the web app: `python app.py [--host H] [--port P] [--checkpoint DIR] [--max-passes N]`,
the same as `rmdm app`. The app itself is the package rmdm/app; its `main` checks the
address before gradio is imported, so a taken port is one line at once."""

from rmdm.app import main

if __name__ == "__main__":
    raise SystemExit(main())
