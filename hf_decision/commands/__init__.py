"""Command-line programs (also installed as console scripts); `scripts/` holds thin wrappers around them."""
