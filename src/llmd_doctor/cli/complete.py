"""Shell completion: check ids, kubeconfig contexts, namespaces; and kubectl's plugin completion.

The value completers are Typer `autocompletion` callbacks, used by `--install-completion` shells and
by `kubectl_complete-llmd_doctor`, the executable kubectl (>= 1.26) runs to complete
`kubectl llmd-doctor ...`: it is called with the plugin's arguments and the word being completed
last (possibly empty), and prints one candidate a line (`value<TAB>description`) and then Cobra's
directive line `:<n>` (https://github.com/kubernetes/kubectl/blob/master/pkg/cmd/plugin/plugin_completion.go).

Completion never fails loudly: any error gives no candidates, never a traceback.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import click

# Cobra's ShellCompDirective values (spf13/cobra completions.go).
DIRECTIVE_DEFAULT = 0  # let the shell complete file names
DIRECTIVE_NO_FILE = 4  # only the candidates given
NAMESPACE_TIMEOUT_S = 2.0
# Options whose value is a path: kubectl's shell completes file names for them.
_PATH_OPTIONS = {"--bundle", "-b", "--kubeconfig", "--config", "--file", "--checks-dir", "--junit", "--template"}


def _param(ctx: click.Context, name: str) -> Any:
    """A value given earlier on the command line (completion parses resiliently; may be absent)."""
    value = (ctx.params or {}).get(name)
    return value or None


def _split_last(incomplete: str) -> tuple[str, str]:
    """`a,b,c` -> (`a,b,`, `c`): repeatable comma-separated values complete their last item."""
    head, sep, last = incomplete.rpartition(",")
    return head + sep, last


def check_ids(ctx: click.Context, incomplete: str) -> list[tuple[str, str]]:
    """Check ids and area globs (`epp.*`) for --only, --skip and explain."""
    try:
        from llmd_doctor.registry import load_specs

        dirs = _param(ctx, "checks_dir") or []
        specs = load_specs(dirs)
    except Exception:
        return []
    head, last = _split_last(incomplete)
    out = [(head + s.id, s.title) for s in specs if s.id.startswith(last)]
    prefixes = sorted({s.id.split(".", 1)[0] for s in specs if "." in s.id})
    out += [(f"{head}{p}.*", f"every {p} check") for p in prefixes if f"{p}.*".startswith(last)]
    return out


def single_check_ids(ctx: click.Context, incomplete: str) -> list[tuple[str, str]]:
    """Check ids for `explain` (one per argument)."""
    return [(v, h) for v, h in check_ids(ctx, incomplete) if "," not in v]


def kubeconfig_files(flag: str | None) -> list[Path]:
    """The files kubectl would read: --kubeconfig, else $KUBECONFIG (a path list), else ~/.kube/config."""
    if flag:
        return [Path(flag).expanduser()]
    env = os.environ.get("KUBECONFIG")
    if env:
        return [Path(p).expanduser() for p in env.split(os.pathsep) if p]
    return [Path.home() / ".kube" / "config"]


def kubeconfig_contexts(flag: str | None = None) -> list[tuple[str, str]]:
    """(name, description) of every context in the kubeconfig files, first definition winning,
    read with pyyaml (no kubernetes client import)."""
    import yaml

    seen: dict[str, str] = {}
    for path in kubeconfig_files(flag):
        try:
            doc = yaml.safe_load(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, yaml.YAMLError):
            continue
        entries = doc.get("contexts") if isinstance(doc, dict) else None
        for c in entries if isinstance(entries, list) else []:
            if not isinstance(c, dict) or not isinstance(c.get("name"), str) or c["name"] in seen:
                continue
            body = c.get("context") if isinstance(c.get("context"), dict) else {}
            about = ", ".join(f"{k} {body[k]}" for k in ("cluster", "namespace") if isinstance(body.get(k), str))
            seen[c["name"]] = about
    return list(seen.items())


def contexts(ctx: click.Context, incomplete: str) -> list[tuple[str, str]]:
    try:
        return [(n, about) for n, about in kubeconfig_contexts(_param(ctx, "kubeconfig")) if n.startswith(incomplete)]
    except Exception:
        return []


def list_namespaces(kubeconfig: str | None, context: str | None, timeout: float = NAMESPACE_TIMEOUT_S) -> list[str]:
    """Namespace names from the cluster: one LIST, short timeout, no retries."""
    from llmd_doctor.sources.kubeclient import KubeClient

    client = KubeClient(kubeconfig, context, request_timeout=timeout, retries=0, deadline=timeout)
    resp = client.get("/api/v1/namespaces", [("limit", 1000)])
    if resp.status != 200:
        return []
    items = resp.obj().get("items") or []
    return sorted(str((i.get("metadata") or {}).get("name")) for i in items if isinstance(i, dict))


def namespaces(ctx: click.Context, incomplete: str) -> list[str]:
    head, last = _split_last(incomplete)
    try:
        names = list_namespaces(_param(ctx, "kubeconfig"), _param(ctx, "context"))
    except BaseException:  # unreachable, forbidden, no kubeconfig, Ctrl-C: no candidates, no traceback
        return []
    return [head + n for n in names if n.startswith(last)]


# ---- kubectl plugin completion ------------------------------------------------------------------


def plugin_completions(args: list[str]) -> tuple[list[str], int]:
    """Candidates (`value` or `value<TAB>help`) and the Cobra directive for `kubectl llmd-doctor <args>`,
    the last argument being the word to complete."""
    from click.shell_completion import ShellComplete
    from typer.main import get_command

    from llmd_doctor.cli.app import app

    words, incomplete = (args[:-1], args[-1]) if args else ([], "")
    if words and words[-1] in _PATH_OPTIONS | ({"-o", "--output"} if "collect" in words else set()):
        return [], DIRECTIVE_DEFAULT
    if incomplete.startswith("--") and "=" in incomplete and incomplete.split("=", 1)[0] in _PATH_OPTIONS:
        return [], DIRECTIVE_DEFAULT
    comp = ShellComplete(get_command(app), {}, "kubectl llmd-doctor", "_LLMD_DOCTOR_COMPLETE")
    items = comp.get_completions(words, incomplete)
    lines = [f"{i.value}\t{i.help}" if i.help else str(i.value) for i in items]
    return lines, DIRECTIVE_NO_FILE


def kubectl_complete(argv: list[str] | None = None) -> None:
    """The `kubectl_complete-llmd_doctor` console script."""
    args = sys.argv[1:] if argv is None else argv
    try:
        lines, directive = plugin_completions(args)
    except Exception:
        lines, directive = [], DIRECTIVE_NO_FILE
    sys.stdout.write("".join(f"{line}\n" for line in lines) + f":{directive}\n")
    raise SystemExit(0)
