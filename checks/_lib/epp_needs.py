"""What an endpoint picker's ServiceAccount needs, by release (knowledge/epp_releases.yaml `rbac`):
the kinds it watches, in which namespace, and how bad a missing grant is."""

from __future__ import annotations

from dataclasses import dataclass

from llmd_doctor.snapshot import DataUnavailable, Snapshot
from llmd_doctor.topology import Epp


@dataclass(frozen=True)
class Need:
    group: str
    resource: str
    verbs: tuple[str, ...]
    namespace: str | None
    severity: str  # fail | warn
    why: str

    @property
    def res(self) -> str:
        return f"{self.resource}.{self.group}" if self.group else self.resource


def _served(snap: Snapshot, key: str) -> bool | None:
    kind, _, group = key.partition(".")
    try:
        return bool(snap.served_versions(kind, group))
    except DataUnavailable:
        return None


def needs(snap: Snapshot, epp: Epp) -> list[Need]:
    """The rules this EPP needs, with its release's conditions (CRD installed or not) applied."""
    out: list[Need] = []
    for rule in epp.facts.rbac_rules:
        severity, why = str(rule.get("severity", "fail")), str(rule.get("why", ""))
        group = str(rule.get("group", "")).replace("{pool_group}", epp.target.group)
        if epp.standalone and group and rule.get("scope") == "pool":
            continue  # endpoint-selector mode: no pool, no CRD watches
        if rule.get("if_served"):
            served = _served(snap, rule["if_served"])
            if served is False:
                continue
            if served is None:  # the snapshot cannot say: ask, but do not fail on it
                severity, why = "warn", f"{why} (if its CRD is installed; the snapshot does not say)"
        if rule.get("unless_served") and _served(snap, rule["unless_served"]):
            continue
        if any(epp.flags.get(flag) == value for flag, value in (rule.get("unless_flag") or {}).items()):
            continue
        ns = epp.target.namespace if rule.get("scope") == "pool" else None
        for res in rule["resources"]:
            out.append(Need(group, str(res), tuple(rule["verbs"]), ns, severity, why))
    return out


def watches(snap: Snapshot, epp: Epp, key: str) -> bool:
    """Whether the EPP reads objects of this kind (`InferenceObjective.llm-d.ai`)."""
    kind, _, group = key.partition(".")
    resource = kind.lower() + "s"
    return any(n.group == group and n.resource == resource for n in needs(snap, epp))
