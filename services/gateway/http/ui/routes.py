"""Routes of the web UI: read the request, ask :class:`Reads`, render a template.

Every page is a GET with its state in the URL (filters, sort, page token, compared
versions), so any page can be shared. Forms that change something are POSTs guarded
against CSRF (:mod:`session`). A registry error becomes a page with the HTTP status its
gRPC code maps to and the registry's message; anything else a 500 page, logged with
its traceback and never shown.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import PlainTextResponse, RedirectResponse, Response, StreamingResponse
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates

from modelregistry.v1 import resources_pb2
from services.common.auth import Identity, Role, authorize
from services.common.errors import InvalidArgument, RegistryError, Unauthenticated
from services.gateway.http.ui import views
from services.gateway.http.ui.feed import EventFeed, FeedEnded
from services.gateway.http.ui.pages import HTTP_STATUS, Page, Pages
from services.gateway.http.ui.reads import Reads, visible
from services.gateway.http.ui.session import (
    Sessions,
    check_csrf,
    csrf_value,
    set_csrf_cookie,
)

logger = logging.getLogger(__name__)
HERE = Path(__file__).parent
#: Largest form body accepted (a comment is at most 16 KiB).
MAX_FORM_BYTES = 64 * 1024

TITLES = {400: "Bad request", 401: "Sign in", 403: "Refused", 404: "Not found", 409: "Conflict"}
HEADERS = {
    "Cache-Control": "no-store",
    "Content-Security-Policy": "default-src 'self'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}


Handler = Callable[[Request, Identity, Mapping[str, Any]], "Page | Response"]


def templates() -> Jinja2Templates:
    found = Jinja2Templates(directory=str(HERE / "templates"))
    found.env.filters.update(views.FILTERS)
    found.env.globals["query"] = views.query
    return found


class FormRefused(Exception):
    """A form body this UI does not read: too large, or not URL-encoded."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


async def read_form(request: Request) -> dict[str, str]:
    """The fields of a URL-encoded form body of at most MAX_FORM_BYTES (chunked or not)."""
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind != "application/x-www-form-urlencoded":
        raise FormRefused(415, "forms must be sent as application/x-www-form-urlencoded")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_FORM_BYTES:
            raise FormRefused(413, f"form too large: at most {MAX_FORM_BYTES // 1024} KiB")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise FormRefused(400, "the form is not UTF-8") from None
    return dict(parse_qsl(text, keep_blank_values=True, max_num_fields=100))


class Ui:
    """The web UI's endpoints over :class:`Reads`, with sessions and the live feed."""

    def __init__(self, reads: Reads, sessions: Sessions, feed: EventFeed) -> None:
        self.reads = reads
        self.sessions = sessions
        self.feed = feed
        self.templates = templates()
        self.pages = Pages(reads)

    def routes(self) -> list[BaseRoute]:
        pages = self.pages
        return [
            Route("/", self._page(pages.models)),
            Route("/models/{model}", self._page(pages.model)),
            Route("/models/{model}/versions/{version}", self._page(pages.version)),
            Route("/compare", self._page(pages.compare)),
            Route("/lineage", self._page(pages.lineage)),
            Route("/promotions", self._page(pages.promotions)),
            Route("/promotions/decide", self._page(pages.decide), methods=["POST"]),
            Route("/events", self._page(pages.events)),
            Route("/events/stream", self.stream),
            Route("/signin", self.signin, methods=["GET", "POST"]),
            Route("/signout", self.signout, methods=["POST"]),
            Mount("/static", StaticFiles(directory=str(HERE / "static")), name="static"),
        ]

    def close(self) -> None:
        """End every live events stream (before the HTTP server stops)."""
        self.feed.stop()

    # ------------------------------------------------------------------ rendering

    def render(self, request: Request, identity: Identity | None, page: Page) -> Response:
        csrf, new = csrf_value(request)
        context = {
            "identity": identity,
            "auth": self.sessions.enabled,
            "csrf": csrf,
            "here": request.url.path,
            **page.context,
        }
        response = self.templates.TemplateResponse(
            request, page.template, context, status_code=page.status, headers=HEADERS
        )
        if new:
            set_csrf_cookie(request, response, csrf)
        return response

    def error_page(self, error: RegistryError) -> Page:
        status = HTTP_STATUS.get(error.code, 500)
        return Page(
            "error.html",
            {"title": TITLES.get(status, "Error"), "message": error.message, "error": error},
            status,
        )

    def _page(self, handler: Handler) -> Callable[[Request], Any]:
        async def endpoint(request: Request) -> Response:
            try:
                identity = self.sessions.identity(request)
            except Unauthenticated as error:
                response = self._signin_page(request, error.message, 401)
                self.sessions.sign_out(response)
                return response
            if identity is None:
                target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
                return RedirectResponse(views.query("/signin", next=target), 303)
            form: Mapping[str, Any] = {}
            if request.method == "POST":
                try:
                    form = await read_form(request)
                except FormRefused as refused:
                    return PlainTextResponse(refused.message, refused.status)
            return await run_in_threadpool(self._handle, handler, request, identity, form)

        return endpoint

    def _handle(
        self, handler: Handler, request: Request, identity: Identity, form: Mapping[str, Any]
    ) -> Response:
        try:
            if request.method == "POST":
                check_csrf(request, form)
            page = handler(request, identity, form)
        except RegistryError as error:
            page = self.error_page(error)
        except Exception:
            logger.exception("web UI: %s %s failed", request.method, request.url.path)
            page = Page(
                "error.html",
                {
                    "title": "Internal error",
                    "message": "the registry failed to answer; see its log",
                },
                500,
            )
        if isinstance(page, Response):
            return page
        return self.render(request, identity, page)

    # ------------------------------------------------------------------ sign-in

    def _signin_page(self, request: Request, message: str = "", status: int = 200) -> Response:
        target = request.query_params.get("next", "/")
        page = Page("signin.html", {"message": message, "next": _local(target)}, status)
        return self.render(request, None, page)

    async def signin(self, request: Request) -> Response:
        if request.method == "GET":
            return self._signin_page(request)
        try:
            form = await read_form(request)
        except FormRefused as refused:
            return PlainTextResponse(refused.message, refused.status)
        try:
            check_csrf(request, form)
            token = str(form.get("token", "")).strip()
            identity = self.sessions.verify(token)
        except RegistryError as error:
            return self._signin_page(request, error.message, HTTP_STATUS[error.code])
        response = RedirectResponse(_local(str(form.get("next", "/"))), 303)
        if self.sessions.enabled:
            self.sessions.sign_in(request, response, token)
        logger.info("web UI: %s signed in", identity.principal)
        return response

    async def signout(self, request: Request) -> Response:
        try:
            form = await read_form(request)
        except FormRefused as refused:
            return PlainTextResponse(refused.message, refused.status)
        try:
            check_csrf(request, form)
        except RegistryError as error:
            return self._signin_page(request, error.message, 403)
        response = RedirectResponse("/signin", 303)
        self.sessions.sign_out(response)
        return response

    # ------------------------------------------------------------------ live events

    async def stream(self, request: Request) -> Response:
        """Server-sent events: every event after ``Last-Event-ID`` (or ``after``)."""
        try:
            identity = self.sessions.identity(request)
            if identity is None:
                raise Unauthenticated("sign in to follow events", reason="TOKEN_MISSING")
            authorize(identity, Role.READER, "WatchEvents", None)
            after = _cursor(
                request.headers.get("last-event-id") or request.query_params.get("after")
            )
        except RegistryError as error:
            return PlainTextResponse(error.message, HTTP_STATUS.get(error.code, 500))

        def catch_up(cursor: int) -> list[resources_pb2.Event]:
            return list(self.reads.outbox(cursor).events)

        async def events():
            yield "retry: 2000\n\n"
            try:
                async for event in self.feed.follow(
                    after, catch_up, lambda e: visible(e, identity)
                ):
                    if event is None:
                        yield ": keep-alive\n\n"
                        continue
                    yield f"id: {event.sequence}\nevent: registry\ndata: {_event_json(event)}\n\n"
            except FeedEnded:
                return

        return StreamingResponse(
            events(),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
        )


def _cursor(text: str | None) -> int:
    if not text:
        return 0
    if not text.isdigit():
        raise InvalidArgument.field("after", f"must be a non-negative integer, got {text[:40]!r}")
    return int(text)


def _local(target: str) -> str:
    """``target`` if it is a path on this site, else ``/`` (no open redirects)."""
    local = target.startswith("/") and not target.startswith("//") and "\\" not in target
    return target if local else "/"


def _event_json(event: resources_pb2.Event) -> str:
    return json.dumps(
        {
            "sequence": event.sequence,
            "type": event.type,
            "model": event.model,
            "resource": event.resource,
            "actor": event.actor,
            "time": views.when(event.time),
            "url": views.event_url(event.resource),
        }
    )
