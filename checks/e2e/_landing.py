"""Per-model routing evidence: did each model's answer come through the endpoint picker, from its own pool?

A response that names its endpoint (`x-gateway-destination-endpoint`, the simulator's `x-inference-pod`)
is matched to a pod and its pools by the topology (llmd_doctor.topology.models.landing).
"""

from __future__ import annotations

from typing import Any

from llmd_doctor.model import Finding, Status
from llmd_doctor.probes import classify as cl
from llmd_doctor.snapshot import Snapshot
from llmd_doctor.topology.models import landing

from ._hops import chain
from ._records import headers_line, line


def per_model(snap: Snapshot, recs: list[dict[str, Any]]) -> list[Finding]:
    """Warnings for a model whose answer bypassed the endpoint picker while another's did not, or that
    landed in a pool it should not reach. Nothing for a single model (the aggregate check covers it)."""
    if len(recs) < 2:
        return []
    through_epp = [r["model"] for r in recs if cl.epp_evidence(r.get("headers"))]
    out: list[Finding] = []
    for r in recs:
        if not cl.classify_record(r).ok:
            continue
        ch = chain(snap, r)
        where = ch.pools[0].ref if ch.pools else ch.target.gateway
        evidence = tuple(x for x in (line(r), headers_line(r)) if x)
        if through_epp and not cl.epp_evidence(r.get("headers")):
            out.append(Finding(Status.WARN, f"model {r['model']!r}: its answer carried no endpoint-picker header while "
                                            f"{through_epp[0]!r}'s did: its requests bypass the endpoint picker",
                               where, evidence))
        land = landing(snap, r.get("endpoint") or cl.endpoint_of(r.get("headers")))
        expected = [str(x) for x in r.get("pools") or []]
        if land is not None and land.pools and expected and not {p.ref for p in land.pools} & set(expected):
            out.append(Finding(Status.WARN, f"model {r['model']!r} was answered by {land.text}, not by "
                                            f"{', '.join(expected)}, the pool its model should reach", where,
                               (*evidence, f"{r['model']!r} from {', '.join(r.get('model_sources') or ['?'])}"),
                               capabilities=(),
                               remediation="Check the HTTPRoute rules that pick a pool per model (and body-based "
                                           "routing, which sets the model-name header they match)."))
    return out
