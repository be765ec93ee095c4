"""mediamon."""
