from annbench.cli.main import main

raise SystemExit(main())
