"""Helpers the checks of several areas share (never a check module: nothing here is registered)."""

from collections.abc import Iterator

from llmd_doctor.model import Finding
from llmd_doctor.topology import Items


def unread(items: Items, what: str) -> Iterator[Finding]:
    """One finding per reason a list of objects may be incomplete: what could not be verified."""
    for gap in items.gaps:
        yield Finding.unverifiable(gap, f"{what} could not be read")
