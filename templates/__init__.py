"""Jinja2 report templates shipped with llmd-doctor."""
