"""HTTPRoutes with their parents and backends resolved.

A backendRef to an InferencePool resolves by kind, name, namespace (default: the route's) *and* API
group: a ref in the other pool group names no pool. A backendRef to a Service may still reach a pool's
pods — the route then bypasses the pool's endpoint picker (`Backend.pool_behind`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

from llmd_doctor import k8s
from llmd_doctor.kinds import GATEWAY, GATEWAY_KEY, POOL_GROUPS, POOL_KEYS, REFERENCE_GRANT, SERVICE
from llmd_doctor.model import GATEWAY_ROUTING, OPENAI_API
from llmd_doctor.topology.known import ObjectNode, Ref, recorded

if TYPE_CHECKING:
    from llmd_doctor.topology.gateways import Gateway
    from llmd_doctor.topology.pools import Pool

Obj = dict[str, Any]


@dataclass(eq=False)
class Parent:
    """A Gateway a route asks to attach to, and what that Gateway's controller reported."""

    namespace: str
    name: str
    section: str | None
    status: Obj | None  # the route's status.parents entry for it
    _gateway: Ref[Gateway] = field(default_factory=Ref)

    @property
    def key(self) -> tuple[str, str]:
        return self.namespace, self.name

    @property
    def text(self) -> str:
        return f"{self.namespace}/{self.name}"

    @recorded(GATEWAY_KEY)
    def gateway(self) -> Ref[Gateway]:
        return self._gateway


@dataclass(eq=False)
class Backend:
    group: str
    kind: str
    namespace: str
    name: str
    port: int | None
    cross_namespace: bool
    _pool: Ref[Pool] = field(default_factory=Ref)
    _service: Ref[Obj] = field(default_factory=Ref)
    _pool_behind: Ref[Pool] = field(default_factory=Ref)
    _granted: Ref[bool] = field(default_factory=Ref)

    @property
    def is_pool(self) -> bool:
        return self.kind == "InferencePool"

    @property
    def is_service(self) -> bool:
        return self.kind == "Service" and self.group in ("", "core")

    @property
    def is_pool_group(self) -> bool:
        return self.group in POOL_GROUPS

    @property
    def text(self) -> str:
        g = f"{self.group}/" if self.group else ""
        return f"{g}{self.kind} {self.namespace}/{self.name}" + (f" port {self.port}" if self.port else "")

    @recorded(*POOL_KEYS)
    def pool(self) -> Ref[Pool]:
        """The pool an InferencePool backendRef resolves to (name, namespace and group)."""
        return self._pool

    @recorded(SERVICE)
    def service(self) -> Ref[Obj]:
        return self._service

    @recorded(SERVICE, *POOL_KEYS)
    def pool_behind(self) -> Ref[Pool]:
        """For a Service backend: the InferencePool that selects the same pods (the route bypasses it)."""
        return self._pool_behind

    @recorded(REFERENCE_GRANT)
    def granted(self) -> Ref[bool]:
        """For a cross-namespace backend: whether a ReferenceGrant in its namespace allows it."""
        return self._granted


@dataclass(eq=False)
class Route(ObjectNode):
    KIND: ClassVar[str] = "HTTPRoute"

    obj: Obj
    parents: list[Parent]
    backends: list[Backend]
    llmd: bool = False  # carries llm-d traffic (to a pool, to a model-server Service, or via an inference Gateway)

    @property
    def status_parents(self) -> list[Obj]:
        return list((self.obj.get("status") or {}).get("parents") or [])

    @property
    def serves_openai(self) -> bool:
        """Whether it carries the OpenAI paths (/v1/...): no match, `/`, or a /v1 prefix."""
        for rule in (self.obj.get("spec") or {}).get("rules") or []:
            matches = rule.get("matches") or []
            if not matches:
                return True
            for m in matches:
                value = str((m.get("path") or {}).get("value", "/"))
                if value == "/" or value.startswith("/v1"):
                    return True
        return False

    @property
    def capabilities(self) -> tuple[str, ...]:
        """What the route carries: gateway routing, and the OpenAI API when its paths match /v1."""
        return (GATEWAY_ROUTING, OPENAI_API) if self.serves_openai else (GATEWAY_ROUTING,)

    @property
    def pool_backends(self) -> list[Backend]:
        return [b for b in self.backends if b.is_pool]

    @recorded(*POOL_KEYS)
    def shape(self) -> dict[str, int | bool]:
        """What a gateway's known issues need to bite (see `shape_of`)."""
        return shape_of([self])


def shape_of(routes: list[Route]) -> dict[str, int | bool]:
    """The shape of some routes that a gateway implementation's known issues are keyed on: the most
    InferencePool refs in one rule, the most target ports of a referenced pool, the distinct pools
    referenced, and whether a pool ref leaves out its port."""
    per_rule = [sum(1 for b in rule.get("backendRefs") or [] if b.get("kind") == "InferencePool")
                for r in routes for rule in (r.obj.get("spec") or {}).get("rules") or []]
    pools = [b for r in routes for b in r.pool_backends if b.is_pool_group]
    found = [b.pool.target for b in pools if b.pool.found]
    return {"min_pools_per_rule": max(per_rule, default=0),
            "min_target_ports": max((len(p.target_ports) for p in found if p is not None), default=0),
            "min_pools_per_gateway": len({(b.group, b.namespace, b.name) for b in pools}),
            "pool_ref_without_port": any(b.port is None for b in pools)}


def parse_route(obj: Obj) -> Route:
    ns = k8s.namespace(obj)
    spec = obj.get("spec") or {}
    statuses = list((obj.get("status") or {}).get("parents") or [])
    parents: list[Parent] = []
    seen: set[tuple[str, str, str | None]] = set()
    for p in spec.get("parentRefs") or []:
        if (p.get("kind") or "Gateway") != "Gateway" or (p.get("group") or GATEWAY) != GATEWAY:
            continue  # mesh (Service) parents are not gateways
        key = (str(p.get("namespace") or ns), str(p.get("name", "")), p.get("sectionName"))
        if key in seen:
            continue
        seen.add(key)
        status = next((s for s in statuses if str((s.get("parentRef") or {}).get("name", "")) == key[1]
                       and str((s.get("parentRef") or {}).get("namespace") or ns) == key[0]), None)
        parents.append(Parent(key[0], key[1], key[2], status))
    backends = []
    for rule in spec.get("rules") or []:
        for b in rule.get("backendRefs") or []:
            bns = str(b.get("namespace") or ns)
            port = b.get("port")
            backends.append(Backend(str(b.get("group") or ""), str(b.get("kind") or "Service"), bns,
                                    str(b.get("name", "")), port if isinstance(port, int) else None, bns != ns))
    return Route(obj, parents, backends)


def grant_allows(grants: list[Obj], route: Route, b: Backend) -> bool:
    """Whether a ReferenceGrant in the backend's namespace lets HTTPRoutes of the route's namespace refer to it."""
    for g in grants:
        if k8s.namespace(g) != b.namespace:
            continue
        spec = g.get("spec") or {}
        frm = any(f.get("group") == GATEWAY and f.get("kind") == "HTTPRoute" and f.get("namespace") == route.namespace
                  for f in spec.get("from") or [])
        to = any((t.get("group") or "") == b.group and t.get("kind") == b.kind and t.get("name") in (None, "", b.name)
                 for t in spec.get("to") or [])
        if frm and to:
            return True
    return False
