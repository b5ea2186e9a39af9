"""Gateway API: CRDs, GatewayClasses, Gateways, their implementations, and the HTTPRoutes that carry inference traffic."""

AREA = "gateway"
TITLE = "Gateway API"
