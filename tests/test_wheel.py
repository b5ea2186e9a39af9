"""The built wheel, installed in a fresh virtualenv, explains checks offline from a directory that is
not the repository: the check docs ship in the package (no docs/ folder is needed), and what it
prints is the text of docs/checks.md."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import venv
from importlib.metadata import version
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# What the wheel is built from (pyproject.toml's package-dir); nothing else of the repository.
SOURCES = ("pyproject.toml", "README.md", "src", "checks", "templates")


def _build_wheel(tmp: Path) -> Path:
    """`pip wheel . -w dist --no-deps` on a copy of the sources (so no build/ or egg-info lands in the
    working tree). Offline with --no-build-isolation when this environment's setuptools can build it
    (the test extras pin one that can), else pip fetches the build backend."""
    src = tmp / "src-copy"
    src.mkdir(parents=True)
    for name in SOURCES:
        if (ROOT / name).is_dir():
            shutil.copytree(ROOT / name, src / name, ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
        else:
            shutil.copy(ROOT / name, src / name)
    major, minor = (int(p) for p in version("setuptools").split(".")[:2])
    offline = ["--no-build-isolation"] if (major, minor) >= (70, 1) else []  # 70.1 builds wheels itself
    subprocess.run([sys.executable, "-m", "pip", "wheel", str(src), "-w", str(tmp / "dist"), "--no-deps", "-q",
                    *offline], check=True, capture_output=True, text=True, timeout=300)
    return next((tmp / "dist").glob("llmd_doctor-*.whl"))


def _install(tmp: Path) -> Path:
    """A fresh virtualenv with the wheel installed (--no-index: nothing is downloaded). Its
    dependencies (typer, pyyaml, ...) come from this environment's site-packages through a .pth
    line: a plain path entry, so this environment's editable llmd_doctor (a .pth *hook* there) is
    not loaded and `llmd_doctor` can only come from the wheel."""
    wheel = _build_wheel(tmp)
    env_dir = tmp / "venv"
    venv.create(env_dir, with_pip=False)
    py = env_dir / "bin" / "python"
    subprocess.run([sys.executable, "-m", "pip", "--python", str(py), "install", "--no-deps", "--no-index", "-q",
                    str(wheel)], check=True, capture_output=True, text=True, timeout=300)
    site = Path(subprocess.run([py, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                               capture_output=True, text=True, check=True).stdout.strip())
    (site / "_llmd_doctor_test_deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    return env_dir


def run(env_dir: Path, *argv: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {"PATH": f"{env_dir / 'bin'}{os.pathsep}/usr/bin:/bin", "HOME": str(cwd), "NO_COLOR": "1",
           "PIP_NO_INDEX": "1", "LANG": "C.UTF-8"}
    return subprocess.run(list(argv), capture_output=True, text=True, env=env, cwd=cwd, timeout=120)


def test_explain_from_the_installed_wheel_offline(tmp_path: Path) -> None:
    """One test, not two sharing a module fixture: under pytest-xdist each worker would build its own wheel."""
    installed = _install(tmp_path / "build")
    tmp_path = tmp_path / "elsewhere"
    tmp_path.mkdir()
    where = run(installed, "python", "-c", "import llmd_doctor; print(llmd_doctor.__file__)", cwd=tmp_path)
    assert where.stdout.startswith(str(installed)), where  # the wheel's copy, not the repository's
    res = run(installed, "llmd-doctor", "explain", "epp.logs", cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    assert res.stdout.startswith("epp.logs — Endpoint picker logs")
    assert "NewSchedulerWithConfig" in res.stdout and "Known causes (" in res.stdout  # package data shipped
    md = run(installed, "llmd-doctor", "explain", "epp.logs", "-o", "markdown", cwd=tmp_path)
    assert md.stdout.strip() in (ROOT / "docs" / "checks.md").read_text()  # one text with the page
    probe = run(installed, "python", "-c",
                "import sys\nfrom llmd_doctor.cli import main\ntry:\n    main(['explain', 'epp.logs'])\n"
                "except SystemExit:\n    pass\n"
                "print([m for m in sys.modules if m.split('.')[0] in ('kubernetes', 'httpx', 'urllib3')])",
                cwd=tmp_path)
    assert probe.stdout.strip().splitlines()[-1] == "[]"  # nothing that could reach a network
    # Every docs reference a run prints can be followed with the installed tool.
    res = run(installed, "llmd-doctor", "check", "--bundle", str(ROOT / "examples" / "seed-rosa-epp-segfault"),
              cwd=tmp_path)
    assert res.returncode == 1 and "docs: llmd-doctor explain epp.config" in res.stdout
    assert "docs/checks.md" not in res.stdout
    referenced = sorted({line.split("docs: llmd-doctor explain ", 1)[1].strip()
                         for line in res.stdout.splitlines() if "docs: llmd-doctor explain " in line})
    followed = run(installed, "llmd-doctor", "explain", *referenced, "-o", "json", cwd=tmp_path)
    assert followed.returncode == 0, followed.stderr
    assert sorted(e["id"] for e in json.loads(followed.stdout)) == referenced and "epp.config" in referenced
    plugin = run(installed, "kubectl_complete-llmd_doctor", "explain", "epp.lo", cwd=tmp_path)
    assert plugin.stdout.splitlines() == ["epp.logs\tEndpoint picker logs", ":4"]
