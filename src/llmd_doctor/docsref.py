"""Docs references a user can follow from an installed tool, never a path in the source repository.

Every check is documented by `llmd-doctor explain <id>`, which prints its entry from the installed
package (llmd_doctor.docgen). When a docs base URL is configured (the config file's `docsUrl`, else
a `Documentation` entry of the package's Project-URLs), the URL `<base>#<anchor>` is given too.
Kept light: no import beyond the standard library, so the registry and the renderers can use it.
"""

from __future__ import annotations

from urllib.parse import urlsplit

EXPLAIN = "llmd-doctor explain"


def anchor(check_id: str) -> str:
    """The check's anchor in the catalog page: `epp.logs` -> `epp-logs`."""
    return check_id.replace(".", "-")


def is_url(text: str) -> bool:
    parts = urlsplit(text)
    return parts.scheme in ("http", "https") and bool(parts.netloc)


def package_docs_url() -> str | None:
    """The `Documentation` Project-URL of the installed distribution, if it declares one."""
    from importlib.metadata import PackageNotFoundError, metadata

    try:
        urls = metadata("llmd-doctor").get_all("Project-URL") or []
    except PackageNotFoundError:
        return None
    for entry in urls:
        label, _, url = entry.partition(",")
        if label.strip().lower() in ("documentation", "docs") and is_url(url.strip()):
            return url.strip()
    return None


def base_url(configured: str | None = None) -> str | None:
    """The docs base URL in force: the config file's `docsUrl`, else the package metadata's."""
    return configured or package_docs_url()


def url(check_id: str, base: str) -> str:
    """`<base>#<anchor>`: the check's entry in the catalog page published at `base`."""
    return f"{base.split('#', 1)[0]}#{anchor(check_id)}"


def reference(check_id: str, base: str | None = None) -> str:
    """`llmd-doctor explain epp.logs`, plus ` (<base>#epp-logs)` when a docs base URL is known."""
    ref = f"{EXPLAIN} {check_id}"
    return f"{ref} ({url(check_id, base)})" if base else ref


def is_own_reference(docs: str) -> bool:
    """True for what llmd-doctor itself fills in (empty, `docs/checks.md#…`, or an explain
    reference); False for a URL a plugin check declared, which is kept as it is."""
    return not docs or docs.startswith(("docs/checks.md", EXPLAIN))
