"""`llmd-doctor explain ID`: a check's documentation from the installed package, the same text as
docs/checks.md; docs references a user can follow after `pip install` in every format."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from llmd_doctor import docgen, docsref
from llmd_doctor import knowledge as _knowledge
from llmd_doctor.registry import load_specs

ROOT = Path(__file__).resolve().parents[1]
SEED = str(ROOT / "examples" / "seed-rosa-epp-segfault")
SPECS = load_specs(plugins=False)
CliRun = Callable[..., tuple[int, str, str]]  # the `cli` fixture (conftest.py)


def test_explain_text_has_every_part_of_the_entry(cli: CliRun) -> None:
    code, out, err = cli("explain", "epp.logs")
    assert code == 0 and err == ""
    assert out.startswith("epp.logs — Endpoint picker logs\n")
    for part in ("What it checks", "Why it matters", "Reads:", "Requires:", "Protects:", "Known causes", "Fix"):
        assert part in out, part
    assert "EPP log signatures" in out  # what it checks: the check's docstring
    assert "cache-aware routing" in out and "cluster.access" in out
    # Each known cause with its fix, from checks/knowledge/signatures_epp.yaml.
    for sig in _knowledge.signatures("epp"):
        assert sig.id in out
    assert "NewSchedulerWithConfig" in out and "-configFile /etc/epp/epp-config.yaml" in out
    assert "https://github.com/llm-d/llm-d-router/issues/255" in out
    assert "See the cause named above" in out  # the check's remediation


def test_why_it_matters_names_the_checks_it_blocks(cli: CliRun) -> None:
    _, out, _ = cli("explain", "cluster.access")
    dependants = [s.id for s in SPECS if "cluster.access" in s.requires]
    assert dependants and all(d in out for d in dependants) and "cannot run (blocked)" in out


def test_condition_signatures_report_under_httproute_status(cli: CliRun) -> None:
    _, out, _ = cli("explain", "httproute.status", "-o", "json")
    doc = json.loads(out)
    from llmd_doctor.gateways import implementations

    expected = {s.id for i in implementations() for s in i.condition_signatures if s.component == "httproute-status"}
    assert {c["id"] for c in doc["known_causes"]} == expected
    assert "gateway-api-invalid-kind" in expected and "istio-inference-extension-disabled" in expected
    assert all(c["reads"].endswith("route condition (reason: message)") for c in doc["known_causes"])


def test_every_signature_component_reports_under_a_check() -> None:
    """A new signatures_*.yaml component must be declared by the check that reports it, or explain would miss it."""
    folder = ROOT / "checks" / "knowledge"
    components = {e["component"] for f in folder.glob("signatures_*.yaml") for e in yaml.safe_load(f.read_text())["signatures"]}
    declared = {c for s in SPECS for c in s.signatures}
    assert components == declared
    ids = {s.id for s in SPECS}
    assert set(docgen.KNOWN_ISSUE_CHECKS) <= ids and set(docgen.CONDITION_CHECKS) <= ids


def test_explain_json(cli: CliRun) -> None:
    _, out, _ = cli("explain", "model-servers.logs", "-o", "json")
    doc = json.loads(out)
    assert doc["id"] == "model-servers.logs" and doc["docs"] == "llmd-doctor explain model-servers.logs"
    reads = {c["reads"] for c in doc["known_causes"]}
    assert reads == {"vLLM container log", "routing sidecar log"}
    assert all(c["cause"] and c["fix"] for c in doc["known_causes"])
    assert not any(re.search(r"\{\w+\}", c["cause"] + c["fix"]) for c in doc["known_causes"])  # <name>, not {name}
    _, out, _ = cli("explain", "epp.*", "-o", "json")
    assert [d["id"] for d in json.loads(out)] == [s.id for s in SPECS if s.id.startswith("epp.")]


def test_explain_markdown_is_the_catalog_pages_entry(cli: CliRun) -> None:
    page = (ROOT / "docs" / "checks.md").read_text()
    for check_id in ("epp.logs", "compat.versions", "cluster.access"):
        _, out, _ = cli("explain", check_id, "-o", "markdown")
        assert out.strip() in page, check_id
    _, out, _ = cli("explain", "compat.versions", "-o", "markdown")
    assert "kgateway before v2.0.3" in out  # known issues of checks/knowledge/compat.yaml


@pytest.mark.parametrize(("argv", "expected"), [
    (["explain", "epp.log"], "no check matches 'epp.log'; did you mean epp.logs?"),
    (["explain", "inferencepool.endpoint"], "did you mean inferencepool.endpoint-picker?"),
    (["explain", "zzz"], "no check matches 'zzz'; see `llmd-doctor list-checks`"),
    (["explain"], "Missing argument 'ID...'"),
])
def test_explain_unknown_ids(cli: CliRun, argv: list[str], expected: str) -> None:
    code, out, err = cli(*argv)
    assert code == 2 and out == "" and err.count("\n") == 1 and expected in err, err


# ---- docs references: `llmd-doctor explain <id>`, and a URL when one is configured -------------------------


def test_no_format_carries_a_relative_docs_path(cli: CliRun) -> None:
    for argv in (["check"], ["check", "-o", "json"], *(["report", "-o", f] for f in ("markdown", "html", "json", "junit"))):
        _, out, _ = cli(*argv, "--bundle", SEED)
        assert "docs/checks.md" not in out, argv
        assert "llmd-doctor explain epp.config" in out, argv


def test_docs_url_from_the_config_file(cli: CliRun, tmp_path: Path) -> None:
    base = "https://docs.example.test/llmd-doctor/checks.html"
    cfg = tmp_path / "c.yaml"
    cfg.write_text(f"docsUrl: {base}\n")
    _, out, _ = cli("check", "--bundle", SEED, "-o", "json", "--config", str(cfg))
    logs = {c["id"]: c for c in json.loads(out)["checks"]}["epp.logs"]
    assert logs["docs"] == f"llmd-doctor explain epp.logs ({base}#epp-logs)"
    assert all(s["docs"].startswith("llmd-doctor explain ") for s in json.loads(out)["next_steps"])
    _, out, _ = cli("explain", "epp.logs", "--config", str(cfg))
    assert f"Online: {base}#epp-logs" in out
    _, out, _ = cli("list-checks", "-o", "json", "--config", str(cfg))
    assert {r["id"]: r for r in json.loads(out)}["inference.crds"]["docs"].endswith(f"({base}#inference-crds)")
    cfg.write_text("docsUrl: docs/checks.md\n")
    code, _, err = cli("explain", "epp.logs", "--config", str(cfg))
    assert code == 2 and "docsUrl must be an http:// or https:// URL" in err


def test_docs_url_from_the_package_metadata(tmp_path: Path) -> None:
    """A `Documentation` Project-URL in the installed metadata is used (the project declares none yet,
    as it has no docs site): a distribution's METADATA ahead of the real one on the path says it."""
    dist = tmp_path / "llmd_doctor-0.1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: llmd-doctor\nVersion: 0.1.0\n"
                                   "Project-URL: Source, https://src.test/llmd-doctor\n"
                                   "Project-URL: Documentation, https://docs.test/checks\n")
    env = {**os.environ, "PYTHONPATH": str(tmp_path)}
    out = subprocess.run([sys.executable, "-m", "llmd_doctor", "explain", "epp.logs", "-o", "json"],
                         capture_output=True, text=True, env=env, check=True, cwd=tmp_path).stdout
    assert json.loads(out)["docs"] == "llmd-doctor explain epp.logs (https://docs.test/checks#epp-logs)"
    (tmp_path / ".llmd-doctor.yaml").write_text("docsUrl: https://cfg.test/page\n")  # the config file wins
    out = subprocess.run([sys.executable, "-m", "llmd_doctor", "explain", "epp.logs", "-o", "json"],
                         capture_output=True, text=True, env=env, check=True, cwd=tmp_path).stdout
    assert json.loads(out)["docs"] == "llmd-doctor explain epp.logs (https://cfg.test/page#epp-logs)"
    assert docsref.package_docs_url() is None  # this test process sees the real metadata: no docs site


def test_a_plugin_checks_own_docs_url_is_kept() -> None:
    assert docsref.is_own_reference("docs/checks.md#epp-logs") and docsref.is_own_reference("")
    assert docsref.is_own_reference("llmd-doctor explain epp.logs")
    assert not docsref.is_own_reference("https://plugins.test/docs#model-label")
