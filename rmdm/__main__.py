from rmdm.cli import main

raise SystemExit(main())
