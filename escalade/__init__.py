"""Escalade: incident escalation procedures as running software."""

__version__ = "0.1.0"
