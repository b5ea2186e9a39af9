"""The state of a Gateway's InferencePool switch, asked of its implementation plugin with the
configuration object a `config` switch lives in (Envoy Gateway's ConfigMap) when it could be read."""

from __future__ import annotations

from llmd_doctor.gateways import GatewayImplementation, Switch
from llmd_doctor.kinds import CONFIGMAP
from llmd_doctor.snapshot import Snapshot
from llmd_doctor.topology import Gateway


def switch_config(snap: Snapshot, impl: GatewayImplementation) -> dict | None:
    """The ConfigMap a configuration-file switch lives in, when it could be read."""
    where = impl.switch_config()
    if where is None or snap.gap(CONFIGMAP, where[0]) is not None:
        return None
    return snap.get(CONFIGMAP, where[0], where[1])


def switch_of(snap: Snapshot, g: Gateway) -> Switch | None:
    """The switch of the controller that programs `g` (None: unknown implementation or no controller)."""
    impl, ctl = g.implementation, g.controller.target
    if impl is None or ctl is None:
        return None
    return impl.switch(ctl, switch_config(snap, impl))
