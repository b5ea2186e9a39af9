"""Active probes: a real chat completion through the gateway, with the failure attributed to a hop.

The probe stage runs between the snapshot and the checks (`run.diagnose`, live clusters only): it
finds where to send (`target.py`), sends a few small, time-bounded requests with httpx
(`chat.py`), classifies what came back (`classify.py`) and stores plain-JSON records
(`record.py`) in `snapshot.probes` under `e2e`, `models` and `routing`. Bundles carry the same
records as `probes/<name>.json`, so the e2e checks read a replayed probe exactly like a live one.

Importing this package is cheap (no httpx): `run_probes` imports the client when called.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from llmd_doctor.snapshot import Snapshot

#: The records the probe stage writes (snapshot.probes keys, bundle probes/<name>.json).
PROBE_NAMES = ("e2e", "models", "routing")


@dataclass
class ProbeOptions:
    """How to probe. `None` in RunOptions.probe means: do not probe."""

    gateway_url: str | None = None  # where to send; None = the Gateway's status.addresses
    model: str | None = None  # the model to ask for; None = discovered
    api_key_env: str | None = None  # the environment variable holding the API key (never recorded)
    connect_timeout: float = 5.0  # DNS lookup and TCP/TLS connect, each
    read_timeout: float = 30.0  # between two bytes of the answer
    total_timeout: float = 30.0  # one request, start to last byte
    prefix_requests: int = 5  # requests of the prefix-affinity probe (0 = none)
    max_tokens: int = 16
    stream: bool = True  # also send one streaming request (time to first token)
    # Seconds after which no further model is probed (None: max(60, 2 x total_timeout)).
    budget: float | None = None
    # Where the one-line safety notices go before anything is sent (None: stderr).
    notice: Any = None
    # Tests inject these: an httpx transport (or a client), and the DNS resolver.
    transport: Any = None
    client: Any = None
    resolver: Any = None


def run_probes(snapshot: Snapshot, opts: ProbeOptions, *, routing: bool = True) -> dict[str, dict[str, Any]]:
    """Probe the gateway the snapshot shows (or opts.gateway_url); records by name."""
    from llmd_doctor.probes.chat import run_probes as _run

    return _run(snapshot, opts, routing=routing)


__all__ = ["PROBE_NAMES", "ProbeOptions", "run_probes"]
