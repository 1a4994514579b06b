from frontwatch.cli import main

raise SystemExit(main())
