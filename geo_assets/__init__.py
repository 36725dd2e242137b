"""geo-assets: community asset mapping for Connecting People practice."""

__version__ = "0.1.0"
