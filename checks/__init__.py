"""Built-in llmd-doctor checks, one module per area, and their knowledge data (knowledge/*.yaml)."""
