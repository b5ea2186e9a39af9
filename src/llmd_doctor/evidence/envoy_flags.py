"""Envoy's access-log response flags and the hop of an llm-d request path each one points at.

Flags and their names: Envoy's `%RESPONSE_FLAGS%`
(https://www.envoyproxy.io/docs/envoy/latest/configuration/observability/access_log/usage#config-access-log-format-response-flags,
source/common/stream_info/utility.h in https://github.com/envoyproxy/envoy). Istio's gateways and sidecars,
kgateway and Envoy Gateway all log them. The hop is where to look in this path:

    client -> gateway (listener, route) -> ext_proc: the EPP -> model server pod (vLLM, sidecar)
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

# Hops of the request path, in order.
CLIENT = "client"
GATEWAY = "gateway"  # the proxy itself: listeners, filters, limits, its own timeouts
ROUTE = "route"  # route matching and the backend it names (HTTPRoute -> InferencePool/Service)
EPP = "epp"  # the endpoint picker, called over ext_proc
MODEL_SERVER = "model-server"  # the pod the request was sent to (vLLM, the routing sidecar)
HOPS = (CLIENT, GATEWAY, ROUTE, EPP, MODEL_SERVER)


@dataclass(frozen=True)
class FlagMeaning:
    flag: str
    name: str  # Envoy's long name
    meaning: str  # what it says about an llm-d deployment
    hop: str


_TABLE = (
    FlagMeaning("UH", "NoHealthyUpstream", "no healthy upstream: the backend has no ready endpoint (model-server "
                "pods not Ready, not selected by the InferencePool/Service, or all ejected)", MODEL_SERVER),
    FlagMeaning("UF", "UpstreamConnectionFailure", "the connection to the upstream pod failed: it refused or "
                "dropped it (nothing listening on the target port, wrong targetPort, mTLS or NetworkPolicy)",
                MODEL_SERVER),
    FlagMeaning("UO", "UpstreamOverflow", "upstream overflow: a circuit breaker (max connections/pending "
                "requests) tripped", GATEWAY),
    FlagMeaning("NR", "NoRouteFound", "no route: no HTTPRoute rule matched the request (host, path, listener), "
                "or the route is not attached to this Gateway", ROUTE),
    FlagMeaning("URX", "UpstreamRetryLimitExceeded", "retries or connect attempts to the upstream pods were "
                "exhausted (each attempt failed)", MODEL_SERVER),
    FlagMeaning("NC", "NoClusterFound", "the route matched but its backend cluster does not exist: the "
                "backendRef (InferencePool or Service) was not translated by this gateway", ROUTE),
    FlagMeaning("DT", "DurationTimeout", "the request exceeded its maximum duration", GATEWAY),
    FlagMeaning("UT", "UpstreamRequestTimeout", "the model server did not answer within the route timeout "
                "(long generation, overload, or still loading)", MODEL_SERVER),
    FlagMeaning("LR", "LocalReset", "the gateway reset the stream itself", GATEWAY),
    FlagMeaning("UR", "UpstreamRemoteReset", "the upstream pod reset the stream", MODEL_SERVER),
    FlagMeaning("UC", "UpstreamConnectionTermination", "the upstream pod closed the connection (crash, "
                "restart, or an idle-timeout mismatch)", MODEL_SERVER),
    FlagMeaning("DC", "DownstreamConnectionTermination", "the client went away before the response ended", CLIENT),
    FlagMeaning("LH", "FailedLocalHealthCheck", "the local service failed its health check", GATEWAY),
    FlagMeaning("DI", "DelayInjected", "a fault-injection delay was applied", GATEWAY),
    FlagMeaning("FI", "FaultInjected", "a fault-injection abort answered the request", GATEWAY),
    FlagMeaning("RL", "RateLimited", "rate-limited locally by the gateway", GATEWAY),
    FlagMeaning("UAEX", "UnauthorizedExternalService", "denied by the external authorization service "
                "(ext_authz)", GATEWAY),
    FlagMeaning("RLSE", "RateLimitServiceError", "the rate-limit service failed", GATEWAY),
    FlagMeaning("SI", "StreamIdleTimeout", "the stream was idle past the idle timeout (a stalled streaming "
                "response)", MODEL_SERVER),
    FlagMeaning("IH", "InvalidEnvoyRequestHeaders", "the request carried invalid x-envoy-* headers", CLIENT),
    FlagMeaning("DPE", "DownstreamProtocolError", "the client's HTTP was malformed", CLIENT),
    FlagMeaning("UPE", "UpstreamProtocolError", "the upstream answered with broken HTTP (protocol mismatch, "
                "e.g. HTTP/2 to an HTTP/1.1 server)", MODEL_SERVER),
    FlagMeaning("UMSDR", "UpstreamMaxStreamDurationReached", "the upstream stream exceeded its maximum "
                "duration", MODEL_SERVER),
    FlagMeaning("RFCF", "ResponseFromCacheFilter", "answered from the cache filter", GATEWAY),
    FlagMeaning("NFCF", "NoFilterConfigFound", "a filter's configuration (e.g. the ext_proc filter's, sent by "
                "the control plane) was not received", GATEWAY),
    FlagMeaning("OM", "OverloadManagerTerminated", "the gateway's overload manager rejected the request", GATEWAY),
    FlagMeaning("DF", "DnsResolutionFailed", "DNS resolution of the upstream failed", GATEWAY),
    FlagMeaning("DO", "DropOverload", "dropped by the cluster's drop-overload policy", GATEWAY),
)
FLAGS: dict[str, FlagMeaning] = {f.flag: f for f in _TABLE}
_BY_NAME: dict[str, FlagMeaning] = {f.name: f for f in _TABLE}
# When several flags are set, the one that names the hop best (the failing hop before its consequences).
PRIORITY = ("NR", "NC", "NFCF", "UAEX", "RL", "RLSE", "FI", "UH", "UF", "UO", "URX", "UPE", "UT", "UMSDR",
            "SI", "UC", "UR", "LR", "DT", "DC", "DPE", "IH", "LH", "OM", "DF", "DO", "DI", "RFCF")


def flag_meaning(flag: str) -> FlagMeaning:
    """The meaning of one response flag, short (`UF`) or long (`UpstreamConnectionFailure`)."""
    flag = flag.strip()
    found = FLAGS.get(flag) or _BY_NAME.get(flag)
    if found is not None:
        return found
    return FlagMeaning(flag, flag, f"response flag {flag} (not in Envoy's documented list)", GATEWAY)


@lru_cache(maxsize=1024)
def split_flags(value: str | None) -> tuple[str, ...]:
    """`UF,URX` -> ("UF", "URX"); "-" or empty -> ()."""
    if not value or value.strip() in ("-", "", "null"):
        return ()
    return tuple(f.strip() for f in value.replace("|", ",").split(",") if f.strip() and f.strip() != "-")
