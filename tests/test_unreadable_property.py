"""Property (issue #12): whatever subset of the kinds the checks read is unreadable — refused (403), failed
(HTTP 500) or timed out — no check crashes, `cluster.access` names every such read, the verdict is never
`healthy`, and no check passes on what it could not read.

"Passes on what it could not read" is judged by what the pass depends on: a check that read an unreadable
kind (the engine's record, `CheckResult.reads`) may pass only when its pass holds whatever that kind
holds — it must not be a warn, fail or error with the kind read as collected, nor with the kind read and
empty. (A check may read a kind to choose what to look at — which Gateways are llm-d's — and still
conclude from what it could read; tests/test_faults.py holds the same live, one kind at a time.)

The unreadable reads are what a bundle collected under them holds: no objects of those kinds and a
`failedReads` entry for each in bundle.yaml, as `collect` writes them (llmd_doctor.failed_reads); the
live path reaches the same snapshot state (tests/test_bundle_gaps.py). Sized by the conftest's
Hypothesis profile (`fast` by default, `--slow` for the full run).
"""

from __future__ import annotations

import dataclasses
import functools

from hypothesis import Phase, given, settings
from hypothesis import strategies as st
from scenario import EXAMPLES

from llmd_doctor.engine import needed_kinds, run_checks
from llmd_doctor.failed_reads import REASONS
from llmd_doctor.kinds import KINDS, key_of
from llmd_doctor.model import CheckResult, Status
from llmd_doctor.registry import load_specs
from llmd_doctor.report import Report
from llmd_doctor.sources.bundle import BundleData, read_bundle, snapshot_from_bundle_data

SPECS = load_specs(plugins=False)
READ = sorted(needed_kinds(SPECS))
EXAMPLE_NAMES = sorted(p.name for p in EXAMPLES.iterdir()
                       if p.is_dir() and (p.name.startswith("healthy") or p.name.startswith("seed-")))
MESSAGES = {
    "forbidden": '{plural} is forbidden: User "dev" cannot list resource "{plural}" at the cluster scope',
    "error": "list {plural}: HTTP 500: Internal Server Error",
    "timeout": "list {plural}: timed out after 10s (3 attempts, 31.0s)",
}


@functools.cache
def example(name: str) -> BundleData:
    return read_bundle(EXAMPLES / name)


def failed_read(key: str, reason: str) -> dict[str, str]:
    """One bundle.yaml `failedReads` entry, as `collect` writes it for a cluster-wide LIST."""
    k = KINDS[key]
    resource = f"{k.plural}.{k.group}" if k.group else k.plural
    return {"kind": key, "verb": "list", "resource": resource, "reason": reason,
            "message": MESSAGES[reason].format(plural=k.plural)}


def variant(data: BundleData, kinds: set[str], unreadable: dict[str, str] | None) -> BundleData:
    """The bundle without the objects of `kinds` (nor, without pods, their logs): refused or failed
    when collected (`unreadable`: kind -> reason), else read and empty."""
    manifest = dict(data.manifest)
    if unreadable is None:
        manifest["kinds"] = [*(manifest.get("kinds") or []), *sorted(kinds)]
    else:
        manifest["failedReads"] = [failed_read(k, r) for k, r in unreadable.items()]
    return dataclasses.replace(data, objects=[o for o in data.objects if key_of(o) not in kinds],
                               logs={} if "Pod" in kinds else data.logs, manifest=manifest)


def results(data: BundleData) -> dict[str, CheckResult]:
    return {r.id: r for r in run_checks(SPECS, snapshot_from_bundle_data(data))}


@functools.cache
def as_collected(name: str) -> dict[str, CheckResult]:
    return results(example(name))


PROBLEMS = (Status.WARN, Status.FAIL, Status.ERROR)


# No shrinking: the failure names the checks and kinds already, and shrinking costs a minute of everyone's run.
@settings(phases=[Phase.explicit, Phase.reuse, Phase.generate])
@given(name=st.sampled_from(EXAMPLE_NAMES),
       unreadable=st.dictionaries(st.sampled_from(READ), st.sampled_from(REASONS), min_size=1))
def test_no_check_passes_on_a_kind_it_could_not_read(name: str, unreadable: dict[str, str]) -> None:
    kinds = set(unreadable)
    data = variant(example(name), kinds, unreadable)
    snap = snapshot_from_bundle_data(data)
    assert kinds <= set(snap.errors)
    got = run_checks(SPECS, snap)
    assert [(r.id, r.message) for r in got if r.message.startswith("check crashed")] == []
    access = next(r for r in got if r.id == "cluster.access")
    assert access.status == Status.WARN and len(access.evidence) == len(unreadable)
    assert Report(snap.source, "", 0.0, got).verdict != "healthy"
    passed = [r for r in got if r.status == Status.PASS and r.reads & kinds]
    if not passed:
        return
    empty = results(variant(example(name), kinds, None))
    guesses = [(r.id, sorted(r.reads & kinds), f"as collected: {as_collected(name)[r.id].status}",
                f"empty: {empty[r.id].status}") for r in passed
               if as_collected(name)[r.id].status in PROBLEMS or empty[r.id].status in PROBLEMS]
    assert guesses == []
