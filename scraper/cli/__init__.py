"""The command line: parsing, one function per command, rendering."""

from scraper.cli.commands import main

__all__ = ["main"]
