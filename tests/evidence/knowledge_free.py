"""Proof that a sample takes the generic path: no signature of checks/knowledge/ recognises it.

Reads the knowledge YAML itself (the files are the contract), so it holds whatever code loads them.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

import yaml

KNOWLEDGE = Path(__file__).resolve().parents[2] / "checks" / "knowledge"
# Signatures matched against route conditions, not logs (signatures_gateway.yaml says which is which).
NOT_LOGS = frozenset({"httproute-status"})


@cache
def _signatures() -> tuple[tuple[str, tuple[re.Pattern[str], ...]], ...]:
    out = []
    for path in sorted(KNOWLEDGE.glob("signatures_*.yaml")):
        for entry in yaml.safe_load(path.read_text())["signatures"]:
            if entry["component"] in NOT_LOGS:
                continue
            out.append((entry["id"], tuple(re.compile(p, re.MULTILINE) for p in entry["all"])))
    return tuple(out)


def matching_signatures(text: str) -> list[str]:
    """Ids of the knowledge log signatures whose every pattern matches `text`."""
    return [sid for sid, patterns in _signatures() if all(p.search(text) for p in patterns)]


def in_knowledge_files(phrase: str) -> list[str]:
    """Names of the knowledge files that contain `phrase` verbatim."""
    return [p.name for p in sorted(KNOWLEDGE.glob("*.yaml")) if phrase in p.read_text()]


def assert_generic(text: str, *phrases: str) -> None:
    assert _signatures(), "no knowledge signatures were read"
    assert matching_signatures(text) == [], "a knowledge signature recognises this sample"
    for phrase in phrases:
        assert in_knowledge_files(phrase) == [], f"{phrase!r} is in a knowledge file"
