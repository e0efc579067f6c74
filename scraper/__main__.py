"""`python -m scraper` runs the CLI."""

from scraper.cli.commands import main

raise SystemExit(main())
