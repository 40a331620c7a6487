"""talking: resident engagement surveys for community-safety partners."""

__version__ = "0.1.0"
