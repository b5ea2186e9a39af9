"""Where to send the probe, and which model to ask for, read from the snapshot (pure, no I/O).

The URL: `--gateway-url`, else the Gateway that routes to an InferencePool — its
`status.addresses[0]` and its HTTP listener's port. The models: `--model`, else every model the
topology says the Gateway serves (llmd_doctor.topology.models: InferenceModels, the model servers'
arguments per pool, HTTPRoute rules matching the model-name header) and the ids `GET /v1/models`
lists, at most MAX_MODELS; the first is the one the single-model records describe. The helpers
that walk Gateway -> HTTPRoute -> InferencePool -> pods are shared with checks/e2e.

Safety: an address from the Gateway's status that is neither cluster-internal nor private is
named before anything is sent (`notices`), and the API key goes only to `--gateway-url`.
"""

from __future__ import annotations

import ipaddress
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from llmd_doctor import k8s as k
from llmd_doctor.kinds import GATEWAY_KEY as GATEWAY
from llmd_doctor.kinds import INFERENCE_MODEL, SERVICE
from llmd_doctor.topology import Gateway, Pool, Route, topology
from llmd_doctor.topology.models import gateway_models
from llmd_doctor.topology.servers import model_names

if TYPE_CHECKING:
    from llmd_doctor.probes import ProbeOptions
    from llmd_doctor.snapshot import Snapshot

Obj = dict[str, Any]
# Suffixes of names that only resolve inside a cluster.
INTERNAL_SUFFIXES = (".svc", ".svc.cluster.local", ".cluster.local", ".local", ".internal")
LOCAL_PORT = 8000
#: At most this many models get a chat completion each (the others are listed as not probed).
MAX_MODELS = 8


@dataclass
class Target:
    """Where the probe goes. `base_url` None = nowhere (`not_found` says why)."""

    base_url: str | None = None
    source: str = "gateway"  # "flag" (--gateway-url) | "gateway" (from the Gateway's status)
    gateway: str | None = None  # Gateway/ns/name
    listener: str | None = None
    address: str | None = None
    port: int | None = None
    internal: bool = False  # the address only makes sense inside the cluster (or a private network)
    service: str | None = None  # ns/name of the Service in front of the gateway's proxy
    service_port: int | None = None
    model: str | None = None
    model_source: str | None = None
    not_found: str | None = None
    others: list[str] = field(default_factory=list)  # other Gateways that could have been chosen
    public: bool = False  # the Gateway's status address is neither cluster-internal nor private
    api_key: str | None = None  # "sent" | "withheld" (--api-key-env given, the address not from --gateway-url)
    notices: list[str] = field(default_factory=list)  # what was said on stderr before sending

    @property
    def port_forward(self) -> str | None:
        """`kubectl port-forward -n <ns> svc/<gateway-service> 8000:80`, when the Service is known."""
        if not self.service:
            return None
        ns, name = self.service.split("/", 1)
        return f"kubectl port-forward -n {ns} svc/{name} {LOCAL_PORT}:{self.service_port or self.port or 80}"

    @property
    def local_url(self) -> str:
        scheme = "https" if self.base_url and self.base_url.startswith("https:") else "http"
        return f"{scheme}://localhost:{LOCAL_PORT}"

    def how_to_reach(self) -> str:
        """The sentence that tells the user how to probe a gateway this machine cannot reach."""
        if self.port_forward:
            return f"to probe it from here, run `{self.port_forward}` and pass --gateway-url {self.local_url}"
        return "pass --gateway-url with an address this machine can reach (e.g. a kubectl port-forward to the gateway's Service)"

    def to_dict(self) -> dict[str, Any]:
        d = {k: v for k, v in asdict(self).items() if v not in (None, [], False)}
        d["source"] = self.source
        if self.port_forward:
            d["port_forward"] = self.port_forward
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any] | None) -> Target:
        d = dict(d or {})
        d.pop("port_forward", None)
        known = {f for f in cls.__dataclass_fields__}
        return cls(**{k: v for k, v in d.items() if k in known})


# ---- the chain: Gateway -> HTTPRoute -> InferencePool / Service -> pods ------------------------


def ref_parts(ref: str | None) -> tuple[str, str] | None:
    """`Gateway/ns/name` -> (ns, name)."""
    if not ref:
        return None
    parts = ref.split("/")
    return (parts[1], parts[2]) if len(parts) == 3 else None


def gateway_of(snap: Snapshot, ref: str | None) -> Gateway | None:
    key = ref_parts(ref)
    return next((g for g in topology(snap).gateways if g.key == key), None) if key else None


def pools_of(routes: list[Route]) -> list[Pool]:
    """The InferencePools the routes send to (that exist in the snapshot)."""
    out: list[Pool] = []
    for r in routes:
        for b in r.pool_backends:
            if b.pool.found and b.pool.target not in out:
                out.append(b.pool.target)  # type: ignore[arg-type]
    return out


def _programmed(gw: Obj) -> bool:
    c = k.condition(gw, "Programmed")
    return bool(c and c.get("status") == "True")


def _address(gw: Obj) -> str | None:
    for a in (gw.get("status") or {}).get("addresses") or []:
        if a.get("value"):
            return str(a["value"])
    return None


def _listener(gw: Obj) -> tuple[str, int, str] | None:
    """(name, port, scheme) of the first HTTP listener, else the first HTTPS one."""
    listeners = list((gw.get("spec") or {}).get("listeners") or [])
    for proto, scheme in (("HTTP", "http"), ("HTTPS", "https")):
        for x in listeners:
            port = _port(x.get("port"))
            if str(x.get("protocol", "")).upper() == proto and port:
                return str(x.get("name", "")), port, scheme
    return None


def _port(v: Any) -> int | None:
    return int(v) if isinstance(v, int | str) and str(v).isdigit() and 0 < int(v) < 65536 else None


def is_internal(host: str) -> bool:
    """A cluster-internal name, or a private/link-local address."""
    try:
        ip = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return host.endswith(INTERNAL_SUFFIXES) or "." not in host
    return ip.is_private or ip.is_link_local or ip.is_loopback


def _gateway_service(snap: Snapshot, gw: Gateway, address: str | None, port: int) -> tuple[str | None, int | None]:
    """The Service in front of the gateway's proxy (its implementation says how it is named)."""
    svc = gw.data_plane.service.target if gw.data_plane is not None else None
    if svc is None and address and ".svc" in address:
        host_svc, host_ns = (address.split(".") + [""])[:2]
        svc = snap.get(SERVICE, host_ns, host_svc) if snap.gap(SERVICE, host_ns) is None else None
        if svc is None:
            return f"{host_ns}/{host_svc}", port
    if svc is None:
        return None, None
    ports = list((svc.get("spec") or {}).get("ports") or [])
    match = next((p for p in ports if p.get("port") == port), None) or next(
        (p for p in ports if str(p.get("name", "")).startswith("http")), None)
    return f"{k.namespace(svc)}/{k.name(svc)}", (_port(match.get("port")) if match else None) or port


def _url(scheme: str, host: str, port: int) -> str:
    if ":" in host and not host.startswith("["):
        host = f"[{host}]"  # IPv6
    default = {"http": 80, "https": 443}[scheme]
    return f"{scheme}://{host}" + ("" if port == default else f":{port}")


def choose_gateway(snap: Snapshot) -> tuple[Gateway | None, list[Gateway]]:
    """The Gateway that leads to an InferencePool (then any routed one), Programmed with an address first."""

    def rank(g: Gateway) -> tuple[int, int, int]:
        to_pool = any(r.pool_backends for r in g.routes)
        return (2 if to_pool else 1 if g.routes else 0, int(_programmed(g.obj)), int(_address(g.obj) is not None))

    ranked = sorted(topology(snap).gateways, key=rank, reverse=True)
    return (ranked[0] if ranked else None), ranked[1:]


# ---- the model -------------------------------------------------------------------------------


def served_model_of(container: Obj) -> str | None:
    """The name a model-server container serves: --served-model-name, else `vllm serve <m>`, else --model."""
    names = model_names(container, vllm_only=False)
    return names[0] if names else None


def model_server_names(snap: Snapshot, pools: list[Pool]) -> list[tuple[str, str]]:
    """(model name, Pod ref) for the model-server pods of the pools (all model-server pods when no pool is known)."""
    pods = [p for pool in pools for p in pool.pods] if pools else list(topology(snap).server_pods())
    out: list[tuple[str, str]] = []
    for pod in pods:
        for c in k.containers(k.pod_spec(pod)):
            name = served_model_of(c)
            if name and not any(n == name for n, _ in out):
                out.append((name, f"Pod/{k.namespace(pod)}/{k.name(pod)}"))
    return out


def inference_models(snap: Snapshot, pools: list[Pool]) -> list[tuple[str, str]]:
    """(spec.modelName, InferenceModel ref) of the InferenceModels of the pools (all, when no pool)."""
    if snap.gap(INFERENCE_MODEL) is not None or INFERENCE_MODEL not in snap.collected:
        return []
    out = []
    for im in snap.list(INFERENCE_MODEL):
        spec = im.get("spec") or {}
        ref = spec.get("poolRef") or {}
        if pools and not any(p.name == ref.get("name") and p.namespace == k.namespace(im) for p in pools):
            continue
        if spec.get("modelName"):
            out.append((str(spec["modelName"]), f"InferenceModel/{k.namespace(im)}/{k.name(im)}"))
    return out


def discover_model(snap: Snapshot, gw: Gateway | None) -> tuple[str | None, str | None]:
    """The first model the Gateway serves, and what named it."""
    for m in gateway_models(snap, gw):
        return m.name, m.sources[0] if m.sources else None
    return None, None


@dataclass
class PlannedModel:
    """A model the probe asks for: its name, the pools it should reach (refs), what named it."""

    name: str
    pools: list[str] = field(default_factory=list)
    sources: list[str] = field(default_factory=list)


def plan_models(snap: Snapshot, t: Target, listed: list[str], only: str | None) -> tuple[list[PlannedModel],
                                                                                         list[dict[str, str]]]:
    """The models to probe, first-probed first (at most MAX_MODELS), and the ones left out with why.

    `only` (--model) probes that one model; else every model the topology knows the Gateway
    serves, then the ids `GET /v1/models` listed that it does not know.
    """
    known = {m.name: m for m in gateway_models(snap, gateway_of(snap, t.gateway))}
    if only:
        m = known.get(only)
        return [PlannedModel(only, m.pool_refs if m else [], ["--model"])], []
    plan = [PlannedModel(m.name, m.pool_refs, list(m.sources)) for m in known.values()]
    plan += [PlannedModel(i, [], ["GET /v1/models"]) for i in dict.fromkeys(listed) if i not in known]
    left = [{"model": p.name, "why": f"over the cap of {MAX_MODELS} models per run"} for p in plan[MAX_MODELS:]]
    return plan[:MAX_MODELS], left


# ---- the target -----------------------------------------------------------------------------


def discover(snap: Snapshot, opts: ProbeOptions) -> Target:
    gw, others = choose_gateway(snap)
    t = Target()
    if opts.model:
        t.model, t.model_source = opts.model, "--model"
    else:
        t.model, t.model_source = discover_model(snap, gw)
    if gw is not None:
        t.gateway = gw.ref
        t.others = [o.ref for o in others]
        lst = _listener(gw.obj)
        t.address = _address(gw.obj)
        if lst:
            t.listener, t.port, scheme = lst
            t.service, t.service_port = _gateway_service(snap, gw, t.address, t.port)
            if t.address:
                t.internal = is_internal(t.address)
                t.base_url = _url(scheme, t.address, t.port)
    if opts.gateway_url:
        t.source, t.base_url = "flag", opts.gateway_url.rstrip("/")
        t.internal = False
        t.not_found = None
        t.api_key = "sent" if opts.api_key_env else None
        return t
    t.public = bool(t.base_url and not t.internal)
    if opts.api_key_env:
        t.api_key = "withheld"
    if gw is None:
        t.not_found = "no Gateway found" + ("" if snap.gap(GATEWAY) is None else " (Gateways were not read)") \
            + "; pass --gateway-url to probe an OpenAI-compatible endpoint"
    elif t.listener is None:
        t.not_found = f"{t.gateway} has no HTTP or HTTPS listener; pass --gateway-url"
    elif t.base_url is None:
        t.not_found = f"{t.gateway} has no address in status.addresses (not programmed?); {t.how_to_reach()}"
    return t
