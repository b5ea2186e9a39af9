"""Kubernetes `Status` bodies, shaped exactly as kube-apiserver writes them."""

from __future__ import annotations

from typing import Any

REASONS = {
    400: "BadRequest",
    401: "Unauthorized",
    403: "Forbidden",
    404: "NotFound",
    405: "MethodNotAllowed",
    406: "NotAcceptable",
    410: "Expired",
    415: "UnsupportedMediaType",
    500: "InternalError",
    503: "ServiceUnavailable",
}


def status(code: int, message: str, reason: str | None = None, details: dict[str, Any] | None = None) -> dict:
    body: dict[str, Any] = {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": message,
        "reason": reason or REASONS.get(code, "InternalError"),
    }
    if details is not None:
        body["details"] = details
    body["code"] = code
    return body


class ApiError(Exception):
    """Raised by handlers; the server answers with `body` and `code`."""

    def __init__(self, body: dict[str, Any]):
        super().__init__(body.get("message", ""))
        self.body = body
        self.code = int(body["code"])


def _details(resource: str, group: str, name: str) -> dict[str, Any]:
    d: dict[str, Any] = {}
    if name:
        d["name"] = name
    if group:
        d["group"] = group
    d["kind"] = resource
    return d


def qualified(resource: str, group: str) -> str:
    return f"{resource}.{group}" if group else resource


def not_found(resource: str, group: str, name: str) -> ApiError:
    msg = f'{qualified(resource, group)} "{name}" not found'
    return ApiError(status(404, msg, "NotFound", _details(resource, group, name)))


def no_route() -> ApiError:
    return ApiError(status(404, "the server could not find the requested resource", "NotFound", {}))


def bad_request(message: str) -> ApiError:
    return ApiError(status(400, message, "BadRequest"))


def method_not_allowed(message: str = "the server does not allow this method on the requested resource") -> ApiError:
    return ApiError(status(405, message, "MethodNotAllowed", {}))


def unauthorized() -> ApiError:
    return ApiError(status(401, "Unauthorized", "Unauthorized"))


def expired() -> ApiError:
    return ApiError(status(410, (
        "The provided continue parameter is too old to display a consistent list result. You can start a new "
        "list without the continue parameter, or use the continue token in this response to retrieve the "
        "remainder of the results. Continuing with the provided token results in an inconsistent list - "
        "objects that were created, modified, or deleted between the time the first chunk was returned and "
        "now may show up in the list."), "Expired"))


def forbidden(user: str, verb: str, *, resource: str = "", subresource: str = "", group: str = "",
              namespace: str = "", name: str = "", path: str = "", reason: str = "") -> ApiError:
    """apiserver's responsewriters.Forbidden + apierrors.NewForbidden."""
    if not resource:
        why = f'User "{user}" cannot {verb} path "{path}"'
        msg = f"forbidden: {why}"
        details: dict[str, Any] = {}
    else:
        full = f"{resource}/{subresource}" if subresource else resource
        where = f'in the namespace "{namespace}"' if namespace else "at the cluster scope"
        why = f'User "{user}" cannot {verb} resource "{full}" in API group "{group}" {where}'
        q = qualified(resource, group)
        msg = f'{q} "{name}" is forbidden: {why}' if name else f"{q} is forbidden: {why}"
        details = _details(resource, group, name)
    if reason:
        msg += f": {reason}"
    return ApiError(status(403, msg, "Forbidden", details))
