"""The config file: parsing with one-line errors, and suppressions that mute and expire."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from scenario import Scenario

from llmd_doctor.config import ConfigError, apply_suppressions, load, parse

CONFIG = """
namespaces: [llm-d]
context: rosa-prod
failOn: warn
skip: [e2e.*]
expect:
  replicas: {Deployment/llm-d/ms-llm-d-modelservice-decode: 3}
suppress:
  - check: epp.*
    object: Pod/llm-d/ms-llm-d-epp-*
    reason: EPP crash tracked in JIRA-123
    expires: 2026-12-31
  - check: epp.deployment
    reason: an old one
    expires: 2026-01-01
"""


def test_found_in_the_working_directory(tmp_path: Path) -> None:
    (tmp_path / ".llmd-doctor.yaml").write_text(CONFIG)
    cfg = load(cwd=tmp_path)
    assert cfg.namespaces == ["llm-d"] and cfg.context == "rosa-prod" and cfg.fail_on == "warn"
    assert cfg.skip == ["e2e.*"]
    assert cfg.expect["replicas"] == {"Deployment/llm-d/ms-llm-d-modelservice-decode": 3}
    assert [s.check for s in cfg.suppress] == ["epp.*", "epp.deployment"]
    assert cfg.suppress[0].expires == date(2026, 12, 31)


def test_timeout_and_docs_url() -> None:
    cfg = parse({"timeout": "2m", "requestTimeout": "500ms", "docsUrl": "https://docs.test/checks.html"})
    assert (cfg.timeout, cfg.request_timeout, cfg.docs_url) == ("2m", "500ms", "https://docs.test/checks.html")
    assert parse({}).timeout is None and parse({}).docs_url is None


def test_no_file_is_an_empty_config(tmp_path: Path) -> None:
    assert load(cwd=tmp_path).suppress == []


@pytest.mark.parametrize(
    ("doc", "message"),
    [
        ({"namespace": "x"}, "unknown key(s) namespace"),
        ({"failOn": "maybe"}, "failOn must be warn, fail or never"),
        ({"suppress": [{"check": "epp.logs"}]}, "suppress[0].reason is required"),
        ({"suppress": [{"check": "epp.logs", "reason": "r", "expires": "soon"}]}, "must be a date"),
        ({"suppress": "epp.logs"}, "suppress must be a list"),
        ([1, 2], "the top level must be a mapping"),
        ({"timeout": "soon"}, "timeout must be a duration (e.g. 10s, 2m), not 'soon'"),
        ({"requestTimeout": 10}, "requestTimeout must be a string"),
        ({"docsUrl": "docs/checks.md"}, "docsUrl must be an http:// or https:// URL, not 'docs/checks.md'"),
    ],
)
def test_invalid_config_is_a_one_line_error(doc: object, message: str) -> None:
    with pytest.raises(ConfigError, match=None) as exc:
        parse(doc, "cfg.yaml")
    assert message in str(exc.value) and "\n" not in str(exc.value)


def test_unreadable_and_invalid_yaml(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read config"):
        load(str(tmp_path / "missing.yaml"))
    bad = tmp_path / "bad.yaml"
    bad.write_text("suppress: [\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load(str(bad))


def test_suppressions_mute_matching_results_and_expired_ones_warn() -> None:
    results = Scenario.example("seed-rosa-epp-segfault").run("epp.*")
    cfg = parse(__import__("yaml").safe_load(CONFIG))
    warnings = apply_suppressions(list(results.values()), cfg.suppress, today=date(2026, 11, 27))
    assert results["epp.logs"].suppressed == (
        "epp.* on Pod/llm-d/ms-llm-d-epp-* until 2026-12-31: EPP crash tracked in JIRA-123"
    )
    # epp.deployment's object is the Deployment, which the object glob does not match;
    # the second suppression would match it but has expired.
    assert results["epp.deployment"].suppressed is None
    assert warnings == ["suppression expired on 2026-01-01: epp.deployment until 2026-01-01: an old one"]
    assert results["cluster.access"].suppressed is None  # a pass is never muted


def test_expectations_check_compares_replicas_and_images() -> None:
    sc = Scenario.example("healthy")
    expect = {
        "replicas": {"Deployment/llm-d/ms-llm-d-modelservice-decode": 3, "Deployment/llm-d/missing": 1},
        "images": {"Deployment/llm-d/ms-llm-d-epp": "ghcr.io/llm-d/llm-d-inference-scheduler:v0.3.0"},
    }
    result = sc.run("config.expectations", options={"expect": expect})["config.expectations"]
    by_object = {f.object: (f.status.value, f.message) for f in result.findings}
    assert by_object["Deployment/llm-d/ms-llm-d-modelservice-decode"][0] == "pass"
    assert by_object["Deployment/llm-d/missing"] == ("fail", "Deployment/llm-d/missing is expected with 1 ready "
                                                     "replicas but does not exist")
    status, message = by_object["Deployment/llm-d/ms-llm-d-epp"]
    assert status == "fail" and "v0.2.1" in message and "v0.3.0 expected" in message
    assert result.status.value == "fail"
    assert sc.run("config.expectations")["config.expectations"].status.value == "skip"


SEED = str(Path(__file__).resolve().parents[1] / "examples" / "seed-rosa-epp-segfault")


def _cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    from llmd_doctor.cli import main

    with pytest.raises(SystemExit) as exc:
        main(list(argv))
    out, err = capsys.readouterr()
    return int(exc.value.code or 0), out, err


def test_cli_applies_the_config_file(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                     monkeypatch: pytest.MonkeyPatch) -> None:
    import json

    (tmp_path / ".llmd-doctor.yaml").write_text(
        "suppress:\n"
        "  - {check: 'epp.*', reason: EPP crash tracked in JIRA-123, expires: 2999-01-01}\n"
        "  - {check: httproute.backends, reason: routed to decode on purpose}\n"
        "  - {check: 'inferencepool.*', reason: pool unused until the EPP is fixed}\n"
        "  - {check: compat.versions, reason: old, expires: 2001-01-01}\n"
        "expect:\n  replicas: {Deployment/llm-d/ms-llm-d-modelservice-decode: 3}\n"
    )
    monkeypatch.chdir(tmp_path)
    code, out, err = _cli(capsys, "check", "--bundle", SEED, "-o", "json")
    doc = json.loads(out)
    checks = {c["id"]: c for c in doc["checks"]}
    assert checks["epp.logs"]["status"] == "fail"  # still visible, with its cause
    assert checks["epp.logs"]["suppressed"].endswith("EPP crash tracked in JIRA-123")
    assert checks["config.expectations"]["status"] == "pass"
    assert doc["summary"]["suppressed"] >= 3
    assert any("suppression expired on 2001-01-01" in w for w in doc["warnings"])
    # Every problem is muted, so the gate passes and the verdict is healthy.
    assert code == 0, [c["id"] for c in doc["checks"] if c["status"] in ("fail", "warn") and not c["suppressed"]]
    assert doc["summary"]["verdict"] == "healthy"
    # The text output shows the muted result with its reason.
    _, text, _ = _cli(capsys, "check", "--bundle", SEED)
    assert "[suppressed: epp.* until 2999-01-01: EPP crash tracked in JIRA-123]" in text


def test_cli_config_flag_and_invalid_config(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("failOn: maybe\n")
    code, out, err = _cli(capsys, "check", "--bundle", SEED, "--config", str(bad))
    assert code == 2 and out == "" and err.count("\n") == 1
    assert "failOn must be warn, fail or never" in err
    strict = tmp_path / "strict.yaml"
    strict.write_text("failOn: never\nonly: ['epp.*']\n")
    code, out, _ = _cli(capsys, "check", "--bundle", SEED, "--config", str(strict), "-o", "json")
    assert code == 0
    assert {c["id"] for c in __import__("json").loads(out)["checks"]} <= {"epp.deployment", "epp.logs", "epp.config",
                                                                         "cluster.access"}
