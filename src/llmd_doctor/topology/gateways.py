"""Gateways with their class, implementation, control plane, data plane and attached routes.

The implementation is a plugin (llmd_doctor.gateways) chosen by the GatewayClass's controllerName;
the control plane and data plane are found through it, never by naming an implementation here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

from llmd_doctor import k8s
from llmd_doctor.gateways import Controller, DataPlaneSpec, GatewayImplementation
from llmd_doctor.kinds import DEPLOYMENT, GATEWAY_CLASS, HTTPROUTE, POD, SERVICE
from llmd_doctor.topology.known import Items, ObjectNode, Ref, recorded

if TYPE_CHECKING:
    from llmd_doctor.topology.routes import Route

Obj = dict[str, Any]
# Labels llm-d charts and guides put on the Gateway meant for inference.
INFERENCE_GATEWAY_LABELS = (("istio.io/enable-inference-extproc", "true"),
                            ("app.kubernetes.io/component", "inference-gateway"))


@dataclass(frozen=True)
class DataPlane:
    """The proxy a controller created for one Gateway: its Deployment, Service and pods."""

    spec: DataPlaneSpec
    deployment: Ref[Obj]
    service: Ref[Obj]
    pods: Items[Obj]

    @property
    def ready(self) -> bool:
        return any(k8s.pod_ready(p) for p in self.pods)


@dataclass(eq=False)
class Gateway(ObjectNode):
    KIND: ClassVar[str] = "Gateway"

    obj: Obj
    class_name: str
    _gateway_class: Ref[Obj] = field(default_factory=Ref)
    _implementation: GatewayImplementation | None = None
    _controller: Ref[Controller] = field(default_factory=Ref)
    _controller_pods: Items[Obj] = field(default_factory=Items)
    _routes: Items[Route] = field(default_factory=Items)
    _data_plane: DataPlane | None = None
    llmd: bool = False

    @property
    def key(self) -> tuple[str, str]:
        return self.namespace, self.name

    @property
    def labelled_for_inference(self) -> bool:
        lbls = k8s.labels(self.obj)
        return any(lbls.get(a) == b for a, b in INFERENCE_GATEWAY_LABELS)

    @property
    def addresses(self) -> list[str]:
        return [str(a.get("value")) for a in (self.obj.get("status") or {}).get("addresses") or [] if a.get("value")]

    @property
    def parameters_ref(self) -> Obj | None:
        return ((self.obj.get("spec") or {}).get("infrastructure") or {}).get("parametersRef")

    @recorded(GATEWAY_CLASS)
    def gateway_class(self) -> Ref[Obj]:
        return self._gateway_class

    @property
    def controller_name(self) -> str | None:
        cls = self.gateway_class.target
        return str((cls.get("spec") or {}).get("controllerName", "")) if cls else None

    @recorded(GATEWAY_CLASS)
    def implementation(self) -> GatewayImplementation | None:
        """The plugin that owns the class's controllerName (None: unknown class or implementation)."""
        return self._implementation

    @recorded(GATEWAY_CLASS, DEPLOYMENT)
    def controller(self) -> Ref[Controller]:
        """The control plane that programs it (missing for managed implementations such as GKE)."""
        return self._controller

    @recorded(GATEWAY_CLASS, DEPLOYMENT, POD)
    def controller_pods(self) -> Items[Obj]:
        """The pods of its control plane's workload (empty when the controller is missing or managed)."""
        return self._controller_pods

    @recorded(HTTPROUTE)
    def routes(self) -> Items[Route]:
        """HTTPRoutes whose parentRefs name it."""
        return self._routes

    @recorded(GATEWAY_CLASS, DEPLOYMENT, SERVICE, POD)
    def data_plane(self) -> DataPlane | None:
        """The proxy its controller creates for it (None: implementation unknown)."""
        return self._data_plane

    @property
    def label(self) -> str:
        """`Istio 1.27.0`, `GKE Gateway`, or the controller name when the implementation is unknown."""
        impl = self.implementation
        if impl is None:
            return self.controller_name or "unknown controller"
        ctl = self.controller.target
        return f"{impl.title} {ctl.version_text}" if ctl and ctl.version_text else impl.title
