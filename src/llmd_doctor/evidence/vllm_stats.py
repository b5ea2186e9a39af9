"""vLLM's runtime evidence in its log: the periodic stats line and uvicorn's access lines.

Stats lines (`--disable-log-stats` turns them off):
- V1 engine (vllm/v1/metrics/loggers.py, LoggingStatLogger.log; logged at DEBUG while idle):
  `Engine 000: Avg prompt throughput: 26.4 tokens/s, Avg generation throughput: 52.3 tokens/s, Running: 1 reqs,
  Waiting: 0 reqs, GPU KV cache usage: 0.4%, Prefix cache hit rate: 37.2%`
- V0 engine (vllm/engine/metrics.py, e.g. https://github.com/vllm-project/vllm/issues/12314):
  `Avg prompt throughput: 0.0 tokens/s, Avg generation throughput: 41.7 tokens/s, Running: 1 reqs, Swapped: 0
  reqs, Pending: 0 reqs, GPU KV cache usage: 2.0%, CPU KV cache usage: 0.0%.` and, with prefix caching,
  `Prefix cache hit rate: GPU: 0.00%, CPU: 90.00%` (https://github.com/vllm-project/vllm/pull/18674).
Access lines (uvicorn; `--disable-uvicorn-access-log` turns them off):
  `INFO:     10.129.0.17:35027 - "POST /v1/completions HTTP/1.1" 200 OK`
Both may carry a process tag and vLLM's logging prefix; the fields are found anywhere in the line.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field

_FIELD = re.compile(r"(?P<key>[A-Za-z][A-Za-z ]*?): (?P<val>-?\d+(?:\.\d+)?) ?(?P<unit>tokens/s|reqs|%)")
_ENGINE = re.compile(r"Engine (?P<engine>\d+): ")
# vLLM's logging prefix carries month-day and time, no year (vllm/logger.py: "%m-%d %H:%M:%S").
_TIME = re.compile(r"(?:DEBUG|INFO|WARNING|ERROR) (?P<time>\d\d-\d\d \d\d:\d\d:\d\d)")
_V0_PREFIX_HIT = re.compile(r"Prefix cache hit rate: GPU: (?P<gpu>[\d.]+)%")
_ACCESS = re.compile(r'INFO:\s+(?P<client>\S+) - "(?P<method>[A-Z]+) (?P<path>[^ "]+) HTTP/[\d.]+" (?P<status>\d{3})')

# OpenAI-compatible and vLLM inference endpoints (vllm/entrypoints/openai/api_server.py).
INFERENCE_PATHS = frozenset({
    "/v1/completions", "/v1/chat/completions", "/v1/embeddings", "/v1/responses", "/v1/score", "/score",
    "/v1/rerank", "/rerank", "/v2/rerank", "/pooling", "/classify", "/v1/audio/transcriptions",
    "/v1/audio/translations", "/generate", "/invocations", "/v1/messages",
})


@dataclass(frozen=True)
class StatsSample:
    line: int
    engine: str  # "000" for the V1 engine's index, "" for V0
    prompt_throughput: float | None
    generation_throughput: float | None
    running: int | None
    waiting: int | None  # V1 "Waiting", V0 "Pending"
    swapped: int | None  # V0 only
    gpu_kv_cache_usage: float | None  # percent
    cpu_kv_cache_usage: float | None  # percent, V0 only
    prefix_cache_hit_rate: float | None  # percent
    time: str = ""  # "MM-DD hh:mm:ss" from the logging prefix ("" when the line has none)

    @property
    def busy(self) -> bool:
        """The engine was working: requests running or waiting, or tokens flowing."""
        return bool(self.running or self.waiting or self.prompt_throughput or self.generation_throughput)


@dataclass
class VllmStats:
    """What one vLLM log says about the load it carried."""

    samples: int = 0
    engine_version: str | None = None  # "v1" | "v0" | None (no stats lines)
    engines: tuple[str, ...] = ()
    last_running: int | None = None  # summed over engines' last samples
    max_running: int | None = None
    last_waiting: int | None = None
    max_waiting: int | None = None
    max_swapped: int | None = None
    mean_prompt_throughput: float | None = None  # tokens/s over all samples
    mean_generation_throughput: float | None = None
    max_prompt_throughput: float | None = None
    max_generation_throughput: float | None = None
    last_gpu_kv_cache_usage: float | None = None  # percent
    max_gpu_kv_cache_usage: float | None = None
    prefix_cache_hit_rate: float | None = None  # percent, the last one logged
    access_lines: int = 0  # uvicorn access lines seen (0 also when the access log is disabled)
    requests_by_status: dict[int, int] = field(default_factory=dict)
    requests_by_path: dict[str, int] = field(default_factory=dict)
    inference_requests: int = 0  # requests to INFERENCE_PATHS
    inference_ok: int = 0  # of those, answered 2xx/3xx
    inference_errors: int = 0  # of those, answered 5xx
    last_sample: StatsSample | None = None
    samples_busy: int = 0  # samples with requests running/waiting or tokens flowing
    samples_waiting: int = 0  # samples with requests waiting (queued in vLLM)
    first_time: str | None = None  # "MM-DD hh:mm:ss" of the first and last samples, when logged
    last_time: str | None = None
    last_busy_time: str | None = None  # of the last busy sample

    @property
    def served_traffic(self) -> bool:
        """Inference was answered (2xx/3xx) or the engine reported work (tokens, running requests)."""
        return bool(self.inference_ok or (self.max_prompt_throughput or 0) > 0 or (self.max_generation_throughput or 0) > 0
                    or (self.max_running or 0) > 0)


def parse_sample(line: str, no: int = 0) -> StatsSample | None:
    """The stats sample on `line`, or None."""
    if "Avg prompt throughput:" not in line:
        return None
    fields = {m.group("key").strip(): float(m.group("val")) for m in _FIELD.finditer(line)}
    engine = _ENGINE.search(line)
    when = _TIME.search(line, 0, 80)

    def intval(*keys: str) -> int | None:
        for k in keys:
            if k in fields:
                return int(fields[k])
        return None

    return StatsSample(no, engine.group("engine") if engine else "", fields.get("Avg prompt throughput"),
                       fields.get("Avg generation throughput"), intval("Running"), intval("Waiting", "Pending"),
                       intval("Swapped"), fields.get("GPU KV cache usage"), fields.get("CPU KV cache usage"),
                       fields.get("Prefix cache hit rate"), when.group("time") if when else "")


def _mean(values: list[float]) -> float | None:
    return round(sum(values) / len(values), 2) if values else None


def _max(values: list[float]) -> float | None:
    return max(values) if values else None


def vllm_stats(log: str | None) -> VllmStats:
    """Stats and access-log evidence of one vLLM log (empty VllmStats for an empty or foreign log)."""
    out = VllmStats()
    if not log:
        return out
    samples: list[StatsSample] = []
    v0 = v1 = False
    by_status: Counter[int] = Counter()
    by_path: Counter[str] = Counter()
    prefix_hit: float | None = None
    for no, line in enumerate(log.split("\n")):
        if "Avg prompt throughput:" in line:
            s = parse_sample(line, no)
            if s is not None:
                samples.append(s)
                v1 = v1 or "Waiting:" in line
                v0 = v0 or "Pending:" in line
                if s.prefix_cache_hit_rate is not None:
                    prefix_hit = s.prefix_cache_hit_rate
        elif "Prefix cache hit rate: GPU:" in line:
            m = _V0_PREFIX_HIT.search(line)
            if m:
                prefix_hit = float(m.group("gpu"))
        elif "HTTP/" in line and "INFO:" in line:
            m = _ACCESS.search(line)
            if m:
                status, path = int(m.group("status")), m.group("path").split("?", 1)[0]
                out.access_lines += 1
                by_status[status] += 1
                by_path[path] += 1
                if m.group("method") == "POST" and path in INFERENCE_PATHS:
                    out.inference_requests += 1
                    out.inference_ok += 200 <= status < 400
                    out.inference_errors += status >= 500
    out.requests_by_status = dict(sorted(by_status.items()))
    out.requests_by_path = dict(by_path.most_common())
    out.prefix_cache_hit_rate = prefix_hit
    if not samples:
        return out
    out.samples = len(samples)
    out.engine_version = "v1" if v1 else ("v0" if v0 else None)
    last_by_engine: dict[str, StatsSample] = {}
    for s in samples:
        last_by_engine[s.engine] = s
    out.engines = tuple(sorted(last_by_engine))
    lasts = list(last_by_engine.values())

    def col(name: str, rows: list[StatsSample]) -> list[float]:
        return [v for v in (getattr(r, name) for r in rows) if v is not None]

    running, waiting = col("running", lasts), col("waiting", lasts)
    out.last_running = int(sum(running)) if running else None
    out.last_waiting = int(sum(waiting)) if waiting else None
    mr, mw, ms = _max(col("running", samples)), _max(col("waiting", samples)), _max(col("swapped", samples))
    out.max_running = int(mr) if mr is not None else None
    out.max_waiting = int(mw) if mw is not None else None
    out.max_swapped = int(ms) if ms is not None else None
    out.mean_prompt_throughput = _mean(col("prompt_throughput", samples))
    out.mean_generation_throughput = _mean(col("generation_throughput", samples))
    out.max_prompt_throughput = _max(col("prompt_throughput", samples))
    out.max_generation_throughput = _max(col("generation_throughput", samples))
    out.last_gpu_kv_cache_usage = _max(col("gpu_kv_cache_usage", lasts))
    out.max_gpu_kv_cache_usage = _max(col("gpu_kv_cache_usage", samples))
    out.last_sample = samples[-1]
    busy = [s for s in samples if s.busy]
    out.samples_busy = len(busy)
    out.samples_waiting = sum(1 for s in samples if s.waiting)
    out.first_time, out.last_time = samples[0].time or None, samples[-1].time or None
    out.last_busy_time = busy[-1].time or None if busy else None
    return out
