"""`llmd-doctor explain ID`: a check's documentation, offline, from the installed package.

The entry is llmd_doctor.docgen's, the same text as docs/checks.md: what the check reads and why it
matters, its prerequisites, the capabilities it protects, each known cause with its fix, the fix.
"""

from __future__ import annotations

import json
import sys
from typing import Annotated

import typer

from llmd_doctor.cli.app import ChecksDirOpt, ConfigOpt, app, load_config
from llmd_doctor.cli.complete import single_check_ids
from llmd_doctor.cli.output import choose_format, output_option

EXPLAIN_FORMATS = ("text", "json", "markdown")


@app.command()
def explain(
    check_ids: Annotated[list[str], typer.Argument(
        metavar="ID...", autocompletion=single_check_ids, show_default=False,
        help="Check ids or globs (e.g. epp.logs, 'epp.*'); see `list-checks`.")],
    output: Annotated[str | None, output_option(EXPLAIN_FORMATS, "text")] = None,
    checks_dir: ChecksDirOpt = None,
    config: ConfigOpt = None,
) -> None:
    """Explain checks: what each reads and why it matters, its known causes and their fixes (offline)."""
    from llmd_doctor import docgen, docsref
    from llmd_doctor.errors import UsageError
    from llmd_doctor.registry import RegistryError, load_specs, select

    fmt = choose_format(output, None, "text", EXPLAIN_FORMATS)
    base = docsref.base_url(load_config(config).docs_url)
    try:
        catalog = load_specs(checks_dir or [])
        chosen = select(catalog, only=check_ids)
    except RegistryError as e:
        raise UsageError(str(e)) from e
    found = [docgen.entry(s, catalog) for s in chosen]
    if fmt == "json":
        docs = [docgen.entry_dict(e, base) for e in found]
        one = len(check_ids) == 1 and len(docs) == 1
        sys.stdout.write(json.dumps(docs[0] if one else docs, indent=2, ensure_ascii=False) + "\n")
    elif fmt == "markdown":
        sys.stdout.write("\n\n".join(docgen.entry_markdown(e) for e in found) + "\n")
    else:
        width = min(typer.get_terminal_size()[0], 100) if sys.stdout.isatty() else 100
        sys.stdout.write("\n".join(docgen.entry_text(e, width, base) for e in found))
