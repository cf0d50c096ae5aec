"""Prometheus metrics, one registry per app, and the timing middleware.

Each response carries ``Server-Timing: app;dur=<ms>``: the time from the request reaching the app
to the response starting, which is what the API benchmark reports as time in the server.
"""

from __future__ import annotations

import time

from prometheus_client import CollectorRegistry, Counter, Histogram
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

LATENCY_BUCKETS = (
    0.001,
    0.0025,
    0.005,
    0.0075,
    0.01,
    0.015,
    0.02,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
    2.5,
    5.0,
    10.0,
    30.0,
)


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Histogram(
            "assigner_http_request_duration_seconds",
            "Time in the server per request, by route template and status.",
            ["method", "route", "status"],
            registry=self.registry,
            buckets=LATENCY_BUCKETS,
        )
        self.assignments = Counter(
            "assigner_assignment_requests_total",
            "Assignment and withdrawal requests by outcome.",
            ["action", "outcome"],
            registry=self.registry,
        )
        self.roster_builds = Counter(
            "assigner_roster_index_builds_total",
            "Warm roster index (re)builds.",
            registry=self.registry,
        )
        self.jobs = Counter(
            "assigner_jobs_finished_total",
            "Jobs that reached a final status.",
            ["kind", "status"],
            registry=self.registry,
        )


class TimingMiddleware:
    """Times every HTTP request into ``Metrics.requests`` and adds ``Server-Timing``."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = 500

        async def timed_send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
                elapsed_ms = (time.perf_counter() - start) * 1000
                MutableHeaders(scope=message).append("Server-Timing", f"app;dur={elapsed_ms:.3f}")
            await send(message)

        try:
            await self.app(scope, receive, timed_send)
        finally:
            route = scope.get("route")
            template = getattr(route, "path", None) or "unmatched"
            self.metrics.requests.labels(scope["method"], template, str(status)).observe(
                time.perf_counter() - start
            )
