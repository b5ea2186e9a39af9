"""Real cases (tests/cases) whose cause is in the model servers' spec: model-servers.config names it with
the words the case expects (`names_cause` of the expectation named below), reading the spec, the nodes and
the sourced facts — not the logs."""

from __future__ import annotations

import pytest
from cases.build import CASES, cause_named_where, expectations, load_case, read_case

from llmd_doctor.problems import group
from llmd_doctor.topology import topology

ID = "model-servers.config"

# case -> (the expectations whose words model-servers.config must say, the statuses it may have)
CAUSES = {
    "vllm-tp-size-exceeds-gpus": (("model-servers.gpu",), ("fail",)),
    "vllm-bf16-unsupported-compute-capability": (("model-servers.gpu",), ("warn", "fail")),
    "vllm-no-kernel-image-blackwell": (("model-servers.gpu",), ("warn", "fail")),
    "pd-prefill-tp-larger-than-decode-tp": (("model-servers.logs",), ("fail",)),
    "decode-pending-untolerated-gpu-taint": (("model-servers.pods", "model-servers.gpu"), ("fail",)),
    "generic-readiness-probe-not-on-pool-port": (("inferencepool.selector",), ("warn",)),
}


@pytest.mark.parametrize("name", sorted(CAUSES))
def test_model_servers_config_names_the_cause(name: str) -> None:
    checks, statuses = CAUSES[name]
    sc, _ = load_case(CASES / f"{name}.yaml")
    result = sc.run(ID)[ID]
    assert result.status.value in statuses, result.message
    wanted = [e for e in expectations(read_case(CASES / f"{name}.yaml")) if e.check in checks]
    assert len(wanted) == len(checks)
    for e in wanted:
        assert cause_named_where(result, e.names_cause) != "no", (e.names_cause, result.message, result.evidence)


def test_the_spec_is_the_root_cause_of_the_crash_it_explains() -> None:
    """vLLM's parallelism beyond its GPUs: the pods crash-loop, the log says why, the pool has no endpoint —
    one problem, whose root is the spec."""
    sc, _ = load_case(CASES / "vllm-tp-size-exceeds-gpus.yaml")
    results = list(sc.run(ID, "model-servers.pods", "model-servers.logs", "inferencepool.selector").values())
    problems = group(results, topology(sc.snapshot()).related)
    root = next(p for p in problems if any(s.id == "model-servers.pods" for s in p.symptoms))
    assert root.root.id == ID
    assert {s.id for s in root.symptoms} >= {"model-servers.pods", "model-servers.logs", "inferencepool.selector"}
