from offline.plan.cli import main

raise SystemExit(main())
