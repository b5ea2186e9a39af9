"""gke: every fact is data (gke.yaml); nothing here needs code."""

from llmd_doctor.gateways.base import GatewayImplementation, load_facts

IMPLEMENTATION = GatewayImplementation(load_facts(__name__, "gke"))
