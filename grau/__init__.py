"""grau: an open-source, contract-driven backend for fitness tracking."""

__version__ = "0.1.0"
