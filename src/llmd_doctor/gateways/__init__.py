"""Gateway implementations as plugins: one module and one YAML file of facts each.

`implementations()` lists them (built-ins, then the `llmd_doctor.gateways` entry-point group);
`for_controller()` finds the one that owns a GatewayClass's controllerName. To add one, see
docs/architecture.md ("Adding a gateway implementation").
"""

from __future__ import annotations

import importlib
from functools import cache

from llmd_doctor.gateways.base import (
    Controller,
    DataPlaneSpec,
    GatewayImplementation,
    Release,
    Switch,
)

ENTRY_POINT_GROUP = "llmd_doctor.gateways"
BUILTIN: tuple[str, ...] = (
    "llmd_doctor.gateways.istio",
    "llmd_doctor.gateways.kgateway",
    "llmd_doctor.gateways.agentgateway",
    "llmd_doctor.gateways.gke",
    "llmd_doctor.gateways.envoy_ai_gateway",
)


@cache
def implementations() -> tuple[GatewayImplementation, ...]:
    """Every implementation: each module exposes `IMPLEMENTATION`."""
    from importlib.metadata import entry_points

    modules = [importlib.import_module(m) for m in BUILTIN]
    found = [m.IMPLEMENTATION for m in modules]
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        obj = ep.load()
        found.append(getattr(obj, "IMPLEMENTATION", obj))
    return tuple(found)


def for_controller(controller_name: str | None) -> GatewayImplementation | None:
    return next((i for i in implementations() if i.owns(controller_name)), None)


def by_name(name: str) -> GatewayImplementation | None:
    return next((i for i in implementations() if i.name == name), None)


__all__ = ["Controller", "DataPlaneSpec", "GatewayImplementation", "Release", "Switch", "by_name",
           "for_controller", "implementations"]
