"""Golden files for every renderer, from a fixed synthetic Report (no colour, fixed width, frozen
clock and version). Regenerate with `UPDATE_GOLDEN=1 python -m pytest tests/test_render_golden.py`
and review the diff."""

from __future__ import annotations

import json
import os
import random
from collections.abc import Callable
from pathlib import Path

import pytest
from golden.synthetic import FROZEN_VERSION, synthetic_report

from llmd_doctor.renderers.html import render_html
from llmd_doctor.renderers.json import render_json
from llmd_doctor.renderers.junit import render_junit
from llmd_doctor.renderers.markdown import render_markdown
from llmd_doctor.renderers.summary import render_step_summary
from llmd_doctor.renderers.text import TextStyle, render_text
from llmd_doctor.report import Report

GOLDEN = Path(__file__).parent / "golden"

RENDERERS: dict[str, Callable[[Report], str]] = {
    "report.md": render_markdown,
    "report.html": render_html,
    "report.json": render_json,
    "report.junit.xml": render_junit,
    "report-fail-on-warn.junit.xml": lambda r: render_junit(r, fail_on="warn"),
    "check.txt": lambda r: render_text(r, TextStyle(color=False, width=100)),
    "check-verbose.txt": lambda r: render_text(r, TextStyle(color=False, width=100, verbose=True)),
    "check-color.txt": lambda r: render_text(r, TextStyle(color=True, width=100)),
    "step-summary.md": render_step_summary,
}


@pytest.mark.parametrize("name", sorted(RENDERERS))
def test_golden(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("llmd_doctor.report.__version__", FROZEN_VERSION)
    got = RENDERERS[name](synthetic_report())
    path = GOLDEN / name
    if os.environ.get("UPDATE_GOLDEN"):
        path.write_text(got, encoding="utf-8")
    assert path.exists(), f"no golden file {path}: run with UPDATE_GOLDEN=1"
    assert got == path.read_text(encoding="utf-8"), f"{name} differs from its golden file (UPDATE_GOLDEN=1 to accept)"


def test_renderers_are_pure() -> None:
    """Same Report, same output: nothing reads the clock, the environment or the terminal."""
    report = synthetic_report()
    for name, render in RENDERERS.items():
        assert render(report) == render(report), name


def test_the_json_written_in_batches_is_the_rendered_document(monkeypatch: pytest.MonkeyPatch) -> None:
    """stdout gets the JSON as it is encoded (renderers/json.write_json): the same text, in pieces."""
    from llmd_doctor.renderers import json as json_renderer

    monkeypatch.setattr("llmd_doctor.report.__version__", FROZEN_VERSION)
    monkeypatch.setattr(json_renderer, "BATCH", 7)  # many writes, from a small report
    writes: list[str] = []
    json_renderer.write_json(synthetic_report(), writes.append)
    assert len(writes) > 3
    assert "".join(writes) == (GOLDEN / "report.json").read_text(encoding="utf-8")


def _random_value(rng: random.Random, depth: int) -> object:
    """JSON-able values of every kind the encoder distinguishes, nested."""
    scalars: list[Callable[[], object]] = [
        lambda: "".join(rng.choice('aé"\\\n\t\x00\x1f\u2028😀 /<>') for _ in range(rng.randint(0, 6))),
        lambda: rng.choice([None, True, False]),
        lambda: rng.randint(-10**20, 10**20),
        lambda: rng.choice([0.0, -0.0, 1.5, 1e300, -2.5e-8, float("nan"), float("inf"), float("-inf")]),
    ]
    if depth <= 0 or rng.random() < 0.3:
        return rng.choice(scalars)()
    shape = rng.randrange(4)
    if shape == 0:  # a list of strings: the encoder's joined path
        return [scalars[0]() for _ in range(rng.randint(0, 4))]
    if shape == 1:
        seq = [_random_value(rng, depth - 1) for _ in range(rng.randint(0, 4))]
        return tuple(seq) if rng.random() < 0.3 else seq
    keys: list[object] = [scalars[0](), rng.randint(-5, 5), 2.5, True, False, None, "k"]
    return {rng.choice(keys): _random_value(rng, depth - 1) for _ in range(rng.randint(0, 4))}


def test_the_json_document_is_the_standard_librarys_text_byte_for_byte() -> None:
    """renderers/json indents with its own encoder (issue #15: ~3× the standard library's speed): on
    every kind of value, nested, the text is exactly `json.dumps(indent=2, ensure_ascii=False)`'s."""
    from llmd_doctor.renderers import json as json_renderer

    rng = random.Random(15)
    for _ in range(2000):
        value = _random_value(rng, 4)
        pieces: list[str] = []
        json_renderer._Indented(pieces, lambda: None).value(value, 0)
        assert "".join(pieces) == json.dumps(value, indent=2, ensure_ascii=False), value


def test_the_json_encoder_refuses_what_the_standard_library_refuses() -> None:
    from llmd_doctor.renderers import json as json_renderer

    for bad in ({"a": {1, 2}}, [object()], {(1, 2): "tuple key"}):
        with pytest.raises(TypeError):
            json.dumps(bad)
        with pytest.raises(TypeError):
            json_renderer._Indented([], lambda: None).value(bad, 0)
