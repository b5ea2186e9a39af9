"""Shell completion: check ids (--only, --skip, explain), kubeconfig contexts (read without the
kubernetes client), namespaces (one LIST against the real API path), output formats; and the
`kubectl_complete-llmd_doctor` protocol: one candidate a line, then Cobra's `:<directive>`."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import click
import pytest
import yaml
from fakeapi import FakeApiServer
from fakeapi.server import Fault
from typer.main import get_command

from llmd_doctor.cli import app
from llmd_doctor.cli.complete import (
    DIRECTIVE_DEFAULT,
    DIRECTIVE_NO_FILE,
    kubeconfig_contexts,
    kubectl_complete,
    plugin_completions,
)

ROOT = Path(__file__).resolve().parents[1]
SEED = ROOT / "examples" / "seed-rosa-epp-segfault"


def complete(*words: str) -> tuple[list[str], int]:
    """What kubectl would get for `kubectl llmd-doctor <words...>` (the last word is being completed)."""
    return plugin_completions(list(words))


def values(*words: str) -> list[str]:
    return [line.split("\t", 1)[0] for line in complete(*words)[0]]


def write_kubeconfig(path: Path, contexts: dict[str, str], current: str | None = None) -> str:
    doc = {"apiVersion": "v1", "kind": "Config",
           "clusters": [{"name": c, "cluster": {"server": "https://127.0.0.1:1"}} for c in set(contexts.values())],
           "users": [{"name": "u", "user": {"token": "t"}}],
           "contexts": [{"name": n, "context": {"cluster": c, "user": "u", "namespace": "llm-d"}}
                        for n, c in contexts.items()],
           "current-context": current or next(iter(contexts))}
    path.write_text(yaml.safe_dump(doc))
    return str(path)


# ---- check ids -------------------------------------------------------------------------------------------


def test_check_ids_and_area_globs() -> None:
    assert values("check", "--only", "epp.") == ["epp.deployment", "epp.logs", "epp.config", "epp.*"]
    assert values("report", "--skip", "e2e.c") == ["e2e.chat-completion"]
    assert values("check", "--only", "epp.logs,inferencepool.s") == ["epp.logs,inferencepool.status",
                                                                      "epp.logs,inferencepool.selector"]
    assert values("explain", "rbac") == ["rbac.epp", "rbac.*"]
    lines, directive = complete("explain", "epp.l")
    assert lines == ["epp.logs\tEndpoint picker logs"] and directive == DIRECTIVE_NO_FILE


def test_check_ids_include_a_checks_dir() -> None:
    plugin = ROOT / "examples" / "plugin" / "llmd_doctor_example_plugin"
    assert values("check", "--checks-dir", str(plugin), "--only", "example.") == ["example.model-label", "example.*"]


# ---- commands, options, formats, paths -----------------------------------------------------------------------


def test_commands_options_and_formats() -> None:
    assert values("") == ["check", "collect", "explain", "list-checks", "report"]
    assert {"--only", "--output", "--file", "--quiet", "--color", "--timeout"} <= set(values("check", "--"))
    assert values("check", "-o", "") == ["text", "json", "markdown", "html", "junit"]
    assert values("report", "--format", "h") == ["html"]
    assert values("list-checks", "-o", "") == ["text", "wide", "name", "json", "yaml"]
    assert values("check", "--color", "") == ["auto", "always", "never"]


@pytest.mark.parametrize("words", [("check", "--bundle", ""), ("report", "--file", "st"), ("check", "--kubeconfig", ""),
                                   ("collect", "-o", "b"), ("check", "--config=./x")])
def test_path_options_let_the_shell_complete_file_names(words: tuple[str, ...]) -> None:
    assert complete(*words) == ([], DIRECTIVE_DEFAULT)


# ---- contexts ------------------------------------------------------------------------------------------------


def test_contexts_from_every_kubeconfig_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    a = write_kubeconfig(tmp_path / "a", {"rosa-prod": "rosa", "kind-llm-d": "kind"})
    b = write_kubeconfig(tmp_path / "b", {"rosa-prod": "other", "gke-dev": "gke"})
    (tmp_path / "broken").write_text("contexts: [1, {name: 2}, {context: x}]\n: not yaml :\n")
    monkeypatch.setenv("KUBECONFIG", os.pathsep.join([a, str(tmp_path / "missing"), str(tmp_path / "broken"), b]))
    assert values("check", "--context", "") == ["rosa-prod", "kind-llm-d", "gke-dev"]  # first definition wins
    lines, directive = complete("check", "--context", "ro")
    assert lines == ["rosa-prod\tcluster rosa, namespace llm-d"] and directive == DIRECTIVE_NO_FILE
    # --kubeconfig earlier on the line is the only file read.
    assert values("check", "--kubeconfig", b, "--context", "") == ["rosa-prod", "gke-dev"]


def test_contexts_from_home_and_none_without_a_kubeconfig(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    assert kubeconfig_contexts() == []
    (tmp_path / ".kube").mkdir()
    write_kubeconfig(tmp_path / ".kube" / "config", {"home-ctx": "c"})
    assert values("collect", "--context", "h") == ["home-ctx"]


def test_context_completion_does_not_import_the_kubernetes_client(tmp_path: Path) -> None:
    kc = write_kubeconfig(tmp_path / "k", {"rosa-prod": "rosa"})
    code = ("import sys\nfrom llmd_doctor.cli.complete import plugin_completions\n"
            f"print(plugin_completions(['check', '--kubeconfig', {kc!r}, '--context', '']))\n"
            "print([m for m in sys.modules if m.split('.')[0] in ('kubernetes', 'urllib3')])\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.splitlines()
    assert out == ["(['rosa-prod\\tcluster rosa, namespace llm-d'], 4)", "[]"]


# ---- namespaces: a LIST through the kubeconfig --------------------------------------------------------------


def test_namespaces_from_the_cluster(tmp_path: Path) -> None:
    with FakeApiServer(SEED) as srv:
        kc = srv.kubeconfig(tmp_path / "k", context="rosa-prod")
        names = values("check", "--kubeconfig", kc, "-n", "")
        some = values("check", "--kubeconfig", kc, "--context", "rosa-prod", "--namespace", "default,ll")
        listed = [(r.method, r.path, r.user_agent) for r in srv.requests]
    assert "llm-d" in names and names == sorted(names)
    assert some == ["default,llm-d"]
    assert {(m, p) for m, p, _ in listed} == {("GET", "/api/v1/namespaces")}  # read-only, one kind
    assert all(ua.startswith("llmd-doctor/") for _, _, ua in listed)


def test_namespaces_forbidden_or_unreachable_give_no_candidates(tmp_path: Path) -> None:
    with FakeApiServer(SEED, rbac=True) as srv:
        kc = srv.kubeconfig(tmp_path / "k", token="nobody")  # 401: unknown token
        assert complete("check", "--kubeconfig", kc, "-n", "") == ([], DIRECTIVE_NO_FILE)
    with FakeApiServer(SEED, fault=lambda m, p, q: Fault(delay_s=30.0)) as srv:  # never answers in time
        assert complete("check", "--kubeconfig", srv.kubeconfig(tmp_path / "h"), "-n", "") == ([], DIRECTIVE_NO_FILE)
    assert complete("check", "--kubeconfig", str(tmp_path / "missing"), "-n", "") == ([], DIRECTIVE_NO_FILE)
    (tmp_path / "bad").write_text("{")
    assert complete("check", "--kubeconfig", str(tmp_path / "bad"), "-n", "") == ([], DIRECTIVE_NO_FILE)


# ---- the console script, as kubectl runs it -------------------------------------------------------------------


def test_kubectl_complete_prints_candidates_then_the_directive(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        kubectl_complete(["check", "--only", "epp.c"])
    assert exc.value.code == 0
    assert capsys.readouterr().out == "epp.config\tEndpoint picker flags and config\n:4\n"
    with pytest.raises(SystemExit):
        kubectl_complete([])  # kubectl always passes the word being completed; nothing at all is no error
    assert capsys.readouterr().out.splitlines()[-1] == ":4"


def test_kubectl_complete_never_prints_a_traceback(tmp_path: Path) -> None:
    script = Path(sys.executable).parent / "kubectl_complete-llmd_doctor"
    if not script.exists():
        pytest.skip("the package is not installed as a script")
    for words in (["check", "--nope", ""], ["check", "-n", ""], ["explain", "--checks-dir", "/no/dir", "x"],
                  ["check", "--checks-dir", str(tmp_path), "--only", ""]):
        env = {**os.environ, "HOME": str(tmp_path), "KUBECONFIG": str(tmp_path / "none")}
        res = subprocess.run([script, *words], capture_output=True, text=True, env=env, timeout=60)
        assert res.returncode == 0 and res.stderr == "" and res.stdout.splitlines()[-1].startswith(":"), words


def test_typer_shell_completion_uses_the_same_completers(monkeypatch: pytest.MonkeyPatch) -> None:
    """`llmd-doctor --install-completion` shells call the same callbacks through click."""
    from click.shell_completion import ShellComplete

    cmd: click.Command = get_command(app)
    items = ShellComplete(cmd, {}, "llmd-doctor", "_LLMD_DOCTOR_COMPLETE").get_completions(["explain"], "epp.con")
    assert [i.value for i in items] == ["epp.config"]
