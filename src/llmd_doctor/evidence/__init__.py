"""Generic readers of runtime evidence: crash causes, vLLM load, EPP activity, gateway access logs.

Pure functions of log text and container status dicts; no I/O, no Kubernetes client. See docs/evidence.md.
"""

from .access_log import AccessEntry, AccessSummary, Attribution, attribute, parse_access_log, summarize
from .container_state import describe_state, is_crash, termination
from .crash import RootError, root_error
from .envoy_flags import FlagMeaning, flag_meaning
from .epp_requests import EppActivity, epp_activity, error_category
from .exit_codes import exit_code_meaning
from .threads import DeadThread, dead_threads
from .vllm_stats import StatsSample, VllmStats, vllm_stats

__all__ = [
    "AccessEntry", "AccessSummary", "Attribution", "DeadThread", "EppActivity", "FlagMeaning", "RootError", "StatsSample",
    "VllmStats", "attribute", "dead_threads", "describe_state", "epp_activity", "error_category", "exit_code_meaning",
    "flag_meaning", "is_crash", "parse_access_log", "root_error", "summarize", "termination", "vllm_stats",
]
