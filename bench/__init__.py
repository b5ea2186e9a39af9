"""The llmd-doctor benchmark (docs/performance.md): `python -m bench`."""
