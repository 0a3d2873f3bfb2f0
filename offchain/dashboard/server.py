"""The dashboard's web server: two pages, their JSON, the static files, nothing that writes.

Starlette routes, served by uvicorn on a socket bound here (so a taken port is a one-line error and
port 0 picks a free one). Pages are small HTML shells filled by `static/dashboard.js`, which polls
`/api/snapshot` every POLL_S seconds and redraws when the block number changed: a new settlement
shows up within a second or so of its block, without reloading the page. Chart.js comes from the
project's `node_modules` (pinned in package.json), never from a CDN.
"""

from __future__ import annotations

import html
import json
import os
import socket
import threading
import time
from pathlib import Path
from string import Template
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, JSONResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from offchain.dashboard.snapshot import ChainSource
from offchain.errors import ConfigError, PoQError

POLL_S = 1.0  # the page asks for a new snapshot this often (local chains mine a block per transaction)
WATCH_S = 2.0  # with exit_with_chain: probe the chain this often...
CHAIN_GONE_S = 10.0  # ...and stop once it has not answered for this long
HERE = Path(__file__).resolve().parent
_CHARTJS = Path("node_modules/chart.js/dist/chart.umd.min.js")


def find_chartjs() -> Path:
    """Chart.js's browser build from node_modules, looked up from the cwd and from this package."""
    for start in (Path.cwd(), HERE):
        for directory in (start, *start.parents):
            if (candidate := directory / _CHARTJS).is_file():
                return candidate
    raise ConfigError("Chart.js not found: run `npm ci` in the project root (package.json pins chart.js)")


def _page(title: str, body: str, *, status: int = 200, data: dict[str, Any] | None = None) -> HTMLResponse:
    """The layout around `body`; `data` is handed to the page script as JSON (escaped for <script>)."""
    payload = json.dumps({"poll_ms": int(POLL_S * 1000), **(data or {})}).replace("<", "\\u003c")
    layout = Template((HERE / "templates" / "layout.html").read_text(encoding="utf-8"))
    text = layout.substitute(title=html.escape(title), body=body, data=payload)
    return HTMLResponse(text, status_code=status, headers={"Cache-Control": "no-store"})


def _template(name: str) -> str:
    return (HERE / "templates" / name).read_text(encoding="utf-8")


def _task_id(request: Request) -> int | None:
    text = str(request.path_params["task_id"])
    return int(text) if text.isdigit() else None


def create_app(source: ChainSource) -> Starlette:
    """The Starlette app over `source`. Every route is a GET; none sends a transaction."""
    chartjs = find_chartjs()

    def index(request: Request) -> Response:
        return _page("PoQ dashboard", _template("index.html"), data={"page": "index"})

    def task(request: Request) -> Response:
        task_id = _task_id(request)
        try:
            story = source.task(task_id) if task_id is not None else None
        except PoQError as exc:
            return _page("PoQ dashboard: chain unavailable", _message(str(exc)), status=503)
        if story is None:
            shown = html.escape(str(request.path_params["task_id"]))
            return _page(f"Unknown task {shown}", _message(f"There is no task {shown} on this deployment."), status=404)
        return _page(f"Task {task_id}", _template("task.html"), data={"page": "task", "task": story})

    def api_snapshot(request: Request) -> Response:
        snap = source.snapshot()
        return JSONResponse(snap, status_code=200 if snap["status"] == "live" else 503, headers=_NO_STORE)

    def api_task(request: Request) -> Response:
        task_id = _task_id(request)
        try:
            story = source.task(task_id) if task_id is not None else None
        except PoQError as exc:
            return JSONResponse({"status": "error", "error": str(exc)}, status_code=503, headers=_NO_STORE)
        if story is None:
            return JSONResponse({"status": "missing", "error": f"no task {task_id}"}, status_code=404)
        return JSONResponse(story, headers=_NO_STORE)

    def health(request: Request) -> Response:
        return JSONResponse(
            {"service": "poq-dashboard", "rpc_url": source.rpc_url, "deployments": str(source.deployments_dir)}
        )

    def chart(request: Request) -> Response:
        return FileResponse(chartjs, media_type="text/javascript")

    return Starlette(
        routes=[
            Route("/", index),
            Route("/task/{task_id}", task),
            Route("/api/snapshot", api_snapshot),
            Route("/api/task/{task_id}", api_task),
            Route("/api/health", health),
            Route("/static/chart.umd.min.js", chart),
            Mount("/static", StaticFiles(directory=HERE / "static"), name="static"),
        ]
    )


_NO_STORE = {"Cache-Control": "no-store"}


def _message(text: str) -> str:
    return f'<p class="message">{html.escape(text)}</p><p><a href="/">Back to the dashboard</a></p>'


class DashboardServer:
    """uvicorn serving `create_app(source)` on host:port, in the foreground or in a thread.

    With `exit_with_chain`, a watcher stops the server once the chain has not answered for
    CHAIN_GONE_S seconds (how `poq demo`'s detached dashboard ends with its chain).
    """

    def __init__(self, source: ChainSource, host: str = "127.0.0.1", port: int = 8050, *,
                 exit_with_chain: bool = False) -> None:
        self.source = source
        self.exit_with_chain = exit_with_chain
        app = create_app(source)
        self.sock = _bind(host, port)
        self.host, self.port = host, int(self.sock.getsockname()[1])
        config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off")
        self.server = uvicorn.Server(config)
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}/"

    def run(self) -> None:
        """Serve until stopped (Ctrl-C, SIGTERM, `stop()`, or the chain going away)."""
        if self.exit_with_chain:
            threading.Thread(target=self._watch_chain, name="poq-dashboard-watch", daemon=True).start()
        try:
            self.server.run(sockets=[self.sock])
        finally:
            self.sock.close()

    def start(self, timeout: float = 10.0) -> DashboardServer:
        """Serve from a background thread; returns once the server accepts connections."""
        self._thread = threading.Thread(target=self.run, name="poq-dashboard", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self.server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise ConfigError(f"the dashboard did not start on {self.url}")
            time.sleep(0.01)
        return self

    def stop(self, timeout: float = 10.0) -> None:
        self.server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout)

    def _watch_chain(self) -> None:
        silent_since: float | None = None
        while not self.server.should_exit:
            if self.source.alive():
                silent_since = None
            elif silent_since is None:
                silent_since = time.monotonic()
            elif time.monotonic() - silent_since >= CHAIN_GONE_S:
                self.server.should_exit = True
            time.sleep(WATCH_S)


def _bind(host: str, port: int) -> socket.socket:
    """A listening socket on host:port; a taken port or a bad host is a one-line ConfigError."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    if os.name != "nt":
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
        sock.listen(128)
    except OSError as exc:
        sock.close()
        raise ConfigError(f"cannot serve the dashboard on {host}:{port} ({exc.strerror or exc}): pass --port") from None
    sock.set_inheritable(True)
    return sock
