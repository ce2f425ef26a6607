"""Callexa Desktop: NPS surveys for Segment identify records, on the operator's desktop."""

__version__ = "0.1.0"
APP_NAME = "Callexa Desktop"
