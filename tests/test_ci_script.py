""".ci/run: it reads the README's commands, times the test command and fails on any non-zero exit
(pytest's 5, "no tests collected", included). Its own bash, run on stand-in commands."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CI = (ROOT / ".ci" / "run").read_text()


def readme_command(marker: str) -> str:
    """The README line .ci/run would run, through .ci/run's own readme_command function."""
    fn = re.search(r"^readme_command\(\) \{.*?^\}", CI, re.S | re.M)
    assert fn, ".ci/run lost readme_command"
    script = f"cd {ROOT}\n{fn.group(0)}\nreadme_command {marker}\n"
    return subprocess.run(["bash", "-c", script], capture_output=True, text=True, check=True).stdout.strip()


def run_timed(test_cmd: str) -> subprocess.CompletedProcess[str]:
    """.ci/run's last part (from the test command's banner on) with `test_cmd` in place of the README's."""
    tail = CI[CI.index('echo "== README test command'):]
    script = f"set -euo pipefail\ntest_cmd={test_cmd!r}\n{tail}"
    return subprocess.run(["bash", "-c", script], capture_output=True, text=True, timeout=60)


def test_the_readme_test_command_runs_the_suite_in_parallel() -> None:
    cmd = readme_command("ci:test")
    assert cmd == "pip install -e '.[test]' && python -m pytest -q -n auto"
    extras = (ROOT / "pyproject.toml").read_text().split("[project.optional-dependencies]", 1)[1]
    assert '"pytest-xdist' in extras.split("]", 1)[0]  # -n needs the plugin from the test extras
    assert readme_command("ci:run").startswith("pip install . && llmd-doctor check --bundle ")


def test_the_test_command_is_timed_and_its_exit_code_kept() -> None:
    ok = run_timed("echo '3 passed in 0.1s'")
    assert ok.returncode == 0
    assert re.search(r"^== README test command took \d+s \(\d+m\d+s\) on \d+ cores; load average before: "
                     r"\S+ \S+ \S+, after: \S+ \S+ \S+; exit 0$", ok.stdout, re.M), ok.stdout
    failed = run_timed("exit 1")
    assert failed.returncode == 1 and "exit 1" in failed.stdout


def test_no_tests_collected_fails_ci() -> None:
    res = run_timed("echo 'no tests ran in 0.01s'; exit 5")
    assert res.returncode == 5 and "ran no test (pytest exit 5)" in res.stderr and "; exit 5" in res.stdout
