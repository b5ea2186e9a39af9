"""The command line. Thin: parse flags, call `run.diagnose`, render, exit with the spec's codes.

Heavy imports (the kubernetes client, jinja2, httpx) happen inside commands, never at import
time, so `--help` and `--version` stay fast. One module per command registers itself on `app`.
"""

from llmd_doctor.cli import check, collect, explain, list_checks, report  # noqa: F401  (register the commands)
from llmd_doctor.cli.app import app
from llmd_doctor.cli.complete import kubectl_complete
from llmd_doctor.cli.main import main

__all__ = ["app", "kubectl_complete", "main"]
