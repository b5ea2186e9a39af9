"""The catalog as a whole: every id of the spec exists, has docs, and has tests; every example
bundle gives the verdict its README promises."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from scenario import Scenario

from llmd_doctor.docgen import render_checks_md
from llmd_doctor.model import Status
from llmd_doctor.registry import load_specs

ROOT = Path(__file__).resolve().parents[1]
SPEC_IDS = [
    "cluster.access", "istio.control-plane", "istio.inference-extension", "istio.epp-destination-rule",
    "gateway-api.crds", "gateway.class", "gateway.programmed", "httproute.status", "httproute.backends",
    "inference.crds", "inferencepool.status", "inferencepool.endpoint-picker", "inferencepool.selector",
    "inferencemodel.refs", "rbac.epp", "model-servers.pods", "model-servers.gpu", "model-servers.logs",
    "epp.deployment", "epp.config", "epp.logs", "compat.versions", "e2e.models", "e2e.chat-completion",
    "e2e.routing",
]
SPECS = load_specs(plugins=False)


def test_every_spec_id_exists_once() -> None:
    ids = [s.id for s in SPECS]
    assert len(ids) == len(set(ids))
    assert [i for i in SPEC_IDS if i not in ids] == []


def test_every_check_is_documented_and_the_page_is_in_sync() -> None:
    page = (ROOT / "docs" / "checks.md").read_text()
    assert page == render_checks_md(SPECS), "docs/checks.md is stale: python -m llmd_doctor.docgen > docs/checks.md"
    for s in SPECS:
        assert f'<a id="{s.anchor}"></a>' in page
        assert s.title and s.description, f"{s.id} needs a title and a docstring"
        assert s.remediation, f"{s.id} needs remediation text"
        assert s.docs


def test_every_check_has_tests_that_name_it() -> None:
    text = "\n".join(p.read_text() for p in (ROOT / "tests").rglob("test_*.py"))
    missing = [s.id for s in SPECS if f'"{s.id}"' not in text]
    assert missing == []


def test_prerequisites_exist() -> None:
    ids = {s.id for s in SPECS}
    for s in SPECS:
        assert set(s.requires) <= ids, f"{s.id} requires unknown {set(s.requires) - ids}"


def test_inputs_are_known_kinds() -> None:
    from llmd_doctor.kinds import KINDS

    for s in SPECS:
        assert set(s.inputs) <= set(KINDS), f"{s.id} reads unknown kinds {set(s.inputs) - set(KINDS)}"


HEALTHY = sorted(p.name for p in (ROOT / "examples").iterdir() if p.name.startswith("healthy"))


@pytest.mark.parametrize("example", HEALTHY)
def test_healthy_examples_have_no_fail_warn_or_error(example: str) -> None:
    results = Scenario.example(example).run()
    bad = {i: (r.status.value, r.message) for i, r in results.items()
           if r.status in (Status.FAIL, Status.WARN, Status.ERROR)}
    assert bad == {}


def test_seed_example_names_its_root_cause_and_what_still_works() -> None:
    results = Scenario.example("seed-rosa-epp-segfault").run()
    status = {i: r.status.value for i, r in results.items()}
    assert status["epp.logs"] == "fail" and re.search(r'configFile=""', results["epp.logs"].message)
    assert status["epp.deployment"] == "fail"
    assert status["epp.config"] == "fail"
    assert status["httproute.backends"] == "warn"  # routed straight to the decode Service
    for ok in ("gateway-api.crds", "gateway.class", "gateway.programmed", "httproute.status",
               "model-servers.pods", "model-servers.gpu", "inference.crds", "istio.control-plane"):
        assert status[ok] == "pass", (ok, results[ok].message)
