"""The vocabulary shared by checks, the engine and the renderers.

`CheckSpec` declares a check, `Finding` is one observation a check makes, `CheckResult` is the
engine's verdict for one check id (the findings folded together). Nothing here does I/O.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from enum import IntEnum, StrEnum
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from llmd_doctor.snapshot import AccessQuestion, LogRequest, Snapshot


class Status(StrEnum):
    PASS = "pass"
    WARN = "warn"
    FAIL = "fail"
    ERROR = "error"
    SKIP = "skip"
    BLOCKED = "blocked"

    @property
    def rank(self) -> int:
        """Worse states rank higher; used to fold findings into one result."""
        return _STATUS_RANK[self]


_STATUS_RANK = {
    Status.SKIP: 0,
    Status.PASS: 1,
    Status.BLOCKED: 2,
    Status.WARN: 3,
    Status.ERROR: 4,
    Status.FAIL: 5,
}


class Severity(StrEnum):
    CRITICAL = "critical"
    MAJOR = "major"
    MINOR = "minor"
    INFO = "info"


class ExitCode(IntEnum):
    """Exit codes of `check` and `report` (docs/ci.md, the contract outside tools rely on)."""

    OK = 0
    FINDINGS = 1
    USAGE = 2
    COULD_NOT_CHECK = 3
    WAIT_TIMEOUT = 4
    INTERRUPTED = 130


# Capabilities a deployment can offer; checks declare which ones they protect.
GPU_INFERENCE = "GPU inference"
GATEWAY_ROUTING = "gateway routing"
OPENAI_API = "OpenAI-compatible API"
CACHE_AWARE_ROUTING = "cache-aware routing"
PREFIX_CACHE = "prefix-cache optimization"
SATURATION_SCHEDULING = "saturation-aware scheduling"
PD_DISAGGREGATION = "P/D disaggregation"

#: Capabilities without which inference itself does not work (verdict `broken` when lost).
CORE_CAPABILITIES = (GPU_INFERENCE, GATEWAY_ROUTING, OPENAI_API)
#: Capabilities the endpoint picker adds on top of plain routing (verdict `degraded` when lost).
EPP_CAPABILITIES = (CACHE_AWARE_ROUTING, PREFIX_CACHE, SATURATION_SCHEDULING)
ALL_CAPABILITIES = CORE_CAPABILITIES + EPP_CAPABILITIES + (PD_DISAGGREGATION,)

# Evidence lines kept per finding, and per result: past that, one line says how many more there are.
# Enough for a person or a tool to see the pattern; a list of 9,000 pod names is not evidence (and it
# made the JSON report of a 10,000-pod cluster 7 MB).
MAX_EVIDENCE = 50


def capped(lines: Iterable[str], where: str = "") -> tuple[str, ...]:
    """`lines`, the first MAX_EVIDENCE of them and "... and N more" when there are more."""
    kept = tuple(lines)
    if len(kept) <= MAX_EVIDENCE:
        return kept
    return (*kept[:MAX_EVIDENCE], f"... and {len(kept) - MAX_EVIDENCE} more{where}")


@dataclass(frozen=True)
class Finding:
    """One observation of a check about one object (or about the cluster as a whole)."""

    status: Status
    message: str
    object: str | None = None  # "Kind/namespace/name" or "Kind/name" for cluster-scoped objects
    evidence: tuple[str, ...] = ()
    remediation: str | None = None  # overrides the spec's remediation for this finding
    # Capabilities this finding takes away; None = the spec's capabilities.
    capabilities: tuple[str, ...] | None = None
    # A skip that says something the check needed could not be read: it outranks a pass when findings
    # fold, so "3 pools fine, 1 not verifiable" is never reported as a pass.
    unverified: bool = False

    def __post_init__(self) -> None:
        if len(self.evidence) > MAX_EVIDENCE:
            object.__setattr__(self, "evidence", capped(self.evidence))

    @classmethod
    def unverifiable(cls, gap: Exception, message: str, object: str | None = None,
                     evidence: tuple[str, ...] = ()) -> Finding:
        """What could not be checked, and why: `error` when the read was refused or failed, else `skip`."""
        from llmd_doctor.snapshot import NotCollected

        status = Status.SKIP if isinstance(gap, NotCollected) else Status.ERROR
        return cls(status, f"{message}: {gap}", object, evidence, unverified=True)

    @property
    def rank(self) -> float:
        """How bad it is when findings fold into one result (an unverified skip outranks a pass)."""
        return 1.5 if self.status == Status.SKIP and self.unverified else self.status.rank


def obj_ref(obj: dict[str, Any]) -> str:
    """`Kind/namespace/name` (or `Kind/name`) for a Kubernetes object."""
    meta = obj.get("metadata") or {}
    ns = meta.get("namespace")
    name = meta.get("name", "?")
    return f"{obj.get('kind', '?')}/{ns}/{name}" if ns else f"{obj.get('kind', '?')}/{name}"


@dataclass
class CheckContext:
    """What a check sees: the snapshot and the user's options. Checks never do I/O."""

    snapshot: Snapshot
    options: dict[str, Any] = field(default_factory=dict)
    # Results of the checks that ran before this one, by id (prerequisites are always among them).
    results: dict[str, CheckResult] = field(default_factory=dict)


CheckFn = Callable[[CheckContext], Iterable[Finding]]
LogsFn = Callable[["Snapshot"], Iterable["LogRequest"]]
AccessFn = Callable[["Snapshot"], Iterable["AccessQuestion"]]


@dataclass(frozen=True)
class CheckSpec:
    """A check's declaration: everything about it but its logic."""

    id: str
    title: str
    area: str
    severity: Severity
    run: CheckFn
    # Kinds this check reads ("Kind.group", core kinds bare). Live sources LIST exactly these.
    inputs: tuple[str, ...] = ()
    requires: tuple[str, ...] = ()
    capabilities: tuple[str, ...] = ()
    remediation: str = ""
    docs: str = ""
    description: str = ""
    # Which pod logs the check needs, given the listed objects (live sources fetch only these).
    logs: LogsFn | None = None
    # Which access questions to put to the API server (SubjectAccessReview), given the listed objects.
    access: AccessFn | None = None
    module: str = ""
    # Checks whose warn/fail on the same or related objects this check's failure explains (they are
    # its symptoms): grouped under it as one problem in the report.
    explains: tuple[str, ...] = ()
    # Why the check matters, for `llmd-doctor explain` and docs/checks.md.
    why: str = ""
    # The log-signature components (checks/knowledge/signatures_*.yaml) whose matches it reports.
    signatures: tuple[str, ...] = ()

    @property
    def anchor(self) -> str:
        return self.id.replace(".", "-")


@dataclass
class CheckResult:
    """The engine's verdict for one check id."""

    spec: CheckSpec
    status: Status
    message: str
    findings: list[Finding] = field(default_factory=list)
    blocked_by: list[str] = field(default_factory=list)
    duration_s: float = 0.0
    # Set when a config-file suppression mutes this result: shown muted, not counted for the gate.
    suppressed: str | None = None
    # The kinds the check read (recorded by the engine; held to spec.inputs by tests/test_inputs.py).
    reads: frozenset[str] = frozenset()

    @property
    def id(self) -> str:
        return self.spec.id

    @property
    def objects(self) -> list[str]:
        seen: dict[str, None] = {}
        for f in self.findings:
            if f.object and f.status == self.status:
                seen.setdefault(f.object)
        return list(seen)

    @property
    def evidence(self) -> list[str]:
        out: dict[str, None] = {}  # ordered, without repeats (a list's `in` is quadratic at 500 pools)
        for f in self.findings:
            if f.status == self.status:
                out.update(dict.fromkeys(f.evidence))
        return list(capped(out, where=" (each finding has its own)"))

    @property
    def remediation(self) -> str:
        for f in self.findings:
            if f.status == self.status and f.remediation:
                return f.remediation
        return self.spec.remediation

    @property
    def lost_capabilities(self) -> list[str]:
        """Capabilities taken away by this result (only fail/warn results take any)."""
        if self.status not in (Status.FAIL, Status.WARN):
            return []
        caps: list[str] = []
        for f in self.findings:
            if f.status != self.status:
                continue
            for c in f.capabilities if f.capabilities is not None else self.spec.capabilities:
                if c not in caps:
                    caps.append(c)
        return caps
