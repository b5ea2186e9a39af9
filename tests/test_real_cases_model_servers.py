"""Real cases (tests/cases) whose cause is in the model servers' spec: model-servers.config names it with
the words the case expects (`names_cause` of the expectation named below), reading the spec, the nodes and
the sourced facts — not the logs."""

from __future__ import annotations

from cases.build import CASES, load_case

from llmd_doctor.problems import group
from llmd_doctor.topology import topology

ID = "model-servers.config"

# Each case's model-servers.config expectation (status and names_cause) is asserted by test_real_cases.py.


def test_the_spec_is_the_root_cause_of_the_crash_it_explains() -> None:
    """vLLM's parallelism beyond its GPUs: the pods crash-loop, the log says why, the pool has no endpoint —
    one problem, whose root is the spec."""
    sc, _ = load_case(CASES / "vllm-tp-size-exceeds-gpus.yaml")
    results = list(sc.run(ID, "model-servers.pods", "model-servers.logs", "inferencepool.selector").values())
    problems = group(results, topology(sc.snapshot()).related)
    root = next(p for p in problems if any(s.id == "model-servers.pods" for s in p.symptoms))
    assert root.root.id == ID
    assert {s.id for s in root.symptoms} >= {"model-servers.pods", "model-servers.logs", "inferencepool.selector"}
