"""ofsted-watch: new Ofsted reports on English councils' children's services, found fast."""

__version__ = "0.1.0"
