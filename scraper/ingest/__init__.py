"""Ingest: the only HTTP for sources (fetch, politeness, robots) and the sources."""
