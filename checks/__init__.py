"""Built-in llmd-doctor checks: one module per check, in a package per area (`checks/<area>/`), and
their knowledge data (knowledge/*.yaml). Shared helpers live in `_lib/`; relationships between
objects come from the Topology (llmd_doctor.topology), never from a check."""
