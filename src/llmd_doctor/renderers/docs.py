"""Docs references as the renderers show them: the `llmd-doctor explain` command and, when a docs base
URL is configured, the URL — both from `CheckSpec.docs` (filled by llmd_doctor.docsref), never a path
inside the source repository."""

from __future__ import annotations

from dataclasses import dataclass

from llmd_doctor import docsref
from llmd_doctor.model import CheckSpec


@dataclass(frozen=True)
class DocsLink:
    text: str  # the reference as one line: "llmd-doctor explain epp.logs (https://…#epp-logs)"
    command: str  # "llmd-doctor explain epp.logs", or "" for a plugin check that declares only a URL
    url: str  # "https://…#epp-logs", or ""

    def __bool__(self) -> bool:
        return bool(self.text)


def docs_link(spec: CheckSpec) -> DocsLink:
    """The check's docs reference. A report built without the CLI (which resolves the configured docs
    URL) may still carry the registry's default or an old `docs/checks.md#…` path: both become the
    `explain` command, which works wherever the tool is installed."""
    docs = spec.docs.strip()
    if docsref.is_own_reference(docs) and not docs.startswith(docsref.EXPLAIN):
        docs = docsref.reference(spec.id)
    if docs.startswith(docsref.EXPLAIN):
        command, _, rest = docs.partition(" (")
        url = rest.removesuffix(")").strip()
        return DocsLink(docs, command.strip(), url if docsref.is_url(url) else "")
    if docsref.is_url(docs):
        return DocsLink(docs, "", docs)
    return DocsLink(docs, "", "")
