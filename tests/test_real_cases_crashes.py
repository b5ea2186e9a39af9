"""Real cases (tests/cases) whose cause is in a container's log or state, or in the runtime logs: the check
each case names says its `names_cause` words (issue #13, items 1 and 2). The generic ones hold text no
signature of checks/knowledge knows, so only reading the evidence names them."""

from __future__ import annotations

import re
from functools import cache

import pytest
from cases.build import CASES, cause_named_where, expectations, known_failure_text, read_case
from cases.build import load_case as _load_case


@cache
def load_case(path):  # type: ignore[no-untyped-def]  # built once per run: running checks does not change it
    return _load_case(path)

NAMED = [
    "vllm-nccl-shm-too-small",  # a bare NCCL exception, its `Last error:` detail (generic)
    "vllm-oomkilled-container-memory-limit",  # the container state, the log cut mid-load
    "vllm-kv-cache-too-small-for-max-model-len",  # a known signature with an optional group
    "pd-nixl-side-channel-port-conflicts-kv-events",  # a thread that died in a Ready pod (generic)
    "generic-crash-unknown-exception",  # a vLLM engine-core traceback (generic)
    "generic-pool-bypassed-by-direct-route",  # vLLM busy, the EPP scheduling nothing (generic)
]
EXPECTED = [(n, e) for n in NAMED for e in expectations(read_case(CASES / f"{n}.yaml"))]


@pytest.mark.parametrize(("name", "expect"), EXPECTED, ids=[f"{n}:{e.check}" for n, e in EXPECTED])
def test_the_check_names_the_cause(name: str, expect) -> None:  # type: ignore[no-untyped-def]
    sc, _ = load_case(CASES / f"{name}.yaml")
    result = sc.run(expect.check)[expect.check]
    assert result.status.value in expect.status, result.message
    assert cause_named_where(result, expect.names_cause) != "no", (expect.names_cause, result.message,
                                                                    result.evidence)


@pytest.mark.parametrize("name", [n for n in NAMED if read_case(CASES / f"{n}.yaml")["generic"]])
def test_generic_cases_are_named_without_a_signature(name: str) -> None:
    """No knowledge signature knows their text, and the finding says so."""
    case = read_case(CASES / f"{name}.yaml")
    assert known_failure_text(case) == []
    sc, expect = load_case(CASES / f"{name}.yaml")
    result = sc.run(expect[0].check)[expect[0].check]
    if expect[0].check != "runtime.epp-traffic":  # the bypass is told from traffic, not from a signature
        assert "not a known signature" in result.message


@pytest.mark.parametrize("name", ["epp-camelcase-flags-on-kebab-release", "vllm-kv-cache-too-small-for-max-model-len"])
def test_no_placeholder_of_an_unmatched_optional_group_is_printed(name: str) -> None:
    """The fill() bug the cases found: a signature's optional group that did not match printed as "{flag2}"."""
    sc, expect = load_case(CASES / f"{name}.yaml")
    results = sc.run(*{e.check for e in expect})
    said = [t for r in results.values() for t in (r.message, r.remediation, *r.evidence)]
    assert said and not [t for t in said if re.search(r"\{[a-z_0-9]+\}", t)]
