"""Time the evidence analysers on 2 MB logs: `python -m bench.evidence`.

The live source tails up to 2 MB per container (docs/performance.md); checks run the analysers on the tails
of hundreds of pods, so each must stay linear and far under 100 ms per log. Inputs: the example bundles'
logs repeated to 2 MB with a crash at the end, an access log of 2 MB, and adversarial text (one 2 MB line,
unbalanced quotes and brackets, endless traceback frames) that would expose regex backtracking.
"""

from __future__ import annotations

import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

from llmd_doctor.evidence import epp_activity, parse_access_log, root_error, summarize, vllm_stats

SIZE = 2 * 1024 * 1024
ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
BUDGET_MS = 100.0

_TRACEBACK = """\
(EngineCore_DP0 pid=283) ERROR 08-12 10:01:02 [core.py:700] EngineCore failed to start.
(EngineCore_DP0 pid=283) Traceback (most recent call last):
(EngineCore_DP0 pid=283)   File "/usr/local/lib/python3.12/dist-packages/vllm/v1/engine/core.py", line 691, in run_engine_core
(EngineCore_DP0 pid=283)     engine_core = EngineCoreProc(*args, **kwargs)
(EngineCore_DP0 pid=283) ValueError: The model's max seq len (32768) is larger than the maximum number of tokens that can be stored in KV cache (21440).
(APIServer pid=1) RuntimeError: Engine core initialization failed. See root cause above. Failed core proc(s): {}
"""
_ISTIO = ('[2025-09-19T18:43:27.635Z] "POST /v1/chat/completions HTTP/1.1" 503 UF,URX '
          'upstream_reset_before_response_started{connection_failure} - "-" 253 0 734 732 "10.0.1.247" '
          '"curl/8.7.1" "a0bc31fc-8818-4715-aadf-2c0a7b7d4732" "localhost:8000" "10.0.2.212:8000" '
          'outbound|54321||gaie-pd-ip.llm-d.svc.cluster.local 10.0.1.247:39024 127.0.0.1:80 127.0.0.1:37408 - '
          'llm-d.llm-d-route.0\n')


def _fill(text: str, tail: str = "") -> str:
    if not text.endswith("\n"):
        text += "\n"
    return (text * (SIZE // max(len(text), 1) + 1))[: SIZE - len(tail)].rsplit("\n", 1)[0] + "\n" + tail


def _example(pattern: str) -> str:
    return "".join(p.read_text() for p in sorted(EXAMPLES.glob(pattern)))


def inputs() -> dict[str, tuple[Callable[[str], object], str]]:
    vllm = _example("healthy*/logs/*/*/vllm.log")
    epp = _example("healthy*/logs/*/*/epp.log")
    panic = (EXAMPLES / "seed-rosa-epp-segfault/logs/llm-d/ms-llm-d-epp-6c9d8b7f5-x2k4q/epp.previous.log").read_text()
    return {
        "root_error vllm+traceback": (root_error, _fill(vllm, _TRACEBACK)),
        "root_error epp+panic": (root_error, _fill(epp, panic)),
        "root_error healthy vllm": (root_error, _fill(vllm)),
        "root_error one 2MB line": (root_error, "x" * SIZE),
        "root_error frames only": (root_error, _fill('  File "a.py", line 1, in f\n')),
        "root_error quotes/brackets": (root_error, _fill('[" {"level":"error (pid=1 ( [ "' * 40)),
        "vllm_stats": (vllm_stats, _fill(vllm)),
        "epp_activity": (epp_activity, _fill(epp)),
        "epp_activity errors": (epp_activity, _fill(
            '{"level":"error","ts":"2025-08-22T02:18:33Z","caller":"handlers/server.go:226","msg":"Error handling '
            'request","error":"inference gateway: Internal - no pods available in datastore"}\n')),
        "access log istio": (lambda t: summarize(parse_access_log(t)), _fill(_ISTIO)),
        "access log unbalanced": (lambda t: summarize(parse_access_log(t)), _fill('[x] "' + '" ' * 200)),
    }


def main() -> int:
    """CPU time per call (process_time: other processes on a shared machine do not count), median of 5."""
    worst = 0.0
    for name, (fn, text) in inputs().items():
        cpu, wall = [], []
        for _ in range(5):
            c0, w0 = time.process_time(), time.perf_counter()
            fn(text)
            cpu.append((time.process_time() - c0) * 1000)
            wall.append((time.perf_counter() - w0) * 1000)
        med = statistics.median(cpu)
        worst = max(worst, med)
        print(f"{name:30s} {len(text) / 1e6:5.2f} MB  cpu median {med:6.1f} ms  (wall median "
              f"{statistics.median(wall):6.1f} ms)")
    print(f"worst cpu median {worst:.1f} ms (budget {BUDGET_MS:.0f} ms)")
    return 0 if worst < BUDGET_MS else 1


if __name__ == "__main__":
    sys.exit(main())
