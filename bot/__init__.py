"""warroom: the platform-neutral incident core. Imports no chat SDK."""

__version__ = "0.1.0"
