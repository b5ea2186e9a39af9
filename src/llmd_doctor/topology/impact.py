"""What each component costs when it breaks: the capabilities a broken EPP, pool or model-server
group takes away. Asked by every check that reports such a break, answered only here."""

from __future__ import annotations

from typing import TYPE_CHECKING

from llmd_doctor.model import (
    CACHE_AWARE_ROUTING,
    EPP_CAPABILITIES,
    GATEWAY_ROUTING,
    GPU_INFERENCE,
    OPENAI_API,
    PD_DISAGGREGATION,
    PREFIX_CACHE,
    SATURATION_SCHEDULING,
)

if TYPE_CHECKING:
    from llmd_doctor.topology.epps import Epp
    from llmd_doctor.topology.pools import Pool
    from llmd_doctor.topology.servers import ServerGroup

#: What a pool that cannot route takes away when a route sends traffic through it.
POOL_CAPABILITIES = (CACHE_AWARE_ROUTING, PREFIX_CACHE, SATURATION_SCHEDULING, GATEWAY_ROUTING)
#: What model servers that cannot serve take away.
SERVING_CAPABILITIES = (GPU_INFERENCE, OPENAI_API)


def pool_routed(pool: Pool) -> bool:
    """Some HTTPRoute sends traffic through the pool (False also when routes could not be read)."""
    return bool(pool.routes)


def of_pool(pool: Pool, epp_path: bool = True) -> tuple[str, ...]:
    """A broken pool: the EPP's features, and gateway routing when a route sends traffic through it —
    for failures on the EPP path only when the pool fails closed (FailOpen bypasses a broken EPP)."""
    if pool_routed(pool) and not (epp_path and pool.fail_open):
        return POOL_CAPABILITIES
    return EPP_CAPABILITIES


def of_epp(epp: Epp) -> tuple[str, ...]:
    """A broken EPP: its scheduling features, and routing itself when a route sends traffic through
    its pool and the pool fails closed."""
    pool = epp.pool.target
    if pool is not None and pool_routed(pool) and not pool.fail_open:
        return (*EPP_CAPABILITIES, GATEWAY_ROUTING)
    return EPP_CAPABILITIES


def serves(group: ServerGroup) -> bool:
    """Whether a model-server group still answers requests: a Ready pod, and not prefill-only."""
    return bool(group.ready) and group.role != "prefill"


def of_servers(group: ServerGroup, groups: list[ServerGroup]) -> tuple[str, ...]:
    """A model-server group with no Ready pod: prefill loses P/D; decode loses serving itself unless
    another group still serves."""
    if group.role == "prefill":
        return (PD_DISAGGREGATION,)
    others_serve = any(o is not group and serves(o) for o in groups)
    return () if others_serve else SERVING_CAPABILITIES
