"""Where the API server is and how to authenticate, from a kubeconfig or the pod we run in.

The common kubeconfigs (a bearer token or token file, client certificates, basic auth; a CA file or
inline data, insecure-skip-tls-verify, tls-server-name) are read here directly: importing the
official kubernetes client costs 0.25-0.35 s of a run that should take under 2 s (issue #15).
Everything else (exec plugins, auth-provider entries, proxy-url, running in a pod) goes through the
official client's loader, as before, and its answer is used the same way. Merging KUBECONFIG files
and resolving relative paths follow kubectl: the first file to set a name or the current context
wins; paths are relative to the file that names them.
"""

from __future__ import annotations

import base64
import binascii
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


class KubeconfigError(Exception):
    """The kubeconfig cannot be used (missing, malformed, no such context)."""


@dataclass
class Target:
    """One API server and the credentials for it."""

    host: str  # https://host:port, without a trailing /
    context: str | None = None
    user: str | None = None
    ca_file: str | None = None
    ca_data: bytes | None = None
    verify: bool = True
    server_name: str | None = None  # tls-server-name
    cert_file: str | None = None  # client certificate and key, as files...
    key_file: str | None = None
    cert_data: bytes | None = None  # ...or as PEM data
    key_data: bytes | None = None
    proxy: str | None = None
    # The Authorization header's value for each request (a token that exec plugins or a mounted
    # token file renew); None = none to send.
    authorization: Callable[[], str | None] = field(default=lambda: None, repr=False)
    has_credentials: bool = False
    loader: str = "llmd-doctor"  # or "kubernetes-client": who read the configuration


def _read_yaml(path: str) -> dict[str, Any]:
    import yaml

    try:
        text = Path(path).read_text()
    except OSError as e:
        raise KubeconfigError(f"cannot read kubeconfig {path}: {e.strerror or e}") from e
    try:
        doc = yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except yaml.YAMLError as e:
        raise KubeconfigError(f"invalid kubeconfig {path}: {str(e).splitlines()[0]}") from e
    if doc is None:
        return {}
    if not isinstance(doc, dict):
        raise KubeconfigError(f"invalid kubeconfig {path}: not a mapping")
    return doc


@dataclass
class _Named:
    entry: dict[str, Any]
    base: str  # the folder of the file that named it: relative paths start there


def _merge(paths: list[str]) -> tuple[dict[str, dict[str, _Named]], str | None]:
    """clusters/users/contexts by name (the first file to name one wins) and the current context."""
    merged: dict[str, dict[str, _Named]] = {"clusters": {}, "users": {}, "contexts": {}}
    current: str | None = None
    for path in paths:
        doc = _read_yaml(path)
        base = str(Path(path).resolve().parent)
        for section, inner in (("clusters", "cluster"), ("users", "user"), ("contexts", "context")):
            for item in doc.get(section) or []:
                if isinstance(item, dict) and isinstance(item.get("name"), str):
                    value = item.get(inner)
                    merged[section].setdefault(item["name"], _Named(value if isinstance(value, dict) else {}, base))
        if current is None and isinstance(doc.get("current-context"), str) and doc["current-context"]:
            current = doc["current-context"]
    return merged, current


# What the fast path reads; anything else in a user or cluster entry goes to the official loader.
_FAST_USER = {"token", "tokenFile", "client-certificate", "client-certificate-data", "client-key",
              "client-key-data", "username", "password", "as", "as-groups", "as-uid", "as-user-extra", "extensions"}
_FAST_CLUSTER = {"server", "certificate-authority", "certificate-authority-data", "insecure-skip-tls-verify",
                 "tls-server-name", "extensions", "disable-compression"}


def _data(entry: dict[str, Any], key: str) -> bytes | None:
    raw = entry.get(f"{key}-data")
    if not raw:
        return None
    try:
        return base64.b64decode(str(raw), validate=False)
    except (binascii.Error, ValueError) as e:
        raise KubeconfigError(f"invalid kubeconfig: {key}-data is not base64 ({e})") from e


def _file(entry: dict[str, Any], key: str, base: str) -> str | None:
    raw = entry.get(key)
    if not raw:
        return None
    path = os.path.join(base, os.path.expanduser(str(raw)))
    if not os.path.exists(path):
        raise KubeconfigError(f"invalid kubeconfig: {key} {path} does not exist")
    return path


def _token(user: dict[str, Any], base: str) -> Callable[[], str | None] | None:
    if user.get("token"):
        header = f"Bearer {user['token']}"
        return lambda: header
    path = _file(user, "tokenFile", base)
    if path:  # re-read on each request: a projected token file is rotated in place
        return lambda: f"Bearer {Path(path).read_text().strip()}"
    if user.get("username") and user.get("password"):
        header = "Basic " + base64.b64encode(f"{user['username']}:{user['password']}".encode()).decode()
        return lambda: header
    return None


def load(kubeconfig: str | None, context: str | None) -> Target:
    """The API server and credentials of `context` (default: the current one) of `kubeconfig`
    (default: $KUBECONFIG, then ~/.kube/config), or of the pod we run in when there is neither."""
    path = kubeconfig or os.environ.get("KUBECONFIG") or os.path.expanduser("~/.kube/config")
    if not kubeconfig and not os.environ.get("KUBECONFIG") and not os.path.exists(path) \
            and os.environ.get("KUBERNETES_SERVICE_HOST"):
        return _in_cluster()
    paths = [p for p in path.split(os.pathsep) if p]
    if not paths or not os.path.exists(paths[0]):
        raise KubeconfigError(f"no kubeconfig at {paths[0] if paths else path} "
                              "(use --kubeconfig, set KUBECONFIG, or --bundle PATH)")
    merged, current = _merge([p for p in paths if os.path.exists(p)])
    name = context or current
    if context and context not in merged["contexts"]:
        raise KubeconfigError(f"context {context!r} not found in {path}")
    if not name or name not in merged["contexts"]:
        raise KubeconfigError(f"invalid kubeconfig: no current context in {path} (use --context)")
    ctx = merged["contexts"][name].entry
    cluster_name, user_name = ctx.get("cluster"), ctx.get("user")
    if cluster_name not in merged["clusters"]:
        raise KubeconfigError(f"invalid kubeconfig: context {name!r} names cluster {cluster_name!r}, "
                              f"which {path} does not define")
    cluster = merged["clusters"][cluster_name]
    user = merged["users"].get(user_name) if user_name else None
    if set(cluster.entry) - _FAST_CLUSTER or (user and set(user.entry) - _FAST_USER) \
            or (user and {"as", "as-groups", "as-uid", "as-user-extra"} & set(user.entry)):
        return _with_kubernetes_client(path, name, user_name)
    server = str(cluster.entry.get("server") or "").rstrip("/")
    if not server:
        raise KubeconfigError(f"invalid kubeconfig: cluster {cluster_name!r} has no server")
    u = user.entry if user else {}
    base = user.base if user else cluster.base
    target = Target(
        host=server, context=name, user=user_name,
        ca_file=_file(cluster.entry, "certificate-authority", cluster.base),
        ca_data=_data(cluster.entry, "certificate-authority"),
        verify=not bool(cluster.entry.get("insecure-skip-tls-verify")),
        server_name=cluster.entry.get("tls-server-name") or None,
        cert_file=_file(u, "client-certificate", base), key_file=_file(u, "client-key", base),
        cert_data=_data(u, "client-certificate"), key_data=_data(u, "client-key"),
    )
    token = _token(u, base)
    if token:
        target.authorization = token
    target.has_credentials = bool(token or target.cert_file or target.cert_data)
    return target


def _from_configuration(cfg: Any, context: str | None, user: str | None) -> Target:
    """A Target from the official client's Configuration (tokens renewed through its refresh hook)."""
    def authorization() -> str | None:
        if cfg.refresh_api_key_hook is not None:
            cfg.refresh_api_key_hook(cfg)
        value = cfg.api_key.get("BearerToken") or cfg.api_key.get("authorization")
        return str(value) if value else None

    return Target(
        host=str(cfg.host).rstrip("/"), context=context, user=user, ca_file=cfg.ssl_ca_cert,
        verify=bool(cfg.verify_ssl), server_name=getattr(cfg, "tls_server_name", None) or None,
        cert_file=cfg.cert_file, key_file=cfg.key_file, proxy=cfg.proxy or None, authorization=authorization,
        has_credentials=bool(cfg.api_key or cfg.cert_file or cfg.refresh_api_key_hook), loader="kubernetes-client",
    )


def _with_kubernetes_client(path: str, context: str, user: str | None) -> Target:
    from kubernetes import config as kconfig
    from kubernetes.client import Configuration
    from kubernetes.config.config_exception import ConfigException

    cfg = Configuration()
    try:
        kconfig.load_kube_config(config_file=path, context=context, client_configuration=cfg, persist_config=False)
    except ConfigException as e:
        raise KubeconfigError(f"invalid kubeconfig: {e}") from e
    except (OSError, ValueError, TypeError, KeyError) as e:
        raise KubeconfigError(f"cannot load kubeconfig: {e}") from e
    return _from_configuration(cfg, context, user)


def _in_cluster() -> Target:
    from kubernetes import config as kconfig
    from kubernetes.client import Configuration
    from kubernetes.config.config_exception import ConfigException

    cfg = Configuration()
    try:
        kconfig.load_incluster_config(client_configuration=cfg)
    except ConfigException as e:
        raise KubeconfigError(f"cannot use the pod's service account: {e}") from e
    return _from_configuration(cfg, "in-cluster", None)
