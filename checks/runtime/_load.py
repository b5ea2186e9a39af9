"""vLLM's own account of its load, per sampled pod: read once, judged by the runtime checks.

What counts as evidence (never an absence the log cannot show: the V1 engine logs its stats line only
while it works, and `--disable-log-stats` / `--disable-uvicorn-access-log` turn the lines off):
- busy: a stats sample with requests running or waiting, or tokens flowing; or inference requests
  answered in uvicorn's access lines;
- queueing: requests waiting in at least `QUEUED_SAMPLES` samples, or the GPU KV cache at
  `KV_FULL` % or more while requests wait;
- idle: at least `IDLE_SAMPLES` stats samples, none busy; or access lines logged (health probes) with no
  inference request among them.
"""

from __future__ import annotations

from dataclasses import dataclass

from llmd_doctor.evidence import VllmStats, vllm_stats
from llmd_doctor.snapshot import Snapshot

from ._sample import PodLog

QUEUED_SAMPLES = 2
KV_FULL = 95.0  # percent
IDLE_SAMPLES = 2


@dataclass
class PodLoad:
    log: PodLog
    stats: VllmStats | None  # None: the log could not be read
    unavailable: str | None = None

    @property
    def ref(self) -> str:
        return self.log.ref

    @property
    def busy(self) -> bool:
        s = self.stats
        return s is not None and (s.samples_busy > 0 or s.inference_ok > 0)

    @property
    def queueing(self) -> bool:
        s = self.stats
        if s is None:
            return False
        kv_full = (s.max_gpu_kv_cache_usage or 0) >= KV_FULL and (s.max_waiting or 0) > 0
        return s.samples_waiting >= QUEUED_SAMPLES or kv_full

    @property
    def idle(self) -> bool:
        s = self.stats
        if s is None or self.busy:
            return False
        return s.samples >= IDLE_SAMPLES or (s.access_lines > 0 and s.inference_requests == 0)

    @property
    def shown(self) -> bool:
        """Its log says something about load (stats or access lines)."""
        return self.stats is not None and bool(self.stats.samples or self.stats.access_lines)

    def text(self) -> str:
        """`Pod/ns/p: running 7, waiting 1, KV cache 44%, 598 tokens/s generated (5 samples)`."""
        s = self.stats
        if s is None:
            return f"{self.ref}: log not read ({self.unavailable})"
        if not self.shown:
            return f"{self.ref}: no stats or access lines in its log (or no log captured)"
        parts = []
        if s.samples:
            parts.append(f"running {s.last_running if s.last_running is not None else '?'} (max {s.max_running})")
            parts.append(f"waiting {s.last_waiting if s.last_waiting is not None else '?'} (max {s.max_waiting})")
            if s.max_gpu_kv_cache_usage is not None:
                parts.append(f"KV cache {s.last_gpu_kv_cache_usage:g}% (max {s.max_gpu_kv_cache_usage:g}%)")
            if s.mean_generation_throughput is not None:
                parts.append(f"{s.mean_generation_throughput:g} tokens/s generated")
            parts.append(f"{s.samples} stats sample{'s' if s.samples != 1 else ''}"
                         + (f" {s.first_time} to {s.last_time}" if s.first_time and s.last_time else ""))
        if s.access_lines:
            parts.append(f"{s.inference_requests} inference requests ({s.inference_ok} ok) in {s.access_lines} "
                         "access lines")
        return f"{self.ref}: " + ", ".join(parts)


def read_loads(snap: Snapshot, logs: list[PodLog]) -> list[PodLoad]:
    """Each log's load, read once per run (two checks read the same sample)."""
    out = []
    for pl in logs:
        text, why = pl.read(snap)
        stats = snap.derive(("runtime.vllm_stats", pl.request), lambda text=text: vllm_stats(text))
        out.append(PodLoad(pl, stats if why is None else None, why))
    return out
