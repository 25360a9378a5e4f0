"""Reporter-style questions and an independent oracle that reads the store with plain SQL."""
