"""`create_app(client)`: the publisher + aggregator HTTP backend (`walrus serve`), a Flask
app made of blueprints, served by waitress."""

from __future__ import annotations

import threading
from collections import Counter
from typing import Any

from flask import Blueprint, Flask, Response, current_app, g, jsonify, request

from backend.api.aggregator import aggregator
from backend.api.availability import availability
from backend.api.errors import register_error_handlers
from backend.api.frontend import frontend
from backend.api.indexer.routes import index
from backend.api.network_views import network_views
from backend.api.openapi import OPENAPI
from backend.api.publisher import publisher
from backend.api.quilts import quilts
from backend.api.relay import relay
from backend.sdk.client import Client

service = Blueprint("service", __name__)


@service.get("/v1/health")
def health() -> Any:
    client: Client = current_app.extensions["walrus_client"]
    nodes = client.health()
    up = sum(1 for node in nodes if node["ok"])
    return jsonify(
        status="ok" if up == len(nodes) else "degraded",
        epoch=client.staking.current_epoch(),
        nodes_up=up,
        nodes=len(nodes),
    )


@service.get("/v1/api")
def openapi() -> Any:
    return jsonify(OPENAPI)


@service.get("/metrics")
def metrics() -> Response:
    counts: Counter[tuple[str, int]] = current_app.extensions["walrus_requests"]
    lines = [
        "# HELP walrus_api_requests_total Requests answered, by route and status.",
        "# TYPE walrus_api_requests_total counter",
    ]
    for (route, status), count in sorted(counts.items()):
        lines.append(f'walrus_api_requests_total{{route="{route}",status="{status}"}} {count}')
    client: Client = current_app.extensions["walrus_client"]
    lines += [
        "# HELP walrus_api_node_answers_rejected_total Node answers that failed verification "
        "(a lying or corrupted node; reads use other nodes), by node and what was sent.",
        "# TYPE walrus_api_node_answers_rejected_total counter",
    ]
    for (node, what), count in sorted(client.rejected_answers().items()):
        lines.append(
            f'walrus_api_node_answers_rejected_total{{node="{node}",what="{what}"}} {count}'
        )
    return Response("\n".join(lines) + "\n", mimetype="text/plain; version=0.0.4")


def create_app(client: Client) -> Flask:
    app = Flask("walrus-api")
    app.extensions["walrus_client"] = client
    counts: Counter[tuple[str, int]] = Counter()
    app.extensions["walrus_requests"] = counts
    lock = threading.Lock()
    register_error_handlers(app)
    app.register_blueprint(publisher)
    app.register_blueprint(aggregator)
    app.register_blueprint(availability)
    app.register_blueprint(index)
    app.register_blueprint(quilts)
    app.register_blueprint(relay)
    app.register_blueprint(network_views)
    app.register_blueprint(service)
    app.register_blueprint(frontend)  # last: its catch-all serves the web UI

    @app.before_request
    def remember_route() -> None:
        g.route = request.url_rule.rule if request.url_rule else "unknown"

    @app.after_request
    def count(response: Response) -> Response:
        with lock:
            counts[(getattr(g, "route", "unknown"), response.status_code)] += 1
        return response

    return app
