"""Every check reads only the kinds it declares in `inputs` — the kinds a live run lists for it.

The engine records what each check reads, from the snapshot and through the topology (each relation
records the kinds it was derived from), as istio's analyzer tests hold analyzers to their declared
inputs. A check that reads an undeclared kind would see "not collected" live while it passes on a
bundle that happens to hold the kind; this test fails first.
"""

from __future__ import annotations

import pytest
from scenario import EXAMPLES, Scenario

from llmd_doctor.engine import run_checks
from llmd_doctor.registry import load_specs

SPECS = load_specs(plugins=False)
BUNDLES = sorted(p.name for p in EXAMPLES.iterdir() if (p / "bundle.yaml").exists())


def _broken(name: str) -> Scenario:
    """An example with its EPP and a model-server pod broken, so the failure paths run too."""
    sc = Scenario.example(name)
    for o in sc.data.objects:
        if o.get("kind") == "Pod":
            st = o.setdefault("status", {})
            st["conditions"] = [{"type": "Ready", "status": "False"}]
            for cs in st.get("containerStatuses") or []:
                cs["ready"] = False
                cs["restartCount"] = 3
                cs["state"] = {"waiting": {"reason": "CrashLoopBackOff"}}
                cs["lastState"] = {"terminated": {"exitCode": 1, "reason": "Error"}}
    return sc


@pytest.mark.parametrize("broken", [False, True], ids=["as-is", "pods-crashing"])
@pytest.mark.parametrize("name", BUNDLES)
def test_every_check_reads_only_its_declared_inputs(name: str, broken: bool) -> None:
    sc = _broken(name) if broken else Scenario.example(name)
    results = run_checks(SPECS, sc.snapshot())
    extra = {r.id: sorted(r.reads - set(r.spec.inputs)) for r in results if r.reads - set(r.spec.inputs)}
    assert extra == {}, f"checks read kinds they do not declare: {extra}"
    assert any(r.reads for r in results)  # the recording works


def test_a_check_that_reads_an_undeclared_kind_is_caught() -> None:
    from llmd_doctor.model import Finding, Severity, Status
    from llmd_doctor.registry import check
    from llmd_doctor.topology import topology

    @check("test.sneaky", title="Sneaky", area="test", severity=Severity.INFO, inputs=("Pod",))
    def sneaky(ctx):  # type: ignore[no-untyped-def]
        yield Finding(Status.PASS, f"{len(topology(ctx.snapshot).pools)} pools")

    spec = sneaky.__llmd_check_spec__  # type: ignore[attr-defined]
    (r,) = run_checks([spec], Scenario.example("healthy").snapshot())
    assert r.reads - set(spec.inputs) == {"InferencePool.inference.networking.x-k8s.io",
                                          "InferencePool.inference.networking.k8s.io"}
