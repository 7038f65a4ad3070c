"""Perceo domain package: which user flows a code change puts at risk, and how they behave in production."""

__version__ = "0.1.0"
