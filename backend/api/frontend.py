"""The web dApp (frontend/dist, built by bootstrap) served at ``/``, and ``GET
/v1/deployment``: what the browser needs to talk to the chain (chain id, RPC URL, contract
addresses and ABIs).

Routing: a file under dist is served as is; any other non-API path gets index.html (the
app routes on the client, e.g. ``/blob/<id>``), except paths that name a file (``*.js``):
a missing asset is a JSON 404, not HTML. Unknown ``/v1/*`` paths answer a JSON 404 (or a
JSON 405 when the path exists for another method). Paths are resolved with werkzeug's
``safe_join``, so ``..`` cannot leave dist.
"""

from __future__ import annotations

import html
import os
import threading
from pathlib import Path
from typing import Any, Final

from flask import Blueprint, Response, current_app, jsonify, request, send_from_directory
from werkzeug.exceptions import MethodNotAllowed, NotFound
from werkzeug.routing import RequestRedirect
from werkzeug.security import safe_join

from backend.api.publisher import MAX_BLOB_BYTES_KEY
from backend.chain.compiler import REPO_ROOT, Artifacts, compile_contracts
from backend.chain.deployment import Deployment
from backend.chain.devnet import DEV_CHAIN_ID
from backend.chain.errors import ChainError
from backend.core.params import max_blob_size
from backend.sdk.client import Client
from backend.sdk.config import resolve_deployment
from backend.sdk.errors import SdkError

frontend = Blueprint("frontend", __name__)

FRONTEND_DIR_KEY: Final = "WALRUS_FRONTEND_DIR"
"""App config (or environment variable): the built UI's directory; default frontend/dist."""
DEPLOYMENT_FILE_KEY: Final = "WALRUS_DEPLOYMENT_FILE"
"""App config: the deployment JSON this backend was started with (`walrus serve
--deployment`), when it is neither $WALRUS_DEPLOYMENT nor deployments/<chain id>.json."""
PUBLIC_RPC_URL_KEY: Final = "WALRUS_PUBLIC_RPC_URL"
"""App config (or environment variable): the JSON-RPC URL browsers use, when the backend's
own (e.g. a private address) is not reachable from them; default: the backend's."""
DEFAULT_DIST: Final = REPO_ROOT / "frontend" / "dist"
API_PREFIX: Final = "/v1/"
METHODS: Final = ("GET", "HEAD", "POST", "PUT", "DELETE", "PATCH")

_artifacts_lock = threading.Lock()


def _setting(key: str) -> str | None:
    value = current_app.config.get(key) or os.environ.get(key)
    return str(value) if value else None


def dist_dir() -> Path:
    return Path(_setting(FRONTEND_DIR_KEY) or DEFAULT_DIST)


def _artifacts() -> Artifacts:
    """Compiled once per app (the compile cache makes it cheap, but not free)."""
    with _artifacts_lock:
        cached = current_app.extensions.get("walrus_artifacts")
        if cached is None:
            cached = compile_contracts()
            current_app.extensions["walrus_artifacts"] = cached
        assert isinstance(cached, Artifacts)
        return cached


def _contracts(client: Client, artifacts: Artifacts) -> tuple[dict[str, str], int]:
    """Every deployed contract by name, and the deploy block. From the deployment file
    (app config WALRUS_DEPLOYMENT_FILE, else $WALRUS_DEPLOYMENT, else
    deployments/<chain id>.json) when it is the one this backend serves; otherwise only the
    three contracts the client itself knows."""
    own = {
        "WAL": str(client.wal.address),
        "Staking": str(client.staking.address),
        "BlobRegistry": str(client.registry.address),
    }
    deployment = served_deployment(client, artifacts)
    if deployment is None:
        return own, client.events_from_block
    return dict(deployment.contracts), deployment.deploy_block


def served_deployment(client: Client, artifacts: Artifacts) -> Deployment | None:
    """The deployment file (app config WALRUS_DEPLOYMENT_FILE, else $WALRUS_DEPLOYMENT, else
    deployments/<chain id>.json) when it is the one this backend serves, else None."""
    configured = current_app.config.get(DEPLOYMENT_FILE_KEY)
    try:
        deployment: Deployment = resolve_deployment(
            Path(configured) if configured else None, client.chain.chain_id, artifacts
        )
    except (ChainError, SdkError):
        return None
    if deployment.contracts.get("BlobRegistry") != client.registry.address:
        return None
    return deployment


@frontend.get("/v1/deployment")
def deployment_info() -> Any:
    client: Client = current_app.extensions["walrus_client"]
    artifacts = _artifacts()
    addresses, deploy_block = _contracts(client, artifacts)
    chain_id = client.chain.chain_id
    contracts = {
        name: {"address": address, "abi": artifacts.abi(name)}
        for name, address in sorted(addresses.items())
        if name in artifacts
    }
    return jsonify(
        chainId=chain_id,
        chainName="Walrus devnet (anvil)" if chain_id == DEV_CHAIN_ID else f"Chain {chain_id}",
        rpcUrl=_setting(PUBLIC_RPC_URL_KEY) or client.chain.rpc_url,
        deployBlock=deploy_block,
        maxBlobBytes=current_app.config.get(MAX_BLOB_BYTES_KEY) or max_blob_size(client.n_shards),
        contracts=contracts,
    )


def _allowed_methods(path: str) -> list[str]:
    """Methods another blueprint answers `path` with (the catch-all excluded)."""
    adapter = current_app.url_map.bind("localhost")
    allowed = []
    for method in METHODS:
        try:
            endpoint, _ = adapter.match(path, method=method)
        except (NotFound, MethodNotAllowed, RequestRedirect):
            continue
        if endpoint != "frontend.catch_all":
            allowed.append(method)
    return allowed


_MISSING_UI: Final = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Walrus: web UI not built</title>
<meta name="viewport" content="width=device-width, initial-scale=1"></head>
<body style="font-family: system-ui, sans-serif; max-width: 40rem; margin: 3rem auto;
 padding: 0 1rem; line-height: 1.5">
<h1>The web UI is not built</h1>
<p>This backend serves the dApp from <code>{dist}</code>, which has no
<code>index.html</code>. Build it with <code>make up</code> (or
<code>scripts/bootstrap</code>), or by hand:</p>
<pre>cd frontend &amp;&amp; npm ci &amp;&amp; npm run build</pre>
<p>The HTTP API works without it: see <a href="/v1/api">/v1/api</a>.</p>
</body></html>
"""


def _index(dist: Path) -> Response:
    if not (dist / "index.html").is_file():
        page = _MISSING_UI.format(dist=html.escape(str(dist)))
        return Response(page, status=503, mimetype="text/html")
    response = send_from_directory(dist, "index.html", max_age=0)
    response.headers["Cache-Control"] = "no-cache"
    return response


@frontend.route("/", defaults={"path": ""}, methods=list(METHODS))
@frontend.route("/<path:path>", methods=list(METHODS))
def catch_all(path: str) -> Any:
    full = "/" + path
    if full.startswith(API_PREFIX) or full == API_PREFIX.rstrip("/"):
        allowed = _allowed_methods(full)
        if allowed:
            raise MethodNotAllowed(
                valid_methods=allowed,
                description=f"{request.method} {full} is not supported; use {', '.join(allowed)}",
            )
        raise NotFound(f"no API route {full}; the routes are listed at /v1/api")
    if request.method not in ("GET", "HEAD"):
        raise MethodNotAllowed(valid_methods=["GET", "HEAD"])
    dist = dist_dir()
    target = safe_join(str(dist), path) if path else None
    if target is not None and Path(target).is_file():
        response = send_from_directory(dist, path)
        if path.startswith("assets/"):  # content-hashed names: cache for good
            response.headers["Cache-Control"] = "public, max-age=31536000, immutable"
        return response
    if "." in Path(path).name:
        raise NotFound(f"no file /{path} in the web UI")
    return _index(dist)
