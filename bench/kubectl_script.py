"""What a person runs instead: the kubectl commands of the seed's author (shared/seed), in order.

Cluster-wide reads of every layer, then a look at one endpoint picker: describe, its previous log,
its Deployment, and `auth can-i` for its ServiceAccount. The person inspects ONE EPP (the crashing
one, as if they already knew which); llmd-doctor inspects all of them, so the ratio favours kubectl.
"""

from __future__ import annotations

from llmd_doctor.sources.bundle import BundleData


def _first(data: BundleData, kind: str, pred=lambda o: True) -> dict:  # noqa: ANN001
    return next(o for o in data.objects if o.get("kind") == kind and pred(o))


def script(data: BundleData) -> list[list[str]]:
    def crashing(o: dict) -> bool:
        return any(int(cs.get("restartCount") or 0) > 0 for cs in (o.get("status") or {}).get("containerStatuses") or [])

    epp_deploy = _first(data, "Deployment", lambda o: "epp" in o["metadata"]["name"])
    ns = epp_deploy["metadata"]["namespace"]
    in_ns = lambda o: o["metadata"].get("namespace") == ns  # noqa: E731
    epps = [o for o in data.objects if o.get("kind") == "Pod" and in_ns(o) and "epp" in o["metadata"]["name"]]
    pod = next((p for p in epps if crashing(p)), epps[0])
    container = (pod["spec"].get("containers") or [{}])[0].get("name", "epp")
    sa = f"system:serviceaccount:{ns}:{pod['spec'].get('serviceAccountName') or 'default'}"
    route = _first(data, "HTTPRoute", in_ns)["metadata"]["name"]
    pool = _first(data, "InferencePool", in_ns)["metadata"]["name"]
    return [
        ["get", "crd"],
        ["get", "gatewayclass"],
        ["get", "gateway", "-A"],
        ["get", "httproute", "-A"],
        ["get", "inferencepool", "-A"],
        ["get", "inferencemodel", "-A"],
        ["get", "pods", "-A"],
        ["describe", "pod", pod["metadata"]["name"], "-n", ns],
        ["logs", "--previous", pod["metadata"]["name"], "-c", container, "-n", ns],
        ["get", "deploy", "-A"],
        ["get", "deploy", epp_deploy["metadata"]["name"], "-n", ns, "-o", "yaml"],
        ["get", "svc", "-A"],
        ["get", "configmap", "-n", ns],
        ["auth", "can-i", "list", "pods", f"--as={sa}", "-n", ns],
        ["auth", "can-i", "list", "inferencepools.inference.networking.x-k8s.io", f"--as={sa}", "-n", ns],
        ["get", "httproute", route, "-n", ns, "-o", "yaml"],
        ["get", "inferencepool", pool, "-n", ns, "-o", "yaml"],
        ["get", "destinationrule", "-A"],
    ]
