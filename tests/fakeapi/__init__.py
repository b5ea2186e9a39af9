"""A read-only fake Kubernetes API server over a bundle, for tests (see server.py)."""

from .server import FakeApiServer, Fault, RequestRecord

__all__ = ["FakeApiServer", "Fault", "RequestRecord"]
