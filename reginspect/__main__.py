from reginspect.cli import main

raise SystemExit(main())
