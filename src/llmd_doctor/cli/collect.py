"""`llmd-doctor collect` (being written)."""
