"""One picture of a cluster, from a live API server or a bundle; checks read nothing else.

The snapshot knows the difference between "the cluster has none" and "we do not know": reading a
kind that was not collected raises `NotCollected`, one that was forbidden raises `Forbidden`, one
that failed raises `ApiError`. The engine turns these into `skip` and `error` results, so a check
can never `pass` on missing data.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

from llmd_doctor.kinds import is_builtin, kind_key


class DataUnavailable(Exception):
    """Base of the reasons a snapshot cannot answer."""


# ---- what a check reads ------------------------------------------------------------------------
# The engine records, per check, every kind the check reads (from the snapshot or the topology), so
# a test can hold each check to the `inputs` it declares — the kinds a live run lists for it.

_READS: ContextVar[set[str] | None] = ContextVar("llmd_doctor_reads", default=None)


def record_read(*keys: str) -> None:
    reads = _READS.get()
    if reads is not None:
        reads.update(keys)


@contextmanager
def recording() -> Iterator[set[str]]:
    """Collect the kinds read inside the block."""
    reads: set[str] = set()
    token = _READS.set(reads)
    try:
        yield reads
    finally:
        _READS.reset(token)


@contextmanager
def unrecorded() -> Iterator[None]:
    """Reads that are not the current check's (building the shared topology)."""
    token = _READS.set(None)
    try:
        yield
    finally:
        _READS.reset(token)


class NotCollected(DataUnavailable):
    """The source does not say (bundle without that kind, logs not captured)."""


class Forbidden(DataUnavailable):
    def __init__(self, verb: str, resource: str, namespace: str | None = None, message: str = ""):
        self.verb, self.resource, self.namespace, self.message = verb, resource, namespace, message
        where = f" in namespace {namespace}" if namespace else " cluster-wide"
        super().__init__(f"forbidden: cannot {verb} {resource}{where}" + (f" ({message})" if message else ""))


class ApiError(DataUnavailable):
    """The API answered with an error, or did not answer in time."""


@dataclass(frozen=True)
class LogRequest:
    namespace: str
    pod: str
    container: str
    previous: bool = False

    def __str__(self) -> str:
        return f"{self.namespace}/{self.pod}/{self.container}" + (" (previous)" if self.previous else "")


@dataclass(frozen=True)
class AccessQuestion:
    """May `user` do `verb` on `resource` (in `group`, in `namespace`)? Asked live by SubjectAccessReview."""

    user: str
    verb: str
    resource: str
    group: str = ""
    namespace: str | None = None
    groups: tuple[str, ...] = ()

    def __str__(self) -> str:
        res = f"{self.resource}.{self.group}" if self.group else self.resource
        where = f" in {self.namespace}" if self.namespace else " cluster-wide"
        return f"{self.user} {self.verb} {res}{where}"


@dataclass
class SourceInfo:
    kind: str  # "live" | "bundle"
    context: str | None = None
    server_version: str | None = None
    path: str | None = None
    collected_at: str | None = None
    user: str | None = None
    redacted: bool | None = None

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"kind": self.kind}
        for k in ("context", "server_version", "path", "collected_at", "user"):
            v = getattr(self, k)
            if v is not None:
                d[k] = v
        return d


@dataclass
class Snapshot:
    source: SourceInfo
    # None = all namespaces were read.
    namespaces: list[str] | None = None
    objects: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    # Kinds whose absence means "the cluster has none" (listed, or seen in the bundle).
    collected: set[str] = field(default_factory=set)
    # Kinds that could not be read, with why (Forbidden / ApiError).
    errors: dict[str, DataUnavailable] = field(default_factory=dict)
    # Served API versions per kind key, e.g. {"InferencePool.inference.networking.x-k8s.io": ["v1alpha2"]};
    # None = unknown (no CRDs in the bundle and no discovery).
    served: dict[str, list[str]] | None = None
    logs: dict[LogRequest, str] = field(default_factory=dict)
    # Pods ("ns/pod") whose logs the source captured (absent container file = no such log).
    logs_collected_for: set[str] = field(default_factory=set)
    log_errors: dict[LogRequest, DataUnavailable] = field(default_factory=dict)
    probes: dict[str, Any] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    # Reads that were refused, as data for cluster.access.
    denied: list[Forbidden] = field(default_factory=list)
    # Answers of SubjectAccessReviews the live source asked for the checks (None = the review failed).
    access: dict[AccessQuestion, bool | None] = field(default_factory=dict)
    # How many requests a live source made — for cluster.access and the benchmark.
    requests: int = 0
    # Derived views the checks share (see `per_snapshot` in checks/_k8s.py); never source data.
    memo: dict[Any, Any] = field(default_factory=dict, repr=False)
    _by_ns: dict[str, dict[str, list[dict[str, Any]]]] = field(default_factory=dict, repr=False)
    # Namespaces asked for (`-n`, or a bundle's scope) that the cluster does not have; a check reports them.
    missing_namespaces: list[str] = field(default_factory=list)
    # Which pods a live source listed when it did not list them all (sources/pod_queries.PodScope:
    # namespaces read in full, label-selector lists, and what the pods left out are); None = every pod
    # of the namespaces read was listed.
    pod_scope: Any = None
    # Seconds each phase of a live read took (connect, discovery, lists, pods, logs, reviews): the benchmark's breakdown.
    timings: dict[str, float] = field(default_factory=dict)

    # ---- objects -------------------------------------------------------------------------

    def list(self, key: str, namespace: str | None = None) -> list[dict[str, Any]]:
        """All objects of a kind (in one namespace when given). Raises when the source cannot say."""
        record_read(key)
        if key in self.errors:
            raise self.errors[key]
        if namespace is not None and self.namespaces is not None and namespace not in self.namespaces:
            raise NotCollected(f"namespace {namespace} was not collected")
        if key not in self.collected:
            raise NotCollected(self._not_collected_reason(key))
        items = self.objects.get(key, [])
        if namespace is None:
            return list(items)
        index = self._by_ns.get(key)
        if index is None:  # built once per kind: checks ask per namespace many times
            index = {}
            for o in items:
                index.setdefault((o.get("metadata") or {}).get("namespace") or "", []).append(o)
            self._by_ns[key] = index
        return list(index.get(namespace, []))

    def maybe_list(self, key: str, namespace: str | None = None) -> list[dict[str, Any]] | None:
        """Like `list`, but None when the source cannot say (for optional evidence)."""
        try:
            return self.list(key, namespace)
        except DataUnavailable:
            return None

    def bundled(self, key: str, namespace: str | None = None) -> list[dict[str, Any]] | None:
        """Objects of a kind no check declares as an input, when a bundle happens to hold them
        (Secret metadata): extra evidence, never the basis of a pass. None when not there. Not
        recorded as a read: a live run never lists them."""
        if self.source.kind != "bundle" or key in self.errors or key not in self.collected:
            return None
        if namespace is not None and self.namespaces is not None and namespace not in self.namespaces:
            return None
        return [o for o in self.objects.get(key, []) if namespace is None
                or (o.get("metadata") or {}).get("namespace") == namespace]

    def get(self, key: str, namespace: str | None, name: str) -> dict[str, Any] | None:
        for o in self.list(key, namespace):
            if (o.get("metadata") or {}).get("name") == name:
                return o
        return None

    def has_collected(self, key: str) -> bool:
        record_read(key)
        return key in self.collected and key not in self.errors

    def gap(self, key: str, namespace: str | None = None) -> DataUnavailable | None:
        """Why the objects of a kind (in a namespace) cannot be known; None when they can (absent ones
        are none). A CRD kind the cluster does not serve is known: there are none."""
        record_read(key)
        if key in self.errors:
            return self.errors[key]
        if namespace is not None and self.namespaces is not None and namespace not in self.namespaces:
            return NotCollected(f"namespace {namespace} was not collected")
        if key in self.collected:
            return None
        kind, _, group = key.partition(".")
        if group and not is_builtin(key):
            try:
                if not self.served_versions(kind, group):
                    return None  # not installed: the cluster has none
            except DataUnavailable:
                pass
        return NotCollected(self._not_collected_reason(key))

    def derive(self, key: Any, compute: Any) -> Any:
        """A view derived from the snapshot, computed once per run (the snapshot does not change
        while checks run); `compute()` is called without recording its reads."""
        try:
            return self.memo[key]
        except KeyError:
            with unrecorded():
                value = compute()
            self.memo[key] = value
            return value

    def derive_for_checks(self, key: Any, compute: Any) -> Any:
        """Like `derive`, for a view checks build from what they read: the kinds `compute()` reads are
        recorded once, and recorded again for every check that asks, as if it had read them itself
        (tests/test_unreadable_property.py and test_inputs.py hold each check to its reads)."""
        try:
            value, reads = self.memo[key]
        except KeyError:
            with recording() as reads:
                value = compute()
            self.memo[key] = (value, frozenset(reads))
        record_read(*reads)
        return value

    def _not_collected_reason(self, key: str) -> str:
        if self.source.kind == "bundle":
            return f"bundle holds no {key} objects"
        return f"{key} was not read"

    # ---- served API versions -------------------------------------------------------------

    def served_versions(self, kind: str, group: str) -> list[str]:
        """Versions of a kind the cluster serves ([] = not installed). Raises when unknown."""
        key = kind_key(kind, group)
        if is_builtin(key):
            return ["v1"]
        if self.served is None:
            raise NotCollected(
                "bundle holds no CustomResourceDefinition objects"
                if self.source.kind == "bundle"
                else "served API versions could not be read"
            )
        return list(self.served.get(key, []))

    def crd(self, kind: str, group: str) -> dict[str, Any] | None:
        """The CRD object for a kind, when the snapshot holds it."""
        for o in self.maybe_list("CustomResourceDefinition.apiextensions.k8s.io") or []:
            spec = o.get("spec") or {}
            if spec.get("group") == group and (spec.get("names") or {}).get("kind") == kind:
                return o
        return None

    # ---- access reviews -------------------------------------------------------------------

    def reviewed(self, q: AccessQuestion) -> bool:
        """The API server's own answer to an access question. Raises when it was not asked or failed."""
        if q not in self.access:
            raise NotCollected("no SubjectAccessReview was made" + (" (bundles hold none)" if self.source.kind == "bundle" else ""))
        answer = self.access[q]
        if answer is None:
            raise ApiError(f"the SubjectAccessReview for {q} failed")
        return answer

    # ---- logs ----------------------------------------------------------------------------

    def log_captured(self, namespace: str, pod: str) -> bool:
        """Whether the source captured (or tried to capture) any log of the pod: when not, every
        `log()` of it raises NotCollected, and a caller with many pods can skip them at once."""
        key = f"{namespace}/{pod}"
        if key in self.logs_collected_for:
            return True
        size = len(self.logs) + len(self.log_errors)
        seen = self.memo.get("snapshot.log_pods")
        if seen is None or seen[0] != size:  # logs arrive after the first reads of a live run: rebuild then
            seen = (size, {f"{r.namespace}/{r.pod}" for r in (*self.logs, *self.log_errors)})
            self.memo["snapshot.log_pods"] = seen
        return key in seen[1]

    def log(self, req: LogRequest) -> str | None:
        """The log text, None when that container has no such log. Raises when not captured."""
        if req in self.log_errors:
            raise self.log_errors[req]
        if req in self.logs:
            return self.logs[req]
        if f"{req.namespace}/{req.pod}" in self.logs_collected_for:
            return None
        raise NotCollected(f"logs of pod {req.namespace}/{req.pod} were not captured")


def served_from_crds(crds: list[dict[str, Any]]) -> dict[str, list[str]]:
    """Served versions per kind key, read from CustomResourceDefinition objects."""
    served: dict[str, list[str]] = {}
    for crd in crds:
        spec = crd.get("spec") if isinstance(crd.get("spec"), dict) else {}
        names = spec.get("names") if isinstance(spec.get("names"), dict) else {}
        group, kind = spec.get("group"), names.get("kind")
        if not isinstance(group, str) or not isinstance(kind, str) or not group or not kind:
            continue
        versions = [
            v.get("name")
            for v in (spec.get("versions") if isinstance(spec.get("versions"), list) else [])
            if isinstance(v, dict) and v.get("served", True) and v.get("name")
        ]
        served.setdefault(kind_key(kind, group), []).extend(versions)
    return served


def misshapen(doc: dict[str, Any], skip: frozenset[tuple[str, ...]] = frozenset()) -> str | None:
    """What no API server would send (`llmd_doctor.shapes`): `malformed field spec.containers[0] (an
    integer, not an object)`, or None. Checks may then trust the shapes of the fields they read.
    `skip`: paths whose value is one already found well-shaped (sources/prune.Sharer)."""
    from llmd_doctor.kinds import key_of
    from llmd_doctor.shapes import misshapen as problem

    why = problem(doc, key_of(doc), skip)
    if why is None:
        return None
    field, _, what = why.partition(": ")
    return f"malformed field {field} ({what})"
