"""Jinja2 for the Markdown and HTML reports: the environments, their filters, template loading.

Built-in templates ship in the `llmd_doctor.templates` package (the top-level `templates/`) and
are read with importlib.resources. `--template PATH` renders a user's file instead; it can reuse
the built-ins with `{% extends "builtin/report.md.j2" %}` and override their blocks. jinja2 is
imported here only, and only when a report is rendered (`--help` must not import it).
"""

from __future__ import annotations

import re
from importlib import resources
from pathlib import Path
from typing import Any

_CODE_SPAN = re.compile(r"(`+)(.+?)\1")
_MD_SPECIAL = re.compile(r"([\\*\[\]<])|(?<![A-Za-z0-9])_|_(?![A-Za-z0-9])")
_FENCE_LINE = re.compile(r"^\s*(`{3,}|~{3,})")


class TemplateError(Exception):
    """A template could not be found, parsed or rendered (one line, for a usage error)."""


# ---- Markdown filters -------------------------------------------------------------------------


def _escape_md(text: str) -> str:
    return _MD_SPECIAL.sub(lambda m: "\\" + m.group(0), text)


def md_inline(value: Any) -> str:
    """Text for a Markdown paragraph or list item: one line, markup characters escaped outside
    the `code spans` the text already has (remediations use them for commands)."""
    text = " ".join(str(value).split())
    out, pos = [], 0
    for m in _CODE_SPAN.finditer(text):
        out.append(_escape_md(text[pos:m.start()]))
        out.append(m.group(0))
        pos = m.end()
    out.append(_escape_md(text[pos:]))
    return "".join(out)


def md_cell(value: Any) -> str:
    """Text for a Markdown table cell: like md_inline, and `|` escaped."""
    return md_inline(value).replace("|", "\\|")


def md_code(value: Any) -> str:
    """An inline code span that survives backticks in the text."""
    text = " ".join(str(value).split())
    longest = max((len(m) for m in re.findall(r"`+", text)), default=0)
    ticks = "`" * (longest + 1)
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{ticks}{pad}{text}{pad}{ticks}"


def md_fence(value: Any, lang: str = "") -> str:
    """A fenced code block; the fence is longer than any backtick run inside."""
    text = "\n".join(value) if isinstance(value, list | tuple) else str(value)
    longest = max((len(m) for m in re.findall(r"`{3,}", text)), default=2)
    fence = "`" * max(3, longest + 1)
    return f"{fence}{lang}\n{text.rstrip()}\n{fence}"


def normalize_markdown(text: str) -> str:
    """No trailing spaces, at most one blank line in a row (outside code fences), one final newline."""
    out: list[str] = []
    fence: str | None = None
    for line in text.splitlines():
        m = _FENCE_LINE.match(line)
        if fence is None:
            line = line.rstrip()
            if m:
                fence = m.group(1)[0] * len(m.group(1))
            elif not line and (not out or not out[-1]):
                continue
        elif m and line.strip() == fence:
            fence = None
        out.append(line)
    while out and not out[-1]:
        out.pop()
    return "\n".join(out) + "\n"


# ---- HTML filters -----------------------------------------------------------------------------


def html_inline(value: Any) -> Any:
    """Escaped text whose `code spans` become <code> elements."""
    from markupsafe import Markup, escape

    text = str(value)
    out, pos = [], 0
    for m in _CODE_SPAN.finditer(text):
        out.append(str(escape(text[pos:m.start()])))
        out.append(f"<code>{escape(m.group(2))}</code>")
        pos = m.end()
    out.append(str(escape(text[pos:])))
    return Markup("".join(out))


# ---- environments -----------------------------------------------------------------------------


def _builtin_source(name: str) -> str | None:
    try:
        return resources.files("llmd_doctor.templates").joinpath(name).read_text(encoding="utf-8")
    except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
        return None


def _environment(autoescape: bool, user_dir: Path | None) -> Any:
    import jinja2

    builtin = jinja2.FunctionLoader(lambda name: (src, None, lambda: True) if (src := _builtin_source(name)) else None)
    loaders: list[Any] = []
    if user_dir is not None:
        loaders.append(jinja2.FileSystemLoader(str(user_dir)))
    loaders += [jinja2.PrefixLoader({"builtin": builtin}), builtin]
    env = jinja2.Environment(
        loader=jinja2.ChoiceLoader(loaders),
        autoescape=autoescape,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        undefined=jinja2.StrictUndefined,
    )
    env.filters.update(md=md_inline, md_cell=md_cell, code=md_code, fence=md_fence, inline=html_inline)
    return env


def render_template(name: str, context: dict[str, Any], *, autoescape: bool, path: str | None = None) -> str:
    """Render the built-in template `name`, or the user's template at `path`."""
    import jinja2

    user_dir = None
    if path is not None:
        p = Path(path)
        if not p.is_file():
            raise TemplateError(f"template not found: {path}")
        user_dir, name = p.resolve().parent, p.name
    env = _environment(autoescape, user_dir)
    try:
        return env.get_template(name).render(**context)
    except jinja2.TemplateSyntaxError as e:
        raise TemplateError(f"template {e.filename or name}, line {e.lineno}: {e.message}") from e
    except jinja2.TemplateNotFound as e:
        raise TemplateError(f"template not found: {e.name}") from e
    except jinja2.UndefinedError as e:
        raise TemplateError(f"template {name}: {e.message}") from e
