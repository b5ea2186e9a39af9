"""The cyclic GC kept out of a run's busy parts (llmd_doctor/gc_pause.py): off inside, as it was after,
also when the part fails; what a read made frozen; a diagnosis runs its checks and a `check` renders
with it off, and leaves it on."""

from __future__ import annotations

import gc
from pathlib import Path
from typing import Any

import pytest

from llmd_doctor import gc_pause

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "seed-rosa-epp-segfault"


@pytest.fixture(autouse=True)
def _gc_as_found() -> Any:
    was = gc.isenabled()
    yield
    if was:
        gc.enable()
    else:
        gc.disable()


def test_off_inside_and_on_after_even_when_the_part_fails() -> None:
    gc.enable()
    with gc_pause.paused():
        assert not gc.isenabled()
    assert gc.isenabled()
    with pytest.raises(RuntimeError), gc_pause.paused():
        raise RuntimeError("boom")
    assert gc.isenabled()


def test_a_collector_that_was_off_stays_off() -> None:
    gc.disable()
    with gc_pause.paused():
        pass
    assert not gc.isenabled()


def test_what_exists_at_the_end_is_frozen_when_asked() -> None:
    before = gc.get_freeze_count()
    with gc_pause.paused(freeze_after=True):
        kept = [{"n": i} for i in range(1000)]
    try:
        assert gc.get_freeze_count() >= before + len(kept)
    finally:
        gc.unfreeze()


def _collector_state_on_call(monkeypatch: pytest.MonkeyPatch, module: Any, name: str) -> list[bool]:
    """Whether the collector is on at each call of `module.name` (wrapped)."""
    seen: list[bool] = []
    original = getattr(module, name)

    def recording(*args: Any, **kwargs: Any) -> Any:
        seen.append(gc.isenabled())
        return original(*args, **kwargs)

    monkeypatch.setattr(module, name, recording)
    return seen


def test_a_diagnosis_runs_its_checks_without_the_collector_and_leaves_it_on(monkeypatch: pytest.MonkeyPatch) -> None:
    from llmd_doctor import run as runmod

    seen = _collector_state_on_call(monkeypatch, runmod, "run_checks")
    gc.enable()
    try:
        report = runmod.diagnose(runmod.RunOptions(bundle=str(EXAMPLE)))
    finally:
        gc.unfreeze()
    assert seen == [False]
    assert gc.isenabled()
    assert any(r.status.value == "fail" for r in report.results)  # the seed's EPP crash is still found


def test_check_renders_without_the_collector_and_leaves_it_on(monkeypatch: pytest.MonkeyPatch,
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    from llmd_doctor.cli import check as check_cmd
    from llmd_doctor.cli.main import main

    seen = _collector_state_on_call(monkeypatch, check_cmd, "emit")
    gc.enable()
    try:
        with pytest.raises(SystemExit):
            main(["check", "--bundle", str(EXAMPLE), "-o", "json"])
    finally:
        gc.unfreeze()
    assert seen == [False] and gc.isenabled()
    assert '"checks"' in capsys.readouterr().out


# Unhealthy (and recoverable) for its first three runs, healthy from the fourth: a --wait loop of four runs.
FLAKY_CHECK = """
import os
from pathlib import Path
from llmd_doctor.model import Finding, Severity, Status
from llmd_doctor.registry import check


@check("wait.flaky", title="wait.flaky", area="wait", severity=Severity.MAJOR, remediation="wait")
def run(ctx):
    runs = Path(os.environ["WAIT_RUNS_FILE"])
    n = int(runs.read_text() or 0) + 1 if runs.exists() else 1
    runs.write_text(str(n))
    if n < 4:
        yield Finding(Status.FAIL, "0/1 Ready", "Pod/ns/p", ("Pod/ns/p: Running, not Ready, CrashLoopBackOff (c), 2 restarts",))
    else:
        yield Finding(Status.PASS, "1/1 Ready")
"""


def test_a_wait_loop_frees_each_runs_snapshot_before_the_next(monkeypatch: pytest.MonkeyPatch,
                                                             tmp_path: Path) -> None:
    """`check --wait` on a cluster unhealthy for three runs: a frozen snapshot holds cycles (its
    topology refers back to it), so without `release_frozen` every run's snapshot stayed in memory."""
    import weakref

    from llmd_doctor import run as runmod
    from llmd_doctor.cli.app import diagnose_until

    (tmp_path / "checks").mkdir()
    (tmp_path / "checks" / "wait_flaky.py").write_text(FLAKY_CHECK)
    monkeypatch.setenv("WAIT_RUNS_FILE", str(tmp_path / "runs"))
    alive: list[weakref.ref[Any]] = []
    original = runmod.build_snapshot

    def recording(*args: Any, **kwargs: Any) -> Any:
        snap = original(*args, **kwargs)
        alive.append(weakref.ref(snap))
        return snap

    monkeypatch.setattr(runmod, "build_snapshot", recording)
    opts = runmod.RunOptions(bundle=str(EXAMPLE), checks_dirs=[str(tmp_path / "checks")], only=["wait.flaky"])
    try:
        report, code = diagnose_until(opts, "10m", "1ms", "fail", False, quiet=True)
    finally:
        gc.unfreeze()
    assert code is None and report.results[0].status.value == "pass" and len(alive) == 4
    assert [r() is not None for r in alive] == [False, False, False, True]
