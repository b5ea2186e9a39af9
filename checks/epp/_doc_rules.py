"""The EndpointPickerConfig document against its release: apiVersion, kind, the top-level fields its strict
decoder accepts, feature gates, and the data-layer section rules (used by epp.config)."""

from __future__ import annotations

import difflib

from llmd_doctor.plugin_catalog import lines_with_field, span

from ._judge import Judge


def judge(j: Judge) -> None:
    doc, cat = j.cfg.doc, j.cat
    kind, api = doc.get("kind"), doc.get("apiVersion")
    accepted = (*cat.api_versions, *cat.deprecated_api_versions)
    if kind != cat.kind:
        j.exits("kind", f"kind is {kind!r}, not {cat.kind}", "the config is decoded as the registered "
                f"{cat.kind} kind", cat.config_source, f"Set `kind: {cat.kind}`.", "decode", (f"kind {kind!r}",))
    elif api not in accepted:
        j.exits("apiVersion", f"{api!r} is not an apiVersion {j.release} decodes ({', '.join(accepted)})",
                "the config is decoded by the scheme of the release's EndpointPickerConfig API",
                cat.config_source, f"Set `apiVersion: {cat.api_versions[0]}`.", "decode", (f"apiVersion {api!r}",))
    for key in doc:
        if key in cat.fields or not isinstance(key, str):
            continue
        close = difflib.get_close_matches(key, cat.fields, n=1, cutoff=0.6)
        elsewhere = span([c for c in lines_with_field(key) if c.image == cat.image] or lines_with_field(key))
        hint = (f" (this release calls it `{close[0]}`)" if close else "") + (
            f"; `{key}` is a field of {elsewhere}" if elsewhere else "")
        j.exits(key, f"`{key}` is not a top-level field of the EndpointPickerConfig of {j.release}{hint}",
                f"strict decoding: only {', '.join(cat.fields)} are accepted", cat.config_source,
                f"Rename or remove `{key}`" + (f" (`{close[0]}` in this release)." if close else "."), "decode",
                (f'unknown field "{key}"',))
    _gates(j)


def _gate_names(value: object) -> list[str]:
    if isinstance(value, dict):
        return [str(k) for k, on in value.items() if on is not False]
    if isinstance(value, list):
        return [str(g).split("=", 1)[0].strip() for g in value
                if not str(g).lower().endswith(("=false", "=0"))]
    return []


def _gates(j: Judge) -> None:
    doc, cat = j.cfg.doc, j.cat
    gates = _gate_names(doc.get("featureGates"))
    if "featureGates" in cat.fields and cat.error("unknown_feature_gate"):
        for gate in gates:
            if gate not in cat.feature_gates:
                known = ", ".join(cat.feature_gates) or "none"
                j.exits("featureGates", f"feature gate {gate!r} is not one {j.release} knows ({known})",
                        "the loader rejects unregistered feature gates", j.cat.loader_source,
                        f"Remove `{gate}` from featureGates.", "unknown_feature_gate", (gate,))
    if cat.error("datalayer_disabled") and "data" in doc and "dataLayer" not in gates:
        j.exits("data", "a `data` section is given without the dataLayer feature gate",
                str(cat.rule("data_layer") or "the data section needs the dataLayer gate"), cat.loader_source,
                "Add `dataLayer` to featureGates, or remove the `data` section.", "datalayer_disabled")
    if cat.error("datalayer_missing") and "dataLayer" in gates and "data" not in doc:
        j.exits("featureGates", "the dataLayer feature gate is on but no `data` section is given",
                str(cat.rule("data_layer") or "the dataLayer gate needs a data section"), cat.loader_source,
                "Add a `data` section (its metrics data source and extractors), or drop the gate.",
                "datalayer_missing")
