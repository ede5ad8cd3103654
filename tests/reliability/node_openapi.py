"""An OpenAPI 3 document of the storage node's HTTP API, built from the route templates in
backend/core/routes.py, so schemathesis can fuzz a node like the backend (the node serves no
document of its own). `NODE_OPERATIONS` lists the methods each route answers."""

from __future__ import annotations

import re
from typing import Any

from backend.core import routes

NODE_OPERATIONS: dict[str, tuple[str, ...]] = {
    routes.HEALTH: ("get",),
    routes.METRICS: ("get",),
    routes.METADATA: ("get", "put"),
    routes.SLIVER: ("get", "put"),
    routes.CONFIRMATION: ("get",),
    routes.STATUS: ("get",),
    routes.RECOVERY_SYMBOLS: ("get",),
    routes.INCONSISTENCY_PROOF: ("post",),
}
_PARAMETER = re.compile(r"<(?:(int):)?([a-z_]+)>")
_QUERY: dict[str, list[dict[str, Any]]] = {
    routes.CONFIRMATION: [
        {"name": "deletable", "in": "query", "schema": {"type": "string"}},
        {"name": "token_id", "in": "query", "schema": {"type": "string"}},
    ],
}


def node_route_templates() -> set[str]:
    """Every route template constant of backend/core/routes.py that the node serves."""
    return {
        value
        for name, value in vars(routes).items()
        if name.isupper() and isinstance(value, str) and value.startswith(("/v1/blobs", "/v1/h"))
    } | {routes.METRICS}


def node_openapi() -> dict[str, Any]:
    paths: dict[str, Any] = {}
    for template, methods in NODE_OPERATIONS.items():
        parameters = [
            {
                "name": name,
                "in": "path",
                "required": True,
                "schema": {"type": "integer" if converter == "int" else "string"},
            }
            for converter, name in _PARAMETER.findall(template)
        ] + _QUERY.get(template, [])
        operations: dict[str, Any] = {}
        for method in methods:
            operation: dict[str, Any] = {
                "parameters": parameters,
                "responses": {"default": {"description": "any"}},
            }
            if method in ("put", "post"):
                operation["requestBody"] = {"content": {"application/octet-stream": {}}}
            operations[method] = operation
        paths[_PARAMETER.sub(lambda match: "{" + match.group(2) + "}", template)] = operations
    info = {"title": "walrus-evm storage node", "version": "1"}
    return {"openapi": "3.0.3", "info": info, "paths": paths}
