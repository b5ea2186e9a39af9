"""Third-party checks: the example plugin is found through --checks-dir and through its entry point."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from llmd_doctor.cli import main

ROOT = Path(__file__).resolve().parents[1]
PLUGIN = ROOT / "examples" / "plugin"
HEALTHY = str(ROOT / "examples" / "healthy")


def test_checks_dir_loads_the_example(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["check", "--bundle", HEALTHY, "--checks-dir", str(PLUGIN / "llmd_doctor_example_plugin"),
              "-o", "json", "--only", "example.*"])
    doc = json.loads(capsys.readouterr().out)
    (result,) = doc["checks"]
    assert result["id"] == "example.model-label" and result["status"] == "pass"
    assert result["objects"] == [] or all(o.startswith("Pod/llm-d/") for o in result["objects"])


def test_checks_dir_result_shows_in_text(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["check", "--bundle", HEALTHY, "--checks-dir", str(PLUGIN / "llmd_doctor_example_plugin"), "-v"])
    assert "example.model-label" in capsys.readouterr().out


def test_broken_checks_dir_is_a_usage_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "bad.py").write_text("raise RuntimeError('boom')\n")
    with pytest.raises(SystemExit) as exc:
        main(["check", "--bundle", HEALTHY, "--checks-dir", str(tmp_path)])
    assert exc.value.code == 2
    assert "failed to import: RuntimeError: boom" in capsys.readouterr().err


def test_entry_point_discovery(tmp_path: Path) -> None:
    """An installed distribution advertising `llmd_doctor.checks` is loaded without any flag."""
    dist = tmp_path / "llmd_doctor_example_plugin-0.1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: llmd-doctor-example-plugin\nVersion: 0.1.0\n")
    (dist / "entry_points.txt").write_text("[llmd_doctor.checks]\nexample = llmd_doctor_example_plugin.checks\n")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path), str(PLUGIN)]), "NO_COLOR": "1"}
    out = subprocess.run([sys.executable, "-m", "llmd_doctor", "list-checks"], capture_output=True, text=True,
                         env=env, check=True).stdout
    assert "example.model-label" in out


@pytest.mark.parametrize("fmt", ["markdown", "html", "json", "junit"])
def test_plugin_result_shows_in_every_report_format(fmt: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["report", "--bundle", HEALTHY, "--checks-dir", str(PLUGIN / "llmd_doctor_example_plugin"),
              "--format", fmt])
    out = capsys.readouterr().out
    assert "example.model-label" in out or "Model servers carry a model label" in out
