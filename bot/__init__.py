"""crimebot: answers newsroom questions about police recorded crime in England and Wales."""

__version__ = "0.1.0"
