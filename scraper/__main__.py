"""`python -m scraper` runs the CLI."""

from scraper.cli import main

raise SystemExit(main())
