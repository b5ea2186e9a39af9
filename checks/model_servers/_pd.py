"""P/D disaggregation in one pool: the prefill and decode groups agree on what must agree, the routing
sidecar speaks the KV connector vLLM runs, and the endpoint picker's profile handler matches the roles
the pool has.

What must agree comes from vllm.yaml (NixlConnector's handshake and heterogeneous-TP rules by release);
which profile handlers split a request into prefill and decode from epp_plugins.yaml (a handler with a
prefill profile parameter), so a new handler is an edit to the data.
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import cache, lru_cache
from typing import Any

import yaml

from llmd_doctor import k8s, knowledge
from llmd_doctor import versions as v
from llmd_doctor.model import PD_DISAGGREGATION, Finding, Status
from llmd_doctor.snapshot import DataUnavailable
from llmd_doctor.topology import Pool, ServerGroup, Topology
from llmd_doctor.topology.impact import SERVING_CAPABILITIES
from llmd_doctor.topology.servers import is_sidecar
from llmd_doctor.vllm_facts import facts, image_vllm

from ._spec import VllmSpec, vllm_container

Obj = dict[str, Any]
TP, BLOCK = "--tensor-parallel-size", "--block-size"
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
DECODES = ("decode", "both", "")  # the roles a decode filter keeps (no label counts as decode)


@cache
def pd_handlers() -> frozenset[str]:
    """Profile handlers that run a prefill profile: a `prefillProfile` parameter or `profiles.prefill`."""
    out: set[str] = set()
    for rel in knowledge.load("epp_plugins")["releases"].values():
        for name, p in (rel.get("plugins") or {}).items():
            params = p.get("parameters") or {}
            if p.get("category") == "profile-handler" and (
                    "prefillProfile" in params or "prefill" in ((params.get("profiles") or {}).get("fields") or {})):
                out.add(str(name))
    return frozenset(out)


@lru_cache(maxsize=256)  # the EPPs of many pools share one chart's config
def plugin_types(text: str) -> tuple[str, ...] | None:
    """The plugin types an EndpointPickerConfig defines; None when it is not readable YAML."""
    try:
        cfg = yaml.load(text, Loader=_LOADER) if text else None
    except yaml.YAMLError:
        return None
    if not isinstance(cfg, dict):
        return None
    return tuple(str(p.get("type")) for p in cfg.get("plugins") or [] if isinstance(p, dict))


def handler(pool: Pool) -> tuple[bool | None, str, DataUnavailable | None]:
    """(the pool's EPP splits requests into prefill and decode, what says so, why it could not be read);
    None when not readable."""
    gap: DataUnavailable | None = None
    for epp in pool.epps:
        cfg_file = epp.config.file
        if cfg_file is not None and cfg_file.source.unknown:
            gap = gap or cfg_file.source.gap
        types = plugin_types(epp.config.text or "")
        if types is None:
            continue
        pd = sorted(set(types) & pd_handlers())
        return bool(pd), f"{epp.ref} config has {', '.join(pd) if pd else 'no P/D profile handler'}", None
    return None, f"the plugins config of {pool.ref}'s endpoint picker is not in the snapshot", gap


def connectors(kv: Obj | None) -> set[str]:
    """The KV connectors a --kv-transfer-config runs (MultiConnector's inner ones included)."""
    if not kv:
        return set()
    out = {str(kv["kv_connector"])} if kv.get("kv_connector") else set()
    extra = kv.get("kv_connector_extra_config")
    inner = (extra.get("connectors") if isinstance(extra, dict) else None) or []
    inner = inner if isinstance(inner, list) else []
    out |= {str(c["kv_connector"]) for c in inner if isinstance(c, dict) and c.get("kv_connector")}
    return out


def kv_errors(topo: Topology, g: ServerGroup, spec: VllmSpec) -> Finding | None:
    """A --kv-transfer-config vLLM refuses at start-up: not JSON, an unknown kv_role, a connector without one."""
    kv, why = spec.kv
    roles = facts().kv_roles
    bad = why if why and "not resolved" not in why else None
    if kv and kv.get("kv_connector") and not kv.get("kv_role"):
        bad = f"kv_connector {kv['kv_connector']} without kv_role"
    elif kv and kv.get("kv_role") and kv["kv_role"] not in roles:
        bad = f"kv_role {kv['kv_role']} is none of {', '.join(roles)}"
    if bad is None:
        return None
    return Finding(Status.FAIL, f"{g.ref}: vLLM refuses its --kv-transfer-config ({bad}) and exits", g.ref,
                   (f"container {spec.name}: --kv-transfer-config {spec.flags.get('--kv-transfer-config')}",
                    f"rules: {facts().kv_rules_source}"),
                   remediation=f"Give --kv-transfer-config valid JSON with kv_connector and a kv_role of "
                   f"{', '.join(roles)}.", capabilities=topo.impact_of_servers(g))


def _warn(g: ServerGroup, text: str, evidence: tuple[str, ...], fix: str) -> Finding:
    return Finding(Status.WARN, text, g.ref, evidence, remediation=fix, capabilities=(PD_DISAGGREGATION,))


def _tp(topo: Topology, p: tuple[ServerGroup, VllmSpec], d: tuple[ServerGroup, VllmSpec]) -> Iterator[Finding]:
    (pg, ps), (dg, ds) = p, d
    (ptp, _), (dtp, _) = ps.int_value(TP), ds.int_value(TP)
    if ptp is None or dtp is None or ptp == dtp or min(ptp, dtp) < 1:  # 0: vLLM refuses it on its own
        return
    nx = facts().nixl
    ev = (f"{pg.ref}: {TP} {ptp}", f"{dg.ref}: {TP} {dtp}")
    if ptp > dtp:
        release = image_vllm(ds.image).release
        head = f"{dg.ref}: the prefill tensor parallel size ({TP} {ptp}) is larger than decode's ({dtp}) under NixlConnector"
        if release is not None and v.in_range(release, nx.p_gt_d_unsupported):
            yield Finding(Status.FAIL, f"{head}, which vLLM {v.text(release)[1:]} does not support: {nx.p_gt_d_symptom}",
                          dg.ref, (*ev, f"decode image {ds.image}: {image_vllm(ds.image).how}", f"source: {nx.p_gt_d_source}"),
                          remediation=f"Give decode a {TP} at least prefill's ({ptp}) and a multiple of it, or run a vLLM "
                          "release with prefill-TP > decode-TP support (vLLM PR 27274).",
                          capabilities=topo.impact_of_servers(dg))
        elif nx.p_gt_d_supported_from is None or release is None or release < nx.p_gt_d_supported_from:
            yield _warn(dg, f"{head}: {nx.p_gt_d_note}; decode's vLLM "
                        f"{v.text(release)[1:] if release else 'release is not known'} may crash on the first transfer",
                        (*ev, f"source: {nx.p_gt_d_source}"), f"Keep decode {TP} >= prefill's and a multiple of it.")
    elif dtp % ptp:
        yield _warn(dg, f"{dg.ref}: decode {TP} {dtp} is not a multiple of prefill's {ptp}: {nx.d_gt_p_rule}",
                    (*ev, f"source: {nx.d_gt_p_source}"), f"Make decode's {TP} a multiple of prefill's.")


def _pair(topo: Topology, p: tuple[ServerGroup, VllmSpec], d: tuple[ServerGroup, VllmSpec]) -> Iterator[Finding]:
    (pg, ps), (dg, ds) = p, d
    nx = facts().nixl
    pm, dm = set(ps.models), set(ds.models)
    if pm and dm and not pm & dm:
        yield _warn(dg, f"{dg.ref}: prefill ({pg.ref}) serves {', '.join(sorted(pm))} but decode serves "
                    f"{', '.join(sorted(dm))}: the prefill request names a model prefill does not serve",
                    (f"{pg.ref}: {', '.join(sorted(pm))}", f"{dg.ref}: {', '.join(sorted(dm))}"),
                    "Serve the same model under the same --served-model-name on prefill and decode.")
    (pk, pwhy), (dk, dwhy) = ps.kv, ds.kv
    pc, dc = connectors(pk), connectors(dk)
    if not pwhy and not dwhy and not pc & dc:
        said = "; ".join(f"{g.ref}: {', '.join(sorted(c)) or 'no --kv-transfer-config'}" for g, c in ((pg, pc), (dg, dc)))
        yield _warn(dg, f"{dg.ref}: prefill and decode share no KV connector ({said}): no KV cache reaches decode, "
                    "which recomputes every prompt", (said,),
                    "Give prefill and decode the same --kv-transfer-config connector (llm-d: NixlConnector, kv_both).")
        return
    if nx.connector not in pc & dc:
        for g, kv, bad in ((pg, pk, "kv_consumer"), (dg, dk, "kv_producer")):
            if kv and kv.get("kv_role") == bad:
                yield _warn(g, f"{g.ref}: a {g.role} instance with kv_role {bad}", (f"{g.ref}: {kv}",),
                            "Give prefill kv_producer (or kv_both) and decode kv_consumer (or kv_both).")
        return
    yield from _tp(topo, p, d)
    for flag in (BLOCK, "--kv-cache-dtype", "--dtype"):
        (pv, _), (dv, _) = ps.value(flag), ds.value(flag)
        if pv is not None and dv is not None and pv != dv:
            rule = nx.block_size_rule if flag == BLOCK else f"NixlConnector's handshake requires the same {flag}"
            yield _warn(dg, f"{dg.ref}: prefill {flag} {pv} differs from decode's {dv}: {rule}",
                        (f"source: {nx.block_size_source if flag == BLOCK else nx.must_match_source}",),
                        f"Give prefill and decode the same {flag}.")
    pr, dr = image_vllm(ps.image).release, image_vllm(ds.image).release
    if pr and dr and pr != dr:
        yield _warn(dg, f"{dg.ref}: prefill runs vLLM {v.text(pr)[1:]} and decode {v.text(dr)[1:]}: NixlConnector's "
                    "handshake requires the same vLLM version", (f"source: {nx.must_match_source}",),
                    "Run the same image on prefill and decode.")


def _sidecar(dg: ServerGroup, ds: VllmSpec) -> Finding | None:
    f = facts()
    side = next((c for c in k8s.containers(k8s.pod_spec(dg.template)) if is_sidecar(c)), None)
    flags = k8s.parse_args([str(a) for a in (side or {}).get("args") or []])
    proto = next((flags[n.lstrip("-")] for n in f.sidecar_flags if n.lstrip("-") in flags), None)
    if side is None or proto not in f.sidecar_protocols:
        return None
    want, have = set(f.sidecar_protocols[proto]), connectors(ds.kv[0])
    if want & have:
        return None
    return _warn(dg, f"{dg.ref}: the routing sidecar runs the {proto} P/D protocol, which "
                 f"{'vLLM does not speak' if not want else ', '.join(sorted(want)) + ' speaks'}, but vLLM runs "
                 f"{', '.join(sorted(have)) or 'no KV connector'}", (f"source: {f.sidecar_source}",),
                 "Make the sidecar's --connector match vLLM's kv_connector (nixlv2 with NixlConnector).")


def judge(topo: Topology, pool: Pool) -> tuple[list[Finding], list[str]]:
    """Findings and pass lines for the P/D groups of one pool."""
    specs = [(g, s) for g in pool.servers if (s := vllm_container(g.template)) is not None]
    prefill = [(g, s) for g, s in specs if g.role == "prefill"]
    decode = [(g, s) for g, s in specs if g.role in DECODES]
    pd, said, gap = handler(pool)
    out: list[Finding] = []
    if gap is not None and (prefill or any(connectors(s.kv[0]) for _, s in decode)):
        out.append(Finding.unverifiable(gap, f"{pool.ref}: whether its endpoint picker runs P/D could not be checked",
                                            pool.ref))
    if pd and not prefill and decode:
        out.append(_warn(decode[0][0], f"{pool.ref}: the endpoint picker splits requests into prefill and decode "
                         f"({said}), but the pool has no prefill pods: decode serves every request alone", (said,),
                         "Deploy the prefill Deployment (llm-d.ai/role: prefill) the P/D guide adds, or use a "
                         "single-profile handler."))
    if pd and prefill and not [g for g in pool.servers if g.role in DECODES]:
        pg = prefill[0][0]
        out.append(Finding(Status.FAIL, f"{pool.ref}: the endpoint picker runs its decode profile first ({said}), but the "
                           "pool has only prefill pods: no decode endpoint is found and every request fails", pg.ref,
                           (said,), remediation="Deploy the decode pods (llm-d.ai/role: decode) in the pool.",
                           capabilities=SERVING_CAPABILITIES))
    if prefill and pd is False:
        out.append(_warn(prefill[0][0], f"{pool.ref} has prefill pods, but {said}: they never get prefill work", (said,),
                         "Configure the P/D profile handler (pd-profile-handler or disagg-profile-handler) with "
                         "prefill and decode profiles in the endpoint picker."))
    if prefill and pd is None and gap is None:
        out.append(Finding(Status.SKIP, f"{pool.ref} has prefill pods, but whether its endpoint picker runs P/D is not "
                           f"known: {said}", pool.ref, unverified=True))
    for p in prefill:
        for d in decode[:1]:
            out += list(_pair(topo, p, d))
    if prefill:
        out += [f for g, s in decode if (f := _sidecar(g, s)) is not None]
    lines = [f"{pool.ref}: P/D with {len(prefill)} prefill and {len(decode)} decode group(s); {said}"] if prefill else []
    return out, lines
