"""The knowledge and gateway facts files, parsed at development time.

People edit the facts as YAML, with their sources (checks/knowledge/*.yaml, gateways/*.yaml).
Parsing them with PyYAML cost ~0.1 s on every run (epp_plugins.yaml alone ~60 ms): more than
reading a shared 10,000-pod cluster's pods (issue #15). So each YAML file ships with a JSON copy
beside it, `<name>.json`, holding the SHA-256 of the YAML text and the parsed data; JSON loads
about 40 times faster.

A copy whose hash does not match its YAML (an edit not compiled yet) is ignored, so a stale copy
can only cost time, never give old facts. A file whose data JSON cannot hold exactly (a date, a
non-string key) gets no copy. After editing a facts file:

    python -m llmd_doctor.compiled_facts

tests/test_knowledge_data.py fails while a copy is stale or missing.
"""

from __future__ import annotations

import hashlib
import json
import sys
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any


def _folder(package: str, folder: str) -> Traversable:
    base = resources.files(package)
    return base.joinpath(folder) if folder else base


def _sha256(text: bytes) -> str:
    return hashlib.sha256(text).hexdigest()


def _parse_yaml(text: bytes) -> Any:
    import yaml

    return yaml.load(text.decode("utf-8"), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))


def load(package: str, name: str, folder: str = "") -> Any:
    """The data of `<folder>/<name>.yaml` in `package`: from its JSON copy when that copy is of this
    very text, else parsed from the YAML."""
    where = _folder(package, folder)
    text = where.joinpath(f"{name}.yaml").read_bytes()
    try:
        compiled = json.loads(where.joinpath(f"{name}.json").read_bytes())
        if isinstance(compiled, dict) and compiled.get("yaml_sha256") == _sha256(text):
            return compiled["data"]
    except (OSError, ValueError, KeyError):
        pass  # no copy, or not one we wrote: the YAML says
    return _parse_yaml(text)


def compiled(text: bytes) -> str | None:
    """The JSON copy of a YAML text; None when JSON cannot hold its data exactly."""
    data = _parse_yaml(text)
    try:
        dumped = json.dumps({"yaml_sha256": _sha256(text), "data": data}, indent=1, ensure_ascii=False,
                            sort_keys=False)
    except (TypeError, ValueError):
        return None
    return dumped + "\n" if json.loads(dumped)["data"] == data else None


def yaml_files(root: Path) -> list[Path]:
    """Every facts file of the source tree rooted at `root` (the repository)."""
    dirs = [root / "checks" / "knowledge", root / "src" / "llmd_doctor" / "gateways"]
    return sorted(p for d in dirs for p in d.glob("*.yaml"))


def main(argv: list[str] | None = None) -> int:
    """Write the JSON copy of every facts file (run from the repository)."""
    root = Path(argv[0]) if argv else Path(__file__).resolve().parents[2]
    for path in yaml_files(root):
        out = compiled(path.read_bytes())
        target = path.with_suffix(".json")
        if out is None:
            target.unlink(missing_ok=True)
            print(f"{path.relative_to(root)}: JSON cannot hold its data exactly, left as YAML only", file=sys.stderr)
            continue
        if not target.exists() or target.read_text("utf-8") != out:
            target.write_text(out, "utf-8")
            print(f"wrote {target.relative_to(root)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
