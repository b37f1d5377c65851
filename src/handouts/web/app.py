"""The download page as a Flask app: a thin layer over the library.

Routes: `/` (the page), `/download` (GET, non-personalised, cached), `/personalised` (POST,
staff only, never cached or stored), `/static/<name>` (a fixed set of files). Everything a
person sends is checked against allow-lists in jobs.parse_job; errors get a friendly page.
"""

from __future__ import annotations

import logging
import mimetypes
import secrets
from pathlib import Path

from flask import Flask, Response, request, url_for
from werkzeug.exceptions import HTTPException

from .. import i18n
from ..build import Builder
from ..errors import ChoiceError, OptionError
from ..i18n import N_, _
from ..options import Clinic
from . import pages
from .pool import Busy, Downloads, Pdf, RenderPool, TooSlow

LOGGER = logging.getLogger("handouts.web")

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

    app = Flask(__name__, static_folder=None)
    app.config.update(DEBUG=False, MAX_CONTENT_LENGTH=16 * 1024)
    app.extensions["handouts"] = downloads

    def page(template: str, status: int = 200, **extra) -> Response:
        lang = request_language(editions)
        urls = {"css": url_for("static_file", name="site.css"),
                "logo": url_for("static_file", name=logo) if logo else None,
                "home": url_for("index", lang=lang), "download": url_for("download"),
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

    @app.get("/")
    def index() -> Response:
        response = page("index.html.j2")
        response.headers["Cache-Control"] = "no-cache"
        return response

    @app.get("/download")
    def download() -> Response:
        with i18n.use(request_language(editions)):  # its messages are in the page's language
            job = downloads.parse(request.args, personal=False, lang=request_language(editions))
        pdf = render(downloads.cached, job)
        if request.if_none_match.contains(pdf.sha256):
            response = Response(status=304)
        else:
            response = pdf_response(pdf)
        response.set_etag(pdf.sha256)
        response.headers["Cache-Control"] = f"public, max-age={PDF_MAX_AGE}"
        return response

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
