"""The evidence readers take any text and any status shape without raising."""

from __future__ import annotations

import evidence_samples as S
from hypothesis import given, settings
from hypothesis import strategies as st

from llmd_doctor.evidence import (
    describe_state,
    epp_activity,
    is_crash,
    parse_access_log,
    root_error,
    summarize,
    termination,
    vllm_stats,
)

# Fragments of real log lines, recombined: more likely than random text to reach deep parser states.
FRAGMENTS = [line for sample in (S.VLLM_ENGINE_KV_CACHE, S.VLLM_WORKER_NIXL_ASSERT, S.PY_CHAINED, S.GO_FATAL_MAP,
                                 S.ZAP_FORBIDDEN_THEN_EXIT, S.ZAP_CONSOLE_EPP, S.KLOG_THEN_FATAL, S.AGENTGATEWAY,
                                 S.ISTIO_LLMD_502, S.ENVOY_GATEWAY_UH, S.VLLM_V0)
             for line in sample.splitlines()]
LOGS = st.one_of(
    st.text(max_size=400),
    st.lists(st.one_of(st.sampled_from(FRAGMENTS), st.text(max_size=40),
                       st.sampled_from(FRAGMENTS).map(lambda s: s[: len(s) // 2])), max_size=30).map("\n".join),
)
JSON = st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=20),
                    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=12), inner, max_size=4),
                    max_leaves=12)
STATE_KEYS = st.sampled_from(["state", "lastState", "restartCount", "ready", "waiting", "terminated", "running",
                              "exitCode", "reason", "message", "signal"])
STATUSES = st.recursive(JSON, lambda inner: st.dictionaries(STATE_KEYS, inner, max_size=4), max_leaves=16)


@settings(max_examples=150, deadline=None)
@given(LOGS)
def test_readers_never_raise_on_any_text(text):
    root_error(text)
    vllm_stats(text)
    epp_activity(text)
    summarize(parse_access_log(text))


@settings(max_examples=150, deadline=None)
@given(STATUSES, LOGS)
def test_state_readers_never_raise_on_any_shape(status, text):
    if isinstance(status, dict):
        is_crash(status)
        describe_state(status)
        t = termination(status)
        root_error(text, t)
    root_error(text, status if isinstance(status, dict) else None)
