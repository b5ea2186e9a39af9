"""agentgateway: every fact is data (agentgateway.yaml); nothing here needs code."""

from llmd_doctor.gateways.base import GatewayImplementation, load_facts

IMPLEMENTATION = GatewayImplementation(load_facts(__name__, "agentgateway"))
