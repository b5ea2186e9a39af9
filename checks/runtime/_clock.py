"""When things happened, from the pods' status and vLLM's log times: is the traffic in a log later than a start?"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from llmd_doctor import k8s

from ._load import PodLoad
from ._sample import PodLog

# vLLM's log times carry no zone (the container's clock, UTC unless TZ is set); traffic counts as after the
# EPP's start only this much later, so a clock or zone slip does not turn old traffic into a bypass.
MARGIN = timedelta(minutes=5)


def started(pl: PodLog) -> datetime | None:
    """When the container's current run started (status `state.running.startedAt`), None when unknown."""
    cs = next((c for c in k8s.container_statuses(pl.pod) if c.get("name") == pl.container), {})
    return _parse_iso(((cs.get("state") or {}).get("running") or {}).get("startedAt"))


def _parse_iso(value: object) -> datetime | None:
    try:
        return datetime.fromisoformat(str(value).replace("Z", "+00:00")) if value else None
    except ValueError:
        return None


def iso(t: datetime | None) -> str:
    return t.strftime("%Y-%m-%dT%H:%M:%SZ") if t else "unknown"


def _vllm_time(text: str, near: datetime) -> datetime | None:
    """vLLM's `MM-DD hh:mm:ss` (no year, read as UTC) as the datetime nearest `near`."""
    try:
        t = datetime.strptime(f"{near.year}-{text}", "%Y-%m-%d %H:%M:%S").replace(tzinfo=UTC)
    except ValueError:
        return None
    if t - near > timedelta(days=183):
        return t.replace(year=t.year - 1)
    return t.replace(year=t.year + 1) if near - t > timedelta(days=183) else t


def served_after(x: PodLoad, start: datetime) -> bool:
    """Its log shows it busy after `start`: a busy stats sample's time, else its container started after."""
    when = x.stats.last_busy_time if x.stats is not None else None
    if when:
        t = _vllm_time(when, start)
        return t is not None and t >= start + MARGIN
    began = started(x.log)
    return began is not None and began >= start
