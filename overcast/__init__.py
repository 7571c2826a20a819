"""Overcast: the OpenStack APIs in front of any cloud."""

__version__ = "0.1.0"
