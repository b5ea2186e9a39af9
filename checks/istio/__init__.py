"""Istio as the inference gateway: istiod, its inference-extension switch, TLS to the endpoint picker."""

AREA = "istio"
TITLE = "Istio"
