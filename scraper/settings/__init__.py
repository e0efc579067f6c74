"""Configuration: the file's schema, loading it, and the typed Settings everything else sees."""
