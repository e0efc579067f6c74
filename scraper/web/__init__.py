"""The read-only web view: pages, Atom feeds, a JSON API and calendars of expected visits.

Imported only by `serve` and `run`, so the other commands never load the web stack.
"""
