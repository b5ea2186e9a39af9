"""Envoy AI Gateway (on Envoy Gateway): every fact is data (envoy-ai-gateway.yaml)."""

from llmd_doctor.gateways.base import GatewayImplementation, load_facts

IMPLEMENTATION = GatewayImplementation(load_facts(__name__, "envoy-ai-gateway"))
