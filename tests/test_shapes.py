"""Objects of impossible shape: every field of every kind the checks read, given a wrong JSON type, is
caught by the source (one warning naming the object and the field), and no check crashes on the rest.

The fields come from llmd_doctor.shapes, the one declaration of what the checks read — so a field a
new check starts to read is covered as soon as it is declared.
"""

from __future__ import annotations

from typing import Any

import pytest
from scenario import Scenario

from llmd_doctor.engine import needed_access, needed_logs, run_checks
from llmd_doctor.kinds import key_of
from llmd_doctor.registry import load_specs
from llmd_doctor.shapes import ANY, SCHEMAS, Schema, _fits, _without, problem
from llmd_doctor.snapshot import misshapen

SPECS = load_specs(plugins=False)


def _paths(schema: Schema, prefix: tuple[Any, ...] = ()) -> list[tuple[tuple[Any, ...], Schema]]:
    """(path, schema) of every declared field; list items are addressed with index 0."""
    out: list[tuple[tuple[Any, ...], Schema]] = []
    if isinstance(schema, dict):
        for field, sub in schema.items():
            out.append(((*prefix, field), sub))
            out += _paths(sub, (*prefix, field))
    elif isinstance(schema, list):
        out.append(((*prefix, 0), schema[0]))
        out += _paths(schema[0], (*prefix, 0))
    return out


def _wrong(schema: Schema) -> Any:
    """A value of a type the schema does not allow."""
    if schema == ANY:
        return None
    if isinstance(schema, tuple):
        return {"not": "scalar"} if str in schema or int in schema else "text"
    if isinstance(schema, list):
        return {"not": "a list"}
    return [1]  # where an object (or a map) belongs


def _set(node: Any, path: tuple[Any, ...], value: Any) -> None:
    """Put `value` at `path`, creating the objects and one-item lists on the way."""
    step, rest = path[0], path[1:]
    if isinstance(step, int):
        if not node:
            node.append({} if rest and not isinstance(rest[0], int) else [])
        if not rest:
            node[0] = value
            return
        if not isinstance(node[0], dict | list):
            node[0] = [] if isinstance(rest[0], int) else {}
        _set(node[0], rest, value)
        return
    if not rest:
        node[step] = value
        return
    if not isinstance(node.get(step), dict | list):
        node[step] = [] if isinstance(rest[0], int) else {}
    _set(node[step], rest, value)


CASES = [(key, path) for key, schema in SCHEMAS.items() for path, sub in _paths(schema) if _wrong(sub) is not None]


@pytest.mark.parametrize(("key", "path"), CASES, ids=[f"{k}:{'.'.join(map(str, p))}" for k, p in CASES])
def test_every_declared_field_of_the_wrong_type_is_caught(key: str, path: tuple[Any, ...]) -> None:
    group = key.partition(".")[2]
    obj: dict[str, Any] = {"apiVersion": f"{group}/v1" if group else "v1", "kind": key.partition(".")[0],
                           "metadata": {"name": "x", "namespace": "ns"}}
    schema = SCHEMAS[key]
    sub = dict(_paths(schema))[path]
    _set(obj, path, _wrong(sub))
    assert key_of(obj) == key
    why = misshapen(obj)
    assert why is not None and ".".join(str(p) for p in path if not isinstance(p, int)).split(".")[-1] in why, why


# One wrong-typed field two levels down per kind and top-level section, through the whole pipeline on a
# real example (the test above covers every field against the source's validation).
_HEALTHY_KINDS = {key_of(o) for o in Scenario.example("healthy").data.objects}
_FIRST: dict[tuple[str, Any], tuple[Any, ...]] = {}
for _key, _path in CASES:
    if _key in _HEALTHY_KINDS and len(_path) > 1:
        _FIRST.setdefault((_key, _path[0]), _path[:2])
PIPELINE = sorted((key, path) for (key, _), path in _FIRST.items())


@pytest.mark.parametrize(("key", "path"), PIPELINE, ids=[f"{k}:{'.'.join(map(str, p))}" for k, p in PIPELINE])
def test_a_malformed_object_is_one_warning_and_no_crash(key: str, path: tuple[Any, ...]) -> None:
    sc = Scenario.example("healthy")
    obj = next(o for o in sc.data.objects if key_of(o) == key)
    sub = dict(_paths(SCHEMAS[key]))[path]
    _set(obj, path, _wrong(sub))
    name = obj["metadata"]["name"]
    snap = sc.snapshot()
    needed_logs(SPECS, snap)
    needed_access(SPECS, snap)
    warned = [w for w in snap.warnings if name in w and "malformed" in w]
    assert len(warned) == 1, snap.warnings
    crashed = [f"{r.id}: {r.message}" for r in run_checks(SPECS, snap) if "check crashed" in r.message]
    assert crashed == []


def test_every_example_object_has_the_declared_shapes() -> None:
    """The schema describes what real API servers send: no example object is called malformed."""
    for name in ("seed-rosa-epp-segfault", "healthy", "healthy-v0.4-istio-1.28", "healthy-kgateway", "healthy-gke"):
        bad = [(key_of(o), o["metadata"].get("name"), misshapen(o)) for o in Scenario.example(name).data.objects
               if misshapen(o)]
        assert bad == [], (name, bad)




class _Text(str):
    """A subclass of str: isinstance accepts it, as the validation must."""


_VALUES: list[Any] = [None, "s", _Text("t"), 0, 7, True, False, 1.5, {}, {"k": "v"}, [], [None], [1], ["s"], [{}],
                      [{"name": 3}], [[1]]]


@pytest.mark.parametrize("key", sorted(SCHEMAS))
def test_the_fast_validation_says_what_the_readable_one_says(key: str) -> None:
    """shapes._compile's validation, which every object read goes through: on every declared field,
    given values of every JSON type (and subclasses, bools where integers belong, null items), it
    accepts exactly what `problem` accepts, and so with parts of the schema skipped."""
    schema = SCHEMAS[key]
    paths = [p for p, _ in _paths(schema)]
    fields = [p for p in paths if not any(isinstance(s, int) for s in p)]
    skips = [frozenset(), *(frozenset({p}) for p in fields[:: max(1, len(fields) // 5)])]
    checked = 0
    for skip in skips:
        fits = _fits(key, skip)
        reference = _without(schema, skip)
        for path in paths:
            for value in _VALUES:
                obj: dict[str, Any] = {}
                _set(obj, path, value)
                assert fits(obj) == (problem(obj, reference) is None), (key, sorted(skip), path, value)
                checked += 1
    assert checked >= len(paths) * len(_VALUES)


def test_the_fast_validation_refuses_null_items_of_any_list() -> None:
    """A list item may not be null, even where the items are not checked ([ANY])."""
    from llmd_doctor.shapes import _compile

    for schema in ([ANY], [(str,)], [{"a": (int,)}], {"f": [ANY]}):
        value = [None] if isinstance(schema, list) else {"f": [None]}
        assert _compile(schema)(value) is False
        assert problem(value, schema) is not None
        assert _compile(schema)([] if isinstance(schema, list) else {"f": []}) is True


def test_the_generated_validation_is_what_the_generator_writes_now() -> None:
    """shape_checks.py is generated from the schemas (and the parts the live source shares): changed
    without regenerating, it would check the old shapes. `python -m llmd_doctor.shapes_codegen`."""
    from pathlib import Path

    from llmd_doctor import shape_checks, shapes_codegen

    assert shapes_codegen.render() == Path(shape_checks.__file__).read_text(encoding="utf-8"), (
        "shape_checks.py is stale: run python -m llmd_doctor.shapes_codegen")


_GENERATED = [*sorted(SCHEMAS), "metadata"]


@pytest.mark.parametrize("key", _GENERATED)
def test_the_generated_validation_says_what_the_readable_one_says(key: str) -> None:
    """The generated functions (shape_checks.py, what every object read goes through) accept exactly
    what `problem` accepts: on every declared field, given values of every JSON type, with nothing
    skipped, each path they can skip skipped, and all of them."""
    from llmd_doctor import shape_checks
    from llmd_doctor.shapes import METADATA

    schema = METADATA if key == "metadata" else SCHEMAS[key]
    fits, guardable = shape_checks.METADATA if key == "metadata" else shape_checks.KINDS[key]
    skips = [frozenset(), *(frozenset({p}) for p in sorted(guardable)), frozenset(guardable)]
    paths = [p for p, _ in _paths(schema)]
    checked = 0
    for skip in dict.fromkeys(skips):
        reference = _without(schema, skip)
        for path in paths:
            for value in _VALUES:
                obj: dict[str, Any] = {}
                _set(obj, path, value)
                assert fits(obj, skip) == (problem(obj, reference) is None), (key, sorted(skip), path, value)
                checked += 1
    assert checked >= len(paths) * len(_VALUES)


def test_the_live_sources_skippable_parts_are_skippable_by_the_generated_validation() -> None:
    """Every part the live source may share (sources/prune.SHARED) is one the generated functions can
    skip: otherwise those objects would be checked by the slower closures."""
    from llmd_doctor import shape_checks
    from llmd_doctor.sources.prune import SHARED

    for key, shared in SHARED.items():
        for path in shared:
            if path[0] == "metadata":
                assert path[1:] in shape_checks.METADATA[1], path
            else:
                assert path in shape_checks.KINDS[key][1], (key, path)
