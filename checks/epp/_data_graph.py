"""The data plugins consume and produce (llm-d-router): every data key a configured plugin requires must be
produced by a configured plugin or by a default producer the release registers; the loader adds those, and
exits when a key has none (used by epp.config)."""

from __future__ import annotations

from typing import Any

from llmd_doctor.plugin_catalog import DataGraph, printf

from ._judge import Judge


def judge(j: Judge) -> None:
    graph = j.cat.data_graph
    if graph is None:
        return
    # (type, name, parameters) of every plugin the loader ends up with; default producers are added as it does.
    plugins = [(p.type, p.name, p.params if isinstance(p.params, dict) else {}) for p in j.cfg.plugins
               if j.plugin(p.type) is not None]
    added: list[str] = []
    while True:
        produced = {(key, name) for ptype, name, _ in plugins for key in graph.produces.get(ptype, ())}
        missing = _missing(graph, plugins, produced)
        if not missing:
            return
        for (key, producer), consumer in missing.items():
            entry = graph.keys.get(key) or {}
            if producer != entry.get("producer") or not entry.get("default"):
                _report(j, graph, key, producer, consumer, added)
                return
        new = {producer for key, producer in missing if all(name != producer for _, name, _ in plugins)}
        if not new:
            return  # as the loader: no progress, stop
        for producer in sorted(new):
            plugins.append((producer, producer, {}))
            added.append(producer)


def _missing(graph: DataGraph, plugins: list[tuple[str, str, dict[str, Any]]],
             produced: set[tuple[str, str]]) -> dict[tuple[str, str], str]:
    out: dict[tuple[str, str], str] = {}
    for ptype, name, params in plugins:
        for key, param in graph.consumes.get(ptype, {}).items():
            given = next((v for k, v in params.items() if param and str(k).casefold() == param.casefold()), None)
            producer = str(given) if given else str((graph.keys.get(key) or {}).get("producer", ""))
            if (key, producer) not in produced:
                out.setdefault((key, producer), name)
    return out


def _report(j: Judge, graph: DataGraph, key: str, producer: str, name: str, added: list[str]) -> None:
    spec = j.cfg.named(name)
    fld = spec.field if spec else f"the {name} plugin the loader adds"
    consumer = spec.label if spec else name
    entry = graph.keys.get(key) or {}
    default = entry.get("producer")
    makers = sorted(t for t, keys in graph.produces.items() if key in keys)
    if producer != default:
        problem = f"{consumer} reads {key} from producer {producer!r}, which the config does not define"
        fix = f"Define a plugin named {producer!r} of a type that produces {key} ({', '.join(makers)})."
    else:
        problem = (f"{consumer} requires {key}, which no configured plugin produces, and {j.release} registers no "
                   f"default producer for it")
        fix = ((f"Add `- type: {makers[0]}` to `plugins`" if makers else "Add a plugin that produces it")
               + f", remove {name}, or run a release that registers a default producer for {key}.")
    log = printf(graph.error, f"{key}/{producer}", name) if graph.error else None
    evidence = (f"the loader added default producers: {', '.join(added)}",) if added else ()
    j.exits(fld, problem, "a plugin's required data must be produced by a configured plugin or a registered "
            "default producer", graph.source, fix, evidence=evidence + ((f"the EPP logs: {log}",) if log else ()))
