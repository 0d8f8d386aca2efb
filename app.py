"""Start the web app: `python app.py [--host H] [--port P] [--checkpoint DIR] [--max-passes N]`,
the same as `rmdm app`. The app itself is the package rmdm/app."""

from rmdm.app.blocks import main

if __name__ == "__main__":
    raise SystemExit(main())
