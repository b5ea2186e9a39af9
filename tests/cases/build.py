"""Real failure cases as data: read a case file (tests/cases/<id>.yaml) into a test bundle.

    sc, expect = load_case(CASES / "vllm-tp-size-exceeds-gpus.yaml")
    results = sc.run()                      # {check id: CheckResult}
    sc.write(tmp_path)                      # a bundle directory for `llmd-doctor check --bundle`

A case starts from an example bundle (`base`) and changes what its thread describes: merge patches,
clones, added and removed objects, the state of a workload's pods (crash loop, Pending, not Ready —
with the owning Deployment/ReplicaSet status and the Events Kubernetes would record) and container
logs. tests/cases/README.md documents the format. `python tests/cases/build.py` prints what
llmd-doctor says today on every case's expected checks.
"""

from __future__ import annotations

import copy
import hashlib
import re
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import yaml

TESTS = Path(__file__).resolve().parents[1]
if str(TESTS) not in sys.path:  # run as a script, outside pytest's pythonpath
    sys.path.insert(0, str(TESTS))

from scenario import EXAMPLES, ROOT, Scenario, merge  # noqa: E402

from llmd_doctor.kinds import key_of  # noqa: E402
from llmd_doctor.model import CheckResult  # noqa: E402

CASES = Path(__file__).resolve().parent
KNOWLEDGE = ROOT / "checks" / "knowledge"
DEPLOYMENT, REPLICASET = "Deployment.apps", "ReplicaSet.apps"

Obj = dict[str, Any]

REQUIRED = ("id", "source", "title", "confidence", "base", "expect", "generic", "failure_text")
CONFIDENCE = ("high", "medium", "low")
STATUSES = ("warn", "fail", "error")
URL = re.compile(r"^https://\S+$")
OPERATIONS = ("manifest", "clone", "remove", "patches", "add", "workloads", "logs")


@dataclass(frozen=True)
class Expectation:
    """What llmd-doctor must say: `check` is one of `status`, naming the cause with every word."""

    check: str
    status: tuple[str, ...]
    names_cause: tuple[str, ...]
    # True when llmd-doctor already reports one of `status` on `check` (tests assert it); False while the
    # logic that flags it is still to be built (reported, not asserted).
    flagged_today: bool


def read_case(path: str | Path) -> Obj:
    data = yaml.safe_load(Path(path).read_text())
    if not isinstance(data, dict):
        raise ValueError(f"{path}: a case is a YAML mapping")
    return data


def case_files() -> list[Path]:
    return sorted(p for p in CASES.glob("*.yaml"))


def expectations(case: Obj) -> list[Expectation]:
    return [
        Expectation(
            check=str(e["check"]),
            status=tuple(e["status"]),
            names_cause=tuple(str(w) for w in e.get("names_cause") or ()),
            flagged_today=bool(e.get("flagged_today")),
        )
        for e in case["expect"]
    ]


def validate(case: Obj, path: Path, check_ids: Iterable[str]) -> list[str]:
    """Everything wrong with a case file, as sentences (empty when it is valid)."""
    errors = [f"missing key {k!r}" for k in REQUIRED if k not in case]
    if errors:
        return errors
    known = set(check_ids)
    if case["id"] != path.stem:
        errors.append(f"id {case['id']!r} is not the file name {path.stem!r}")
    for url in [case["source"], *(case.get("also") or [])]:
        if not URL.match(str(url)):
            errors.append(f"not a URL: {url!r}")
    if case["confidence"] not in CONFIDENCE:
        errors.append(f"confidence must be one of {CONFIDENCE}")
    if not (EXAMPLES / str(case["base"])).is_dir():
        errors.append(f"no example bundle {case['base']!r}")
    if not isinstance(case["generic"], bool):
        errors.append("generic must be true or false")
    texts = case["failure_text"]
    if not isinstance(texts, list) or not texts or not all(isinstance(t, str) and t.strip() for t in texts):
        errors.append("failure_text must be a non-empty list of strings")
    if not isinstance(case["expect"], list) or not case["expect"]:
        errors.append("expect must be a non-empty list")
        return errors
    for e in case["expect"]:
        if e.get("check") not in known:
            errors.append(f"unknown check {e.get('check')!r}")
        status = e.get("status")
        if not isinstance(status, list) or not status or not set(status) <= set(STATUSES):
            errors.append(f"{e.get('check')}: status must be a list drawn from {STATUSES}")
        if not e.get("names_cause"):
            errors.append(f"{e.get('check')}: names_cause lists the words that name the cause")
        if not isinstance(e.get("flagged_today"), bool):
            errors.append(f"{e.get('check')}: flagged_today must be true or false")
    unknown = set(case) - {*REQUIRED, *OPERATIONS, "also", "category", "versions", "story", "synthesized"}
    errors.extend(f"unknown key {k!r}" for k in sorted(unknown))
    return errors


# ---- building ---------------------------------------------------------------------------------


def load_case(path: str | Path) -> tuple[Scenario, list[Expectation]]:
    case = read_case(path)
    return build(case), expectations(case)


def build(case: Obj) -> Scenario:
    sc = Scenario.example(str(case["base"]))
    merge(sc.data.manifest, case.get("manifest") or {})
    for c in case.get("clone") or []:
        names = c["name"] if isinstance(c["name"], list) else [c["name"]]
        sc.add(*(_clone(sc.find(c["key"], n, c.get("namespace")), c) for n in names))
    for r in case.get("remove") or []:
        sc.remove(r["key"], r.get("name"), r.get("namespace"))
    for p in case.get("patches") or []:
        sc.patch(p["key"], p["name"], p["patch"], p.get("namespace"))
    if case.get("add"):
        sc.add(*case["add"])
    now = _collected_at(sc)
    for w in case.get("workloads") or []:
        _apply_workload(sc, w, now)
    for entry in case.get("logs") or []:
        pods = entry["pod"] if isinstance(entry["pod"], list) else [entry["pod"]]
        for pod in pods:
            sc.find("Pod", pod, entry["namespace"])  # a log belongs to a pod of the bundle
            sc.set_log(entry["namespace"], pod, entry["container"], entry["text"], bool(entry.get("previous")))
    return sc


def _clone(obj: Obj, spec: Obj) -> Obj:
    """A copy with every string's substrings replaced (names, labels, owners), then a merge patch."""
    replace: dict[str, str] = spec.get("replace") or {}

    def sub(v: Any) -> Any:
        if isinstance(v, str):
            for old, new in replace.items():
                v = v.replace(old, new)
            return v
        if isinstance(v, dict):
            return {k: sub(x) for k, x in v.items()}
        if isinstance(v, list):
            return [sub(x) for x in v]
        return v

    new = sub(copy.deepcopy(obj))
    m = new.setdefault("metadata", {})
    m["uid"] = _uid(f"{key_of(new)}/{m.get('namespace')}/{m.get('name')}")
    return merge(new, spec.get("patch") or {})


def _uid(seed: str) -> str:
    h = hashlib.sha256(seed.encode()).hexdigest()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:32]}"


def _collected_at(sc: Scenario) -> datetime:
    raw = str(sc.data.manifest.get("collectedAt") or "2026-01-01T00:00:00Z")
    return datetime.fromisoformat(raw.replace("Z", "+00:00"))


def _ts(t: datetime) -> str:
    return t.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _owned_by(sc: Scenario, key: str, owner_kind: str, owner: str, namespace: str) -> Iterator[Obj]:
    for o in sc.all(key):
        m = o.get("metadata") or {}
        if m.get("namespace") == namespace and any(
            r.get("kind") == owner_kind and r.get("name") == owner for r in m.get("ownerReferences") or []
        ):
            yield o


def _current_replicaset(sc: Scenario, deployment: Obj) -> Obj:
    m = deployment["metadata"]
    sets = list(_owned_by(sc, REPLICASET, "Deployment", m["name"], m["namespace"]))
    if not sets:
        raise KeyError(f"Deployment {m['namespace']}/{m['name']} owns no ReplicaSet in the scenario")
    return max(sets, key=lambda rs: int((rs.get("status") or {}).get("replicas") or 0))


def workload(sc: Scenario, deployment: str, namespace: str | None = None) -> tuple[Obj, Obj, list[Obj]]:
    """A Deployment, its current ReplicaSet and that ReplicaSet's pods."""
    dep = sc.find(DEPLOYMENT, deployment, namespace)
    rs = _current_replicaset(sc, dep)
    return dep, rs, list(_owned_by(sc, "Pod", "ReplicaSet", rs["metadata"]["name"], dep["metadata"]["namespace"]))


def _apply_workload(sc: Scenario, w: Obj, now: datetime) -> None:
    """Change a Deployment's pod template and every pod of its current ReplicaSet alike, then their state."""
    dep, rs, pods = workload(sc, w["deployment"], w.get("namespace"))
    if w.get("pods"):
        pods = [p for p in pods if p["metadata"]["name"] in set(w["pods"])]
        if len(pods) != len(w["pods"]):
            raise KeyError(f"{w['deployment']}: pods {w['pods']} are not all in the scenario")
    all_specs = [dep["spec"]["template"], rs["spec"]["template"], *pods]
    for holder in all_specs if not w.get("pods") else pods:
        spec = holder.setdefault("spec", {})
        for name, patch in (w.get("containers") or {}).items():
            merge(_container(spec, name), patch)
        for name, patch in (w.get("init_containers") or {}).items():
            merge(_container(spec, name, init=True), patch)
        merge(spec, w.get("pod_spec") or {})
        merge(holder.setdefault("metadata", {}).setdefault("labels", {}), w.get("labels") or {})
    for pod in pods:
        _running_statuses(pod)
    state = w.get("state") or {}
    if len(state) > 1:
        raise ValueError(f"{w['deployment']}: one state per workload, got {sorted(state)}")
    for kind, params in state.items():
        {"crashloop": _crashloop, "pending": _pending, "not_ready": _not_ready}[kind](sc, pods, params or {}, now)
    _rollup(rs, dep, sc, now - timedelta(minutes=2))


def _container(spec: Obj, name: str, init: bool = False) -> Obj:
    """The container of that name; a new one (in initContainers when `init`) when there is none."""
    for c in (spec.get("containers") or []) + (spec.get("initContainers") or []):
        if c.get("name") == name:
            return c
    c = {"name": name}
    spec.setdefault("initContainers" if init else "containers", []).append(c)
    return c


def _running_statuses(pod: Obj) -> None:
    """A running, ready status for every container the case added to a running pod (and its image)."""
    st = pod.setdefault("status", {})
    if st.get("phase") != "Running":
        return
    since = st.get("startTime") or pod["metadata"].get("creationTimestamp")
    for spec_key, status_key in (("containers", "containerStatuses"), ("initContainers", "initContainerStatuses")):
        statuses = {cs.get("name"): cs for cs in st.get(status_key) or []}
        for c in pod["spec"].get(spec_key) or []:
            cs = statuses.get(c["name"])
            if cs is None:
                st.setdefault(status_key, []).append({
                    "image": c.get("image", ""), "name": c["name"], "ready": True, "restartCount": 0,
                    "started": True, "state": {"running": {"startedAt": since}}})
            elif c.get("image"):
                cs["image"] = c["image"]


def _status_of(pod: Obj, container: str) -> Obj:
    st = pod.setdefault("status", {})
    for key in ("containerStatuses", "initContainerStatuses"):
        for cs in st.get(key) or []:
            if cs.get("name") == container:
                return cs
    cs = {"name": container, "image": _container(pod["spec"], container).get("image", "")}
    st.setdefault("containerStatuses", []).append(cs)
    return cs


def _set_condition(pod: Obj, ctype: str, status: str, t: datetime, reason: str = "", message: str = "") -> None:
    conds = pod.setdefault("status", {}).setdefault("conditions", [])
    cond = next((c for c in conds if c.get("type") == ctype), None)
    if cond is None:
        cond = {"type": ctype}
        conds.append(cond)
    cond.update({"lastProbeTime": None, "lastTransitionTime": _ts(t), "status": status})
    for k, v in (("reason", reason), ("message", message)):
        if v:
            cond[k] = v
        else:
            cond.pop(k, None)


def _not_ready_conditions(pod: Obj, container: str, t: datetime) -> None:
    msg = f"containers with unready status: [{container}]"
    _set_condition(pod, "Ready", "False", t, "ContainersNotReady", msg)
    _set_condition(pod, "ContainersReady", "False", t, "ContainersNotReady", msg)


def _crashloop(sc: Scenario, pods: list[Obj], p: Obj, now: datetime) -> None:
    """Each pod's container exited with `exit_code` `restarts` times and waits in CrashLoopBackOff."""
    container = p.get("container", "vllm")
    code = int(p.get("exit_code", 1))
    reason = p.get("reason") or ("OOMKilled" if code == 137 else "Error")
    restarts = int(p.get("restarts", 5))
    ran = timedelta(seconds=int(p.get("ran_for_seconds", 60)))
    finished = now - timedelta(minutes=2)
    for pod in pods:
        m = pod["metadata"]
        cs = _status_of(pod, container)
        runtime = str(cs.get("containerID") or "containerd://").split("://")[0]
        term: Obj = {
            "containerID": f"{runtime}://{hashlib.sha256((m['name'] + container).encode()).hexdigest()}",
            "exitCode": code,
            "finishedAt": _ts(finished),
            "reason": reason,
            "startedAt": _ts(finished - ran),
        }
        if p.get("termination_message"):
            term["message"] = p["termination_message"]
        cs.update({
            "lastState": {"terminated": term},
            "ready": False,
            "restartCount": restarts,
            "started": False,
            "state": {"waiting": {
                "message": f"back-off 5m0s restarting failed container={container} pod={m['name']}_{m['namespace']}"
                           f"({m.get('uid', '')})",
                "reason": "CrashLoopBackOff",
            }},
        })
        pod["status"]["phase"] = "Running"
        _not_ready_conditions(pod, container, finished)
        _drop_logs(sc, pod, container, current_only=True)  # a waiting container has no current log
        sc.add(_event(pod, "BackOff", f"Back-off restarting failed container {container} in pod "
                      f"{m['name']}_{m['namespace']}({m.get('uid', '')})", "kubelet", restarts * 4, now,
                      field=f"spec.containers{{{container}}}"))


def _pending(sc: Scenario, pods: list[Obj], p: Obj, now: datetime) -> None:
    """Each pod is unscheduled: PodScheduled=False with the scheduler's message, and a FailedScheduling Event."""
    message = p["message"]
    for pod in pods:
        pod["spec"].pop("nodeName", None)
        created = datetime.fromisoformat(
            str(pod["metadata"].get("creationTimestamp") or _ts(now)).replace("Z", "+00:00"))
        pod["status"] = {
            "conditions": [{"lastProbeTime": None, "lastTransitionTime": _ts(created), "message": message,
                            "reason": p.get("reason", "Unschedulable"), "status": "False",
                            "type": "PodScheduled"}],
            "phase": "Pending",
            "qosClass": (pod.get("status") or {}).get("qosClass", "Burstable"),
        }
        _drop_logs(sc, pod)
        sc.add(_event(pod, "FailedScheduling", message, "default-scheduler", int(p.get("count", 12)), now,
                      first=created))


def _drop_logs(sc: Scenario, pod: Obj, container: str | None = None, current_only: bool = False) -> None:
    m = pod["metadata"]
    sc.data.logs = {
        r: t for r, t in sc.data.logs.items()
        if not (r.namespace == m["namespace"] and r.pod == m["name"]
                and container in (None, r.container) and not (current_only and r.previous))
    }


def _not_ready(sc: Scenario, pods: list[Obj], p: Obj, now: datetime) -> None:
    """Each pod's container runs but fails its readiness probe."""
    container = p.get("container", "vllm")
    since = now - timedelta(minutes=int(p.get("minutes", 20)))
    for pod in pods:
        cs = _status_of(pod, container)
        cs.update({"ready": False, "started": True})
        _not_ready_conditions(pod, container, since)
        if p.get("message"):
            sc.add(_event(pod, "Unhealthy", p["message"], "kubelet", int(p.get("count", 240)), now,
                          first=since, field=f"spec.containers{{{container}}}"))


def _event(pod: Obj, reason: str, message: str, component: str, count: int, now: datetime,
           first: datetime | None = None, field: str | None = None) -> Obj:
    m = pod["metadata"]
    involved: Obj = {"apiVersion": "v1", "kind": "Pod", "name": m["name"], "namespace": m["namespace"],
                     "uid": m.get("uid", "")}
    if field:
        involved["fieldPath"] = field
    suffix = hashlib.sha256(f"{m['name']}/{reason}".encode()).hexdigest()[:16]
    source: Obj = {"component": component}
    node = (pod.get("spec") or {}).get("nodeName")
    if component == "kubelet" and node:
        source["host"] = node
    return {
        "apiVersion": "v1",
        "kind": "Event",
        "count": count,
        "eventTime": None,
        "firstTimestamp": _ts(first or now - timedelta(minutes=30)),
        "involvedObject": involved,
        "lastTimestamp": _ts(now - timedelta(seconds=40)),
        "message": message,
        "metadata": {"name": f"{m['name']}.{suffix}", "namespace": m["namespace"],
                     "creationTimestamp": _ts(first or now - timedelta(minutes=30))},
        "reason": reason,
        "reportingComponent": component,
        "reportingInstance": source.get("host", ""),
        "source": source,
        "type": "Warning",
    }


def _pod_ready(pod: Obj) -> bool:
    return any(c.get("type") == "Ready" and c.get("status") == "True"
               for c in (pod.get("status") or {}).get("conditions") or [])


def _rollup(rs: Obj, dep: Obj, sc: Scenario, changed: datetime) -> None:
    """ReplicaSet and Deployment status from their pods (zero counts are omitted, as the API server does)."""
    m = rs["metadata"]
    pods = list(_owned_by(sc, "Pod", "ReplicaSet", m["name"], m["namespace"]))
    ready = sum(_pod_ready(p) for p in pods)
    for st in (rs.setdefault("status", {}), dep.setdefault("status", {})):
        for k in ("readyReplicas", "availableReplicas"):
            if ready:
                st[k] = ready
            else:
                st.pop(k, None)
    dst = dep["status"]
    replicas = int(dst.get("replicas") or len(pods))
    if replicas - ready:
        dst["unavailableReplicas"] = replicas - ready
    else:
        dst.pop("unavailableReplicas", None)
    max_unavailable = replicas // 4  # the default 25%, rounded down
    available = ready >= replicas - max_unavailable
    for c in dst.get("conditions") or []:
        if c.get("type") == "Available" and (c.get("status") == "True") != available:
            c.update({"status": "True", "reason": "MinimumReplicasAvailable",
                      "message": "Deployment has minimum availability."} if available else
                     {"status": "False", "reason": "MinimumReplicasUnavailable",
                      "message": "Deployment does not have minimum availability."})
            c["lastTransitionTime"] = c["lastUpdateTime"] = _ts(changed)


# ---- what the case claims about llmd-doctor ------------------------------------------------------


def knowledge_files() -> list[Path]:
    return sorted(p for p in KNOWLEDGE.rglob("*") if p.is_file())


def signature_patterns() -> list[re.Pattern[str]]:
    """Every regular expression of the log/status signatures in checks/knowledge/signatures_*.yaml."""
    out: list[re.Pattern[str]] = []
    for f in KNOWLEDGE.glob("signatures_*.yaml"):
        for entry in yaml.safe_load(f.read_text()).get("signatures") or []:
            for key in ("all", "any"):
                out.extend(re.compile(p, re.MULTILINE) for p in entry.get(key) or [])
    return out


def known_failure_text(case: Obj) -> list[str]:
    """Why a `generic: true` case is not generic: its failure text is in a knowledge file, or a
    signature matches it (empty when the case is generic)."""
    found = []
    corpus = {f: f.read_text(errors="replace").lower() for f in knowledge_files()}
    for text in case["failure_text"]:
        found.extend(f"{text!r} is in {f.relative_to(ROOT)}" for f, body in corpus.items() if text.lower() in body)
        found.extend(f"signature {p.pattern!r} matches {text!r}" for p in signature_patterns() if p.search(text))
    return found


def cause_named_where(result: CheckResult, words: Iterable[str]) -> str:
    """Where every word appears (case-insensitively): "message", else "evidence" (message and evidence
    together), else "fix" (with the remediation too), else "no"."""
    words = [w.lower() for w in words]
    fixes = [result.spec.remediation, *(f.remediation or "" for f in result.findings)]
    said = ""
    for where, text in (("message", result.message), ("evidence", " ".join(result.evidence)), ("fix", " ".join(fixes))):
        said += " " + text.lower()
        if all(w in said for w in words):
            return where
    return "no"


def cause_named(result: CheckResult, words: Iterable[str]) -> bool:
    """Every word appears (case-insensitively) in the result's message, evidence or remediation."""
    return cause_named_where(result, words) != "no"


def today(path: Path) -> list[tuple[str, str, str, str]]:
    """(check, status, where the cause is named, message) per expectation of a case, as llmd-doctor runs today."""
    sc, expect = load_case(path)
    results = sc.run(*{e.check for e in expect})
    return [(e.check, results[e.check].status.value, cause_named_where(results[e.check], e.names_cause),
             results[e.check].message) for e in expect]


def main() -> None:
    print("| case | check | status today | cause named in | message |")
    print("|---|---|---|---|---|")
    for path in case_files():
        for check, status, where, message in today(path):
            print(f"| {path.stem} | {check} | {status} | {where} | {message[:160]} |")


if __name__ == "__main__":
    main()
