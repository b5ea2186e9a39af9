"""Where checks come from: the built-in modules, entry points, and `--checks-dir`.

A check is one module under `checks/<area>/` with one function decorated with `@check(...)`; the
registry collects them. Built-ins are an explicit tuple (like pre-commit's and httpie's
registries), in the order they are reported; third-party packages add modules through the
`llmd_doctor.checks` entry-point group. Areas are registry metadata: each built-in area package
(`checks/<area>/__init__.py`) names its id and title; a plugin may add its own with `area()`.
"""

from __future__ import annotations

import fnmatch
import importlib
import importlib.util
import sys
from collections.abc import Callable, Iterable
from pathlib import Path
from types import ModuleType
from typing import Any

from llmd_doctor.model import AccessFn, CheckFn, CheckSpec, LogsFn, Severity

ENTRY_POINT_GROUP = "llmd_doctor.checks"

# Area packages in report order, then every built-in check module in run order.
BUILTIN_AREAS: tuple[str, ...] = (
    "cluster", "gateway", "istio", "inference", "rbac", "model_servers", "epp", "compat", "config", "e2e", "runtime",
)
BUILTIN_MODULES: tuple[str, ...] = tuple(f"llmd_doctor.checks.{m}" for m in (
    "cluster.access",
    "cluster.scope",
    "gateway.crds",
    "inference.crds",
    "istio.control_plane",
    "istio.inference_extension",
    "istio.epp_destination_rule",
    "gateway.gateway_class",
    "gateway.programmed",
    "gateway.implementation",
    "gateway.route_status",
    "gateway.route_backends",
    "inference.pool_status",
    "inference.endpoint_picker",
    "inference.selector",
    "inference.model_refs",
    "rbac.epp",
    "model_servers.pods",
    "model_servers.gpu",
    "model_servers.config",
    "model_servers.logs",
    "epp.deployment",
    "epp.logs",
    "epp.config",
    "compat.versions",
    "config.expectations",
    "e2e.chat_completion",
    "e2e.models",
    "e2e.routing",
    "runtime.model_server_load", "runtime.epp_traffic", "runtime.gateway_access",
))

#: Area id -> title, from the built-in area packages and `area()` calls of plugins.
AREAS: dict[str, str] = {}


def area(id: str, title: str) -> None:
    """Declare an area (plugins: call at import time, before their checks are listed)."""
    AREAS.setdefault(id, title)


def area_title(id: str) -> str:
    _load_areas()
    return AREAS.get(id) or id.replace("-", " ").capitalize()


def _load_areas() -> None:
    if not AREAS:
        for pkg in BUILTIN_AREAS:
            mod = importlib.import_module(f"llmd_doctor.checks.{pkg}")
            area(mod.AREA, mod.TITLE)

_SPEC_ATTR = "__llmd_check_spec__"


class RegistryError(Exception):
    pass


def check(
    id: str,
    *,
    title: str,
    area: str,
    severity: Severity | str,
    inputs: Iterable[str] = (),
    requires: Iterable[str] = (),
    capabilities: Iterable[str] = (),
    remediation: str = "",
    docs: str = "",
    logs: LogsFn | None = None,
    access: AccessFn | None = None,
    explains: Iterable[str] = (),
    why: str = "",
    signatures: Iterable[str] = (),
) -> Callable[[CheckFn], CheckFn]:
    """Declare a check. The decorated function takes a CheckContext and yields Findings.

    `explains`: checks whose warn/fail on the same or related objects this check's failure explains
    (its symptoms, grouped under it as one problem). `why`: why it matters, for `explain`."""

    def wrap(fn: CheckFn) -> CheckFn:
        spec = CheckSpec(
            id=id,
            title=title,
            area=area,
            severity=Severity(severity),
            run=fn,
            inputs=tuple(inputs),
            requires=tuple(requires),
            capabilities=tuple(capabilities),
            remediation=remediation.strip(),
            docs=docs or f"llmd-doctor explain {id}",
            description=(fn.__doc__ or "").strip(),
            logs=logs,
            access=access,
            module=fn.__module__,
            explains=tuple(explains),
            why=" ".join(why.split()),
            signatures=tuple(signatures),
        )
        setattr(fn, _SPEC_ATTR, spec)
        return fn

    return wrap


def specs_in_module(module: ModuleType) -> list[CheckSpec]:
    return [v.__dict__[_SPEC_ATTR] for v in vars(module).values() if callable(v) and _SPEC_ATTR in v.__dict__]


def _load_file(path: Path) -> ModuleType:
    name = f"llmd_doctor_plugin_{path.stem}"
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise RegistryError(f"cannot load check module {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except Exception as e:  # a broken plugin is a usage error, not a traceback
        raise RegistryError(f"check module {path} failed to import: {type(e).__name__}: {e}") from e
    return module


def _entry_point_modules() -> list[ModuleType]:
    from importlib.metadata import entry_points

    modules = []
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        try:
            obj: Any = ep.load()
        except Exception as e:
            raise RegistryError(f"check plugin {ep.name!r} ({ep.value}) failed to load: {e}") from e
        modules.append(obj if isinstance(obj, ModuleType) else sys.modules[obj.__module__])
    return modules


def load_specs(checks_dirs: Iterable[str | Path] = (), *, plugins: bool = True) -> list[CheckSpec]:
    """All checks: built-ins, entry-point plugins, then modules from `--checks-dir`."""
    _load_areas()
    modules = [importlib.import_module(m) for m in BUILTIN_MODULES]
    if plugins:
        modules += _entry_point_modules()
    for d in checks_dirs:
        p = Path(d)
        if not p.is_dir():
            raise RegistryError(f"--checks-dir {d}: not a directory")
        modules += [_load_file(f) for f in sorted(p.glob("*.py")) if not f.name.startswith("_")]
    specs: list[CheckSpec] = []
    seen: dict[str, str] = {}
    for module in modules:
        for spec in specs_in_module(module):
            if spec.id in seen:
                raise RegistryError(f"check id {spec.id!r} is defined twice ({seen[spec.id]} and {spec.module})")
            seen[spec.id] = spec.module
            specs.append(spec)
    return specs


def _did_you_mean(pattern: str, ids: list[str]) -> list[str]:
    """Ids the pattern was probably meant to be: those it begins, else the closest spellings."""
    import difflib

    prefixed = [i for i in ids if i.startswith(pattern)]
    if prefixed:
        return prefixed[:3]
    scored = sorted(((difflib.SequenceMatcher(None, pattern, i).ratio(), i) for i in ids), reverse=True)
    return [i for r, i in scored[:3] if r >= 0.6 and r >= scored[0][0] - 0.1]


def select(specs: list[CheckSpec], only: Iterable[str] = (), skip: Iterable[str] = ()) -> list[CheckSpec]:
    """Filter by id or glob (`epp.*`); an --only/--skip pattern that matches nothing is an error."""
    only, skip = list(only), list(skip)
    unknown = list(dict.fromkeys(p for p in only + skip if not any(fnmatch.fnmatchcase(s.id, p) for s in specs)))
    if unknown:  # one line for all of them, each with the ids it was probably meant to be
        parts = [(p, _did_you_mean(p, [s.id for s in specs])) for p in unknown]
        if len(parts) == 1 and parts[0][1]:
            raise RegistryError(f"no check matches {unknown[0]!r}; did you mean {' or '.join(parts[0][1])}?")
        named = ", ".join(f"{p!r} (did you mean {' or '.join(c)}?)" if c else repr(p) for p, c in parts)
        raise RegistryError(f"no check matches {named}; see `llmd-doctor list-checks`")
    chosen = [s for s in specs if not only or any(fnmatch.fnmatchcase(s.id, p) for p in only)]
    return [s for s in chosen if not any(fnmatch.fnmatchcase(s.id, p) for p in skip)]
