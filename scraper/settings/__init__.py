"""Settings: the TOML schema and loading; everything downstream sees typed values."""
