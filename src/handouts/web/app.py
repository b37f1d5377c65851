"""The download page as a Flask app: a thin layer over the library.

Routes: `/` (the page), `/download` (GET, non-personalised, cached), `/pdf/<name>` (the
same blank handouts at the stable addresses QR codes and `handouts site` use),
`/personalised` (POST, staff only, never cached or stored), `/reminders` (a dated
calendar's .ics), `/infobutton` (HL7 infobutton answers for an EHR), `/static/<name>` (a
fixed set of files). Everything a
person sends is checked against allow-lists in jobs.parse_job; errors get a friendly page.
"""

from __future__ import annotations

import json
import logging
import mimetypes
import secrets
import threading
import time
from pathlib import Path

from flask import Flask, Response, request, url_for
from werkzeug.exceptions import HTTPException
from werkzeug.wsgi import ClosingIterator

from .. import i18n
from ..build import Builder
from ..errors import ChoiceError, OptionError
from ..i18n import N_, _
from ..options import Clinic
from . import infobutton, pages
from .jobs import calendar_file, published_jobs
from .pool import Busy, Downloads, Pdf, RenderPool, TooSlow

LOGGER = logging.getLogger("handouts.web")
ACCESS = logging.getLogger("handouts.web.access")

# No scripts at all; styles, fonts and images only from this server; forms post only here.
CSP = ("default-src 'none'; style-src 'self'; img-src 'self'; font-src 'self'; "
       "form-action 'self'; base-uri 'none'; frame-ancestors 'none'")
SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Resource-Policy": "same-origin",
}
# An hour: long enough that a family re-opening a handout does not refetch it, short enough
# that a content update reaches them the same day; the ETag makes a refetch cheap (304).
PDF_MAX_AGE = 3600
ERRORS = {  # English msgids, shown through i18n.gettext in the visitor's language
    400: (N_("We could not make that handout"),
          N_("Something in your choices was not right. Please go back and choose from the "
             "lists.")),
    404: (N_("We could not find that page"),
          N_("The address may be wrong, or the page has moved.")),
    405: (N_("Please use the form"),
          N_("Please go back and use the buttons on the handouts page.")),
    413: (N_("Too much was sent"), N_("Please go back and try again with shorter text.")),
    500: (N_("Something went wrong on our side"),
          N_("We could not make your handout. Please try again in a few minutes.")),
    503: (N_("We are busy right now"),
          N_("Many handouts are being made at the moment. Please wait a minute and try "
             "again.")),
}

# One whole sentence per kind of choice (ChoiceError.what), so a translation never has to
# fit a noun into someone else's sentence.
UNKNOWN_CHOICE = {
    "handout kind": N_("We do not have a handout kind called “%(given)s”. Please go back "
                       "and choose one from the list."),
    "drug": N_("We do not have a drug called “%(given)s”. Please go back and choose one "
               "from the list."),
    "paper size": N_("We do not have a paper size called “%(given)s”. Please go back and "
                     "choose one from the list."),
    "print profile": N_("We do not have a print profile called “%(given)s”. Please go back "
                        "and choose one from the list."),
    "choice": N_("We do not have a choice called “%(given)s”. Please go back and choose one "
                 "from the list."),
}


def request_language(editions: tuple[str, ...] = tuple(i18n.LANGUAGES)) -> str:
    """The visitor's edition: ?lang= (or the form's lang field) when it names one we have,
    else the browser's Accept-Language, else English. An unknown ?lang= is not an error:
    the page simply shows the default."""
    asked = request.args.get("lang")
    if asked is None and request.method == "POST":
        try:
            asked = request.form.get("lang")
        except HTTPException:  # an oversized form: its error page still needs a language
            asked = None
    asked = (asked or "").strip().lower()
    if asked in editions:
        return asked
    return request.accept_languages.best_match(list(editions)) or i18n.DEFAULT


class RenderFailed(Exception):
    """Raised when a render fails; carries the reference id shown to the person."""

    def __init__(self, ref: str):
        super().__init__(ref)
        self.ref = ref


class Gate:
    """WSGI middleware around the app: one access-log line per request, and a drain switch.

    The log line is method, path, status and time; never the query string or the form body,
    where a name could be. Paths outside the page's own routes are not logged either (a
    mistyped address could hold anything), only their length. Once `draining` is set (on
    SIGTERM) new requests get the friendly 503 while `in_flight` ones finish.
    """

    def __init__(self, wsgi_app, known_paths: set[str]):
        self.wsgi_app = wsgi_app
        self.known_paths = known_paths
        self.draining = False
        self.in_flight = 0
        self._lock = threading.Lock()

    def __call__(self, environ, start_response):
        started = time.perf_counter()
        status = ["-"]

        def start(code, headers, exc_info=None):
            status[0] = code.split(" ", 1)[0]
            return start_response(code, headers, exc_info)

        def done() -> None:
            with self._lock:
                self.in_flight -= 1
            ACCESS.info("%s %s %s %.0f ms", environ.get("REQUEST_METHOD", "-")[:10],
                        self.shown_path(environ.get("PATH_INFO", "")), status[0],
                        (time.perf_counter() - started) * 1000)

        with self._lock:
            self.in_flight += 1
        try:
            return ClosingIterator(self.wsgi_app(environ, start), [done])
        except BaseException:
            done()
            raise

    def shown_path(self, path: str) -> str:
        return path if path in self.known_paths else f"(other path, {len(path)} characters)"


def create_app(clinic: Clinic | None = None, content_dir: Path | None = None,
               templates_dir: Path | None = None, workers: int = 2, timeout: float = 30.0,
               queue: int = 16, in_process: bool = False,
               cache_bytes: int = 64 * 2**20) -> Flask:
    """The download page for one clinic (or none: write-in lines on the handouts).

    `workers` render processes, at most `queue` renders waiting (more get a 503), `timeout`
    seconds per render; `in_process` renders in threads, for tests. Never in debug mode.
    """
    builder = Builder(content_dir, templates_dir)  # the parent validates and hashes only
    editions = builder.editions()
    for lang in editions:  # a broken translation fails at start-up, not on a visitor's page
        builder.library_for(lang)
    pool = RenderPool(content_dir, templates_dir, clinic, workers, queue, timeout, in_process)
    downloads = Downloads(builder, clinic, pool, cache_bytes)
    env = pages.environment()
    statics = {name: (path.read_bytes(), _media_type(name))
               for name, path in pages.static_files(clinic).items()}
    logo = pages.logo_name(clinic)
    published = published_jobs(builder)

    app = Flask(__name__, static_folder=None)
    app.config.update(DEBUG=False, MAX_CONTENT_LENGTH=16 * 1024)
    app.extensions["handouts"] = downloads
    known = {"/", "/download", "/personalised", "/reminders", "/infobutton",
             *(f"/static/{name}" for name in statics), *(f"/pdf/{name}" for name in published)}
    gate = app.extensions["handouts.gate"] = Gate(app.wsgi_app, known)
    app.wsgi_app = gate

    def page(template: str, status: int = 200, **extra) -> Response:
        lang = request_language(editions)
        urls = {"css": url_for("static_file", name="site.css"),
                "logo": url_for("static_file", name=logo) if logo else None,
                "home": url_for("index", lang=lang), "download": url_for("download"),
                "reminders": url_for("reminders"),
                "personalised": url_for("personalised"),
                "lang": {code: url_for("index", lang=code) for code in editions}}
        with i18n.use(lang):
            context = pages.page_context(builder.library_for(lang), clinic, urls, **extra)
            html = pages.render(env, template, context)
        response = Response(html, status, mimetype="text/html")
        response.headers["Content-Language"] = lang
        response.vary.add("Accept-Language")
        return response

    def error_page(status: int, message: str | None = None, ref: str | None = None) -> Response:
        title, default = ERRORS.get(status, ERRORS[500])
        with i18n.use(request_language(editions)):
            title, message = _(title), message or _(default)
        response = page("error.html.j2", status, page_title=title, message=message, ref=ref)
        response.headers["Cache-Control"] = "no-store"
        return response

    def render(how, job) -> Pdf:
        try:
            return how(job)
        except (Busy, TooSlow):
            raise
        except Exception as exc:
            ref = secrets.token_hex(4).upper()
            # The job's choices and the error type; for a personalised job not even the
            # error's message, which could quote what was typed.
            detail = type(exc).__name__ if job.personalised else f"{type(exc).__name__}: {exc}"
            LOGGER.error("render failed, reference %s: %s: %s", ref, job.label, detail,
                         exc_info=not job.personalised)
            raise RenderFailed(ref) from None

    def pdf_response(pdf: Pdf) -> Response:
        response = Response(pdf.data, mimetype="application/pdf")
        response.headers["Content-Disposition"] = f'attachment; filename="{pdf.filename}"'
        return response

    @app.before_request
    def refuse_while_draining() -> Response | None:
        if gate.draining:  # stopping: requests already running finish, new ones come back
            response = error_page(503, "The handouts page is restarting. Please try again "
                                       "in a minute.")
            response.headers["Retry-After"] = "30"
            return response
        return None

    @app.get("/")
    def index() -> Response:
        response = page("index.html.j2")
        response.headers["Cache-Control"] = "no-cache"
        return response

    def send_cached(job) -> Response:
        pdf = render(downloads.cached, job)
        if request.if_none_match.contains(pdf.sha256):
            response = Response(status=304)
        else:
            response = pdf_response(pdf)
        response.set_etag(pdf.sha256)
        response.headers["Cache-Control"] = f"public, max-age={PDF_MAX_AGE}"
        return response

    @app.get("/download")
    def download() -> Response:
        lang = request_language(editions)
        with i18n.use(lang):  # its messages are in the page's language
            job = downloads.parse(request.args, personal=False, lang=lang)
        return send_cached(job)

    @app.get("/pdf/<name>")
    def published_pdf(name: str) -> Response:
        # The same stable address `handouts site` writes and printed QR codes carry; only
        # names in the fixed list are answered, so no path is ever joined or resolved.
        job = published.get(name)
        if job is None:
            return error_page(404)
        return send_cached(job)

    @app.get("/reminders")
    def reminders() -> Response:
        # Dose reminders (.ics) for a dated calendar. No name can be given here, so the file
        # never holds one; times are the defaults unless `remind=HH:MM` is repeated.
        with i18n.use(request_language(editions)):
            job = downloads.parse({**request.args.to_dict(), "kind": "calendar"},
                                  personal=False)
            if job.start is None:
                raise OptionError(_("Please choose a first day: reminders start on that day."))
        data, filename = calendar_file(builder, job, request.args.getlist("remind"))
        response = Response(data, mimetype="text/calendar")
        response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
        response.headers["Cache-Control"] = "no-cache"
        return response

    @app.get("/infobutton")
    def infobutton_answer() -> Response:
        # HL7 infobutton (URL-based): an EHR asks by RxNorm code or drug name; see
        # web/infobutton.py for the parameters. Links are absolute, for the EHR's browser.
        asked = infobutton.parse(request.args)
        drug = infobutton.find_drug(builder, asked)
        if drug is None:
            body = infobutton.not_found(builder, asked)
            if asked.json:
                return Response(json.dumps(body), 404, mimetype="application/json")
            return error_page(404, body["error"]["message"])
        feed = infobutton.answer(builder, drug, asked, lambda path: request.url_root + path)
        if asked.json:
            return Response(json.dumps(feed), mimetype="application/json")
        return page("infobutton.html.j2", feed=feed["feed"], page_title=feed["feed"]["title"])

    @app.post("/personalised")
    def personalised() -> Response:
        with i18n.use(request_language(editions)):
            job = downloads.parse(request.form, personal=True, lang=request_language(editions))
        response = pdf_response(render(downloads.personalised, job))
        response.headers["Cache-Control"] = "no-store"
        return response

    @app.get("/static/<name>")
    def static_file(name: str) -> Response:
        if name not in statics:  # a fixed mapping: no path is ever joined or resolved
            return error_page(404)
        data, media_type = statics[name]
        response = Response(data, mimetype=media_type)
        response.headers["Cache-Control"] = "public, max-age=3600"
        return response

    @app.errorhandler(ChoiceError)
    def unknown_choice(exc: ChoiceError) -> Response:
        given = exc.given if len(exc.given) <= 40 else exc.given[:40] + "…"
        with i18n.use(request_language(editions)):
            sentence = UNKNOWN_CHOICE.get(exc.what, UNKNOWN_CHOICE["choice"])
            message = _(sentence) % {"given": given}
        return error_page(400, message)

    @app.errorhandler(OptionError)
    def bad_option(exc: OptionError) -> Response:
        return error_page(400, str(exc))

    @app.errorhandler(Busy)
    def busy(exc: Busy) -> Response:
        response = error_page(503)
        response.headers["Retry-After"] = "10"
        return response

    @app.errorhandler(TooSlow)
    def too_slow(exc: TooSlow) -> Response:
        with i18n.use(request_language(editions)):
            message = _("Your handout is taking too long to make. Please try again in a "
                        "minute.")
        response = error_page(503, message)
        response.headers["Retry-After"] = "30"
        return response

    @app.errorhandler(RenderFailed)
    def render_failed(exc: RenderFailed) -> Response:
        return error_page(500, ref=exc.ref)

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException) -> Response:
        response = error_page(exc.code or 500)
        allow = dict(exc.get_headers()).get("Allow")  # a 405 says which methods work
        if allow:
            response.headers["Allow"] = allow
        return response

    @app.errorhandler(Exception)
    def unexpected(exc: Exception) -> Response:
        ref = secrets.token_hex(4).upper()
        # Method and path only: a form body may hold a patient's name.
        LOGGER.error("unexpected error, reference %s: %s %s: %s", ref, request.method,
                     request.path, type(exc).__name__, exc_info=request.method == "GET")
        return error_page(500, ref=ref)

    @app.after_request
    def security_headers(response: Response) -> Response:
        response.headers.update(SECURITY_HEADERS)
        return response

    return app


def _media_type(name: str) -> str:
    if name.endswith(".css"):
        return "text/css; charset=utf-8"
    return mimetypes.guess_type(name)[0] or "application/octet-stream"
