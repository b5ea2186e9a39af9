"""`llmd-doctor report` (being written)."""
