"""Envoy AI Gateway on Envoy Gateway: facts in envoy-ai-gateway.yaml; code only for its two controllers.

Envoy Gateway (envoy-gateway) programs the Gateway and hands InferencePool backends to its extension
server, the AI Gateway controller (ai-gateway-controller). The release that decides which pool API
group is routed is the AI Gateway's, so the extension is the controller a Gateway is judged by when
it runs; Envoy Gateway alone is reported when it does not.
"""

from __future__ import annotations

from typing import Any

from llmd_doctor.gateways.base import Controller, GatewayImplementation, load_facts

Obj = dict[str, Any]


class EnvoyAiGateway(GatewayImplementation):
    def __init__(self, facts: dict[str, Any]):
        super().__init__(facts)
        # The extension is found like a controller; its facts have the same shape.
        self._extension = GatewayImplementation({**facts, "controller": facts.get("extension") or {}})

    def controller(self, workload: Obj) -> Controller | None:
        return self._extension.controller(workload) or super().controller(workload)

    def is_extension(self, c: Controller) -> bool:
        return self._extension.controller_container(c.workload) is not None

    def controller_for(self, gateway: Obj, controller_name: str | None,
                       controllers: list[Controller]) -> Controller | None:
        ext = [c for c in controllers if self.is_extension(c)]
        return (ext or controllers or [None])[0]


IMPLEMENTATION = EnvoyAiGateway(load_facts(__name__, "envoy-ai-gateway"))
