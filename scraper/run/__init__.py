"""Run: the pipeline, the daemon's lifecycle, schedule, leadership, health."""
