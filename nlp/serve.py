"""``lipservice serve``: a page for auditors (paste copy, upload reviews, read the report) and a
JSON API for audit, annotate and gap, with OpenAPI docs. FastAPI and uvicorn are the ``serve``
extra, imported lazily. The pipeline is built once per process and used under a lock (a spaCy
pipeline is not thread-safe); uploads are size-limited and bad ones get a clear 4xx.

No ``from __future__ import annotations`` here: FastAPI reads the route signatures at run time,
and the request models are local to ``create_app``.
"""

import json
import logging
import tempfile
import threading
import urllib.parse
from pathlib import Path
from typing import Any

from .charts import escape
from .decoding import byte_position
from .errors import (
    E_BAD_FIELD,
    E_BAD_JSON,
    E_BAD_REQUEST,
    E_BINARY,
    E_EMPTY_REQUEST,
    E_ENCODING,
    E_MISSING_EXTRA,
    E_NOT_FOUND,
    E_PORT,
    E_TOO_LARGE,
    E_TOO_MANY,
    E_UNKNOWN_EXT,
    LipserviceError,
    UsageError,
    install_hint,
    nothing_read,
)
from .io import FORMAT_ALIASES, SUPPORTED_EXTS, TABLE_EXTS, format_of, unknown_format
from .records import ReadOptions, Record, Reject, json_kind, record_from_mapping

log = logging.getLogger(__name__)


def _fastapi_offline():
    """FastAPI with the Swagger UI and ReDoc assets served locally (``/docs`` works offline)."""
    try:
        import fastapi  # noqa: F401
        import python_multipart  # noqa: F401  (FastAPI needs it for forms and uploads)
        from fastapi_offline import FastAPIOffline
    except ImportError:
        raise UsageError(f"lipservice serve needs FastAPI, fastapi-offline, uvicorn and python-multipart, which are "
                         f"not all installed; run `{install_hint('serve')}`", code=E_MISSING_EXTRA) from None
    return FastAPIOffline


def _content_type(request: Any) -> str:
    """A request's content type as a message names it ("not text/plain"), or "a body without a content type"."""
    return request.headers.get("content-type", "").split(";")[0].strip().lower() or "a body without a content type"


def _line_and_column(body: bytes, at: Any) -> str:
    """`` at line 3, column 7`` for character ``at`` of a body (where its JSON broke), or nothing."""
    if not isinstance(at, int) or at < 0:
        return ""
    before = body.decode(json.detect_encoding(body), "replace").lstrip("\ufeff")[:at]  # UTF-16 or -32 as parsed
    return f" at line {before.count(chr(10)) + 1}, column {at - before.rfind(chr(10))}"  # rfind: -1 on line 1


class ServeError(Exception):
    """A request the user must fix: HTTP ``status``, a stable ``code`` and a message saying what to do."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


class Service:
    """The pipeline and settings of one server process, and the work behind every route."""

    def __init__(self, cfg: Any, nlp: Any = None) -> None:
        from .annotate import Annotator
        from .language import screen_from_config
        from .pipeline import build_nlp

        sc = cfg["serve"]
        self.cfg = cfg
        self.max_upload_bytes = int(float(sc["max_upload_mb"]) * 1024 * 1024)
        self.max_records = int(sc["max_records"])
        self.max_chars = min(int(cfg["lipservice"]["max_chars"]), int(sc["max_text_chars"]))
        self.nlp = nlp if nlp is not None else build_nlp(cfg)
        self.annotator = Annotator.from_config(cfg, self.nlp)
        self.screen = screen_from_config(cfg)  # audits of copy the models cannot read say so
        self.lock = threading.Lock()

    def options(self, kind: str, fields: dict[str, str] | None = None) -> ReadOptions:
        """The readers' options: the server's text limit, named as its setting; fixed field names, or for an
        upload the ``fields`` its form names (``text_field``, ``id_field``), named in rejects as form fields."""
        setting = "serve.max_text_chars" if self.max_chars < int(self.cfg["lipservice"]["max_chars"]) else \
            "lipservice.max_chars"
        named = {} if fields is None else {**fields, "field_options": True, "text_option": "the form field text_field",
                                           "id_option": "the form field id_field"}
        return ReadOptions.from_config(self.cfg, default_kind=kind, max_chars=self.max_chars,
                                       max_chars_setting=setting, **{"field_options": False, **named})

    # --- turning requests into records --------------------------------------------------------
    def records_from_json(self, items: list[dict], kind: str, source: str) -> list[Record | Reject]:
        if len(items) > self.max_records:
            raise ServeError(413, E_TOO_MANY, f"{source}: {len(items):,} records, over the limit of "
                                              f"{self.max_records:,} per request (serve.max_records); send fewer")
        opts = self.options(kind)
        return [record_from_mapping(source, f"{source}[{i}]", f"{source}[{i}]", item, opts) if isinstance(item, dict)
                else Reject(source, f"{source}[{i}]", f"{json_kind(item)}, not an object (each record is a JSON "
                                                      "object with a 'text')", E_BAD_JSON)
                for i, item in enumerate(items)]

    def records_from_upload(self, filename: str, data: bytes, kind: str,
                            fields: dict[str, str] | None = None) -> list[Record | Reject]:
        """Records of an uploaded file, read by the same readers as the CLI (rejects included); ``fields``
        names its text and id columns (``text_field``, ``id_field``) when they are not ``text`` and ``id``."""
        from .io import check_inputs, read_inputs

        name = Path(filename or "upload").name or "upload"
        if len(data) > self.max_upload_bytes:
            raise ServeError(413, E_TOO_LARGE, f"{name}: {len(data):,} bytes, over the upload limit of "
                                               f"{self.max_upload_bytes:,} (serve.max_upload_mb)")
        if not data.strip():
            raise ServeError(422, E_EMPTY_REQUEST, f"{name}: the file is empty")
        ext, compressed = format_of(Path(name))
        if ext not in SUPPORTED_EXTS:
            raise ServeError(415, E_UNKNOWN_EXT, f"{name}: {unknown_format(ext)}")
        with tempfile.TemporaryDirectory(prefix="lipservice-upload-") as tmp:
            path = Path(tmp) / ("upload" + ext + (".gz" if compressed else ""))
            path.write_bytes(data)
            opts = self.options(kind, fields)
            try:
                check_inputs([str(path)], opts)
            except LipserviceError as err:
                raise ServeError(422, err.code, err.args[0].replace(str(path), name)) from None
            out = []
            for item in read_inputs([str(path)], opts):
                if isinstance(item, Reject):
                    item = Reject(name, item.position, item.reason.replace(str(path), name), item.code)
                else:
                    item.source = name
                    if item.id.startswith(str(path)):
                        item.id = name + item.id[len(str(path)):]
                out.append(item)
                if len(out) > self.max_records:  # a small gzip can hold millions of records
                    raise ServeError(413, E_TOO_MANY, f"{name}: over {self.max_records:,} records, the limit per "
                                                      "request (serve.max_records); send a smaller file")
            if out and all(isinstance(i, Reject) and i.position == "file" for i in out):
                raise ServeError(422, out[0].code, f"{name}: {out[0].reason}")  # not a file of its kind at all
            return out

    def copy_record(self, text: str, source: str = "pasted copy") -> Record:
        if not text or not text.strip():
            raise ServeError(422, E_EMPTY_REQUEST, "the copy is empty; paste the text to audit")
        if len(text) > self.max_chars:
            raise ServeError(413, E_TOO_LARGE, f"the copy is {len(text):,} characters, over the limit of "
                                               f"{self.max_chars:,} (serve.max_text_chars)")
        if "\x00" in text:  # as /api/audit refuses it (E112): binary data, not copy
            raise ServeError(422, E_BINARY, "the copy contains NUL bytes (binary data); paste text")
        return Record(id=source, text=text, kind="company", source=source)

    # --- the work -------------------------------------------------------------------------------
    def annotate(self, items: list[Record | Reject]) -> tuple[list[dict], list[dict]]:
        rejects: list[Reject] = []
        with self.lock:
            records = list(self.annotator.annotate(iter(items), rejects.append))
        return records, [r.to_json() for r in rejects]

    def audit(self, items: list[Record | Reject]) -> dict[str, Any]:
        from .audit import audit_result
        from .language import language_warnings

        records, rejects = self.annotate(items)
        top = int(self.cfg["lipservice"]["rewrite_top"])
        return {"documents": [audit_result(r, top, language_warnings(self.screen, r)) for r in records],
                "rejects": rejects,
                "counts": counts(items, records, rejects)}

    def reviews(self, items: list[Record | Reject], id_field: str | None = None) -> dict[str, Any]:
        """The reviews report; with ``id_field`` (an upload's form field) a warning when records lack it,
        as the CLI warns for a mistyped --id-field."""
        from .records import made_up_ids_warning
        from .reviews import review_report

        records, rejects = self.annotate(items)
        with self.lock:
            summary, _, _ = review_report(self.nlp, records, self.cfg, self.screen)
        warning = made_up_ids_warning(records, id_field, "the form field id_field") if id_field is not None else None
        if warning:
            summary["warnings"] = [*summary.get("warnings", []), warning.removeprefix("warning: ")]
        summary["rejects"] = rejects
        summary["counts"] = counts(items, records, rejects)  # as `lipservice reviews --json` has them
        return summary

    def gap(self, copy: list[Record | Reject], reviews: list[Record | Reject]) -> dict[str, Any]:
        from .gap import gap_report

        copy_records, copy_rejects = self.annotate(copy)
        review_records, review_rejects = self.annotate(reviews)
        with self.lock:
            result = gap_report(self.nlp, copy_records, review_records, self.cfg, self.screen)
        result["rejects"] = copy_rejects + review_rejects
        result["counts"] = {**counts(copy + reviews, copy_records + review_records, result["rejects"]),
                            "copy": len(copy_records), "reviews": len(review_records),
                            "repeated_ids": counts(reviews, review_records, review_rejects)["repeated_ids"]}
        return result  # counts as `lipservice gap --json` has them: repeated ids among the reviews


FORM_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; form-action 'self'">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>lipservice</title>
<style>
body{font:16px/1.5 system-ui,sans-serif;max-width:56rem;margin:2rem auto;padding:0 1rem;color:#1d1d1f}
h1{margin-bottom:.2rem} p.lead{color:#555;margin-top:0}
label{display:block;font-weight:600;margin:1.2rem 0 .3rem}
textarea{width:100%;min-height:16rem;font:inherit;padding:.5rem;box-sizing:border-box}
.hint{color:#666;font-size:.9rem}
button{margin-top:1.2rem;font:inherit;font-weight:600;padding:.6rem 1.4rem;background:#1f5fbf;color:#fff;border:0;
border-radius:4px;cursor:pointer}
.error{background:#fde8e8;border-left:4px solid #c62828;padding:.6rem 1rem}
</style></head><body>
<h1>lipservice</h1>
<p class="lead">Whose perspective your copy takes, what it promises, and what your customers say about it.</p>
{error}
<form method="post" action="/report" enctype="multipart/form-data">
<label for="copy">Company copy</label>
<textarea id="copy" name="copy" placeholder="Paste a web page, an ad or a mission statement">{copy}</textarea>
<label for="reviews">Reviews or complaints (optional)</label>
<input id="reviews" name="reviews" type="file" accept="{accept}">
<div class="hint">JSONL, CSV or Parquet with a <code>text</code> field (optional <code>id</code>, <code>rating</code>,
<code>date</code>); up to {limit} MB. With reviews you get the gap: which promises the complaints contradict.</div>
<button type="submit">Analyse</button>
</form>
<p class="hint">JSON API: <a href="/docs">/docs</a> (OpenAPI: <a href="/openapi.json">/openapi.json</a>,
also <a href="/redoc">/redoc</a>).</p>
</body></html>
"""


def form_page(service: Service, error: str = "", copy: str = "") -> str:
    """The paste-and-upload page; ``error`` and the pasted ``copy`` are shown escaped."""
    accept = ",".join(sorted(TABLE_EXTS | set(FORMAT_ALIASES)))
    box = f'<p class="error" role="alert">{escape(error)}</p>' if error else ""
    return (FORM_PAGE.replace("{error}", box).replace("{copy}", escape(copy))
            .replace("{accept}", accept).replace("{limit}", f"{service.max_upload_bytes / 1024 / 1024:g}"))


def create_app(cfg: Any = None, nlp: Any = None) -> Any:
    """The FastAPI application; builds the pipeline once (or uses ``nlp``)."""
    FastAPIOffline = _fastapi_offline()
    from fastapi import Depends, File, Form, Request, UploadFile
    from fastapi.concurrency import run_in_threadpool
    from fastapi.exceptions import RequestValidationError
    from fastapi.responses import HTMLResponse, JSONResponse
    from pydantic import BaseModel, ConfigDict, Field
    from starlette.exceptions import HTTPException

    from .html_report import render_report
    from .pipeline import load_config

    service = Service(cfg if cfg is not None else load_config(), nlp)
    app = FastAPIOffline(title="lipservice", version=_version(),
                          description="Perspective, promises, complaints and the gap between them. "
                                      "Every route reads text in and returns the contracts of DESIGN.md.")
    app.state.service = service

    class Item(BaseModel):
        model_config = ConfigDict(extra="allow")
        text: Any = Field(None, description="The text (a record without one, or with an empty or non-string "
                                            "one, is rejected with the reason; the others are annotated).")
        id: Any = Field(None, description="Record id; a stable one is made when missing.")

    class AuditRequest(BaseModel):
        documents: list[Item | Any] = Field(..., description="Company copy to audit, one item per document.")

    class AnnotateRequest(BaseModel):
        records: list[Item | Any] = Field(..., description="Records; each may carry kind, rating, date and more.")
        kind: str = Field("auto", description="Kind for records without one: company, review or auto.")

    class GapRequest(BaseModel):
        copy_: list[Item | Any] = Field(..., alias="copy", description="Company copy documents.")
        reviews: list[Item | Any] = Field(..., description="Reviews, with optional rating and date.")

    class ErrorDetail(BaseModel):
        code: str = Field(..., description="Stable error code (E114, E131, …).")
        message: str = Field(..., description="What is wrong, what is allowed, and the fix.")

    class ErrorBody(BaseModel):
        error: ErrorDetail

    errors = {status: {"model": ErrorBody, "description": what} for status, what in (
        (400, "The body does not parse (a broken multipart form: no boundary, too many parts)"),
        (413, "Over serve.max_upload_mb, serve.max_records or serve.max_text_chars"),
        (415, "An uploaded file of a format lipservice does not read"),
        (422, "The request does not match the API (JSON that is broken, not UTF-8 or nested too deeply; a form "
              "field missing, repeated, unknown or of the wrong kind), or an uploaded file is empty or not of its "
              "kind; or every record of a kind the report needs was rejected (E111: the report comes beside the "
              "error)"))}

    def error_response(path: str, exc: ServeError):
        """The coded error, as JSON for the API and as the form with the message for the page."""
        if path.startswith("/api/"):
            return JSONResponse({"error": {"code": exc.code, "message": exc.message}}, status_code=exc.status)
        return HTMLResponse(form_page(service, f"[{exc.code}] {exc.message}"), status_code=exc.status)

    @app.exception_handler(ServeError)
    async def _serve_error(request: Request, exc: ServeError):
        log.info("%s %s: %s %s", request.method, request.url.path, exc.status, exc.message)
        return error_response(request.url.path, exc)

    @app.exception_handler(HTTPException)
    async def _http_error(request: Request, exc: HTTPException):
        """FastAPI's and Starlette's own refusals (a body that does not parse, broken multipart, an unknown
        path or method) in the same coded form as every other error, not a bare ``{"detail": ...}``."""
        path, cause = request.url.path, exc.__cause__  # FastAPI's "error parsing the body" hides why: its cause
        if isinstance(cause, UnicodeDecodeError) and path not in FORM_ROUTES:  # as a bad JSON body: 422, and where
            body = await request.body()
            at = len(body) - len(cause.object) + cause.start  # what was decoded is the body after its BOM
            what = f"not UTF-8 at byte {at} (0x{body[at]:02x}, {byte_position(cause.object, cause.start)})" \
                if cause.encoding == "utf-8" else f"{cause.encoding.upper()} by its first bytes, and not " \
                f"{cause.encoding.upper()} at byte {at} (0x{body[at]:02x}: {cause.reason})"
            return await _serve_error(request, ServeError(422, E_ENCODING, f"the body is {what}; send the JSON as "
                                                                           "UTF-8"))
        if isinstance(cause, RecursionError) and path not in FORM_ROUTES:
            return await _serve_error(request, ServeError(422, E_BAD_REQUEST, "the body is nested too deeply to parse "
                                                                              "(JSON is read nested at most a few "
                                                                              "hundred levels); nest it less and send "
                                                                              "it again"))
        code = {404: E_NOT_FOUND, 405: E_BAD_REQUEST}.get(exc.status_code, E_BAD_REQUEST)
        fix = {404: "see /docs for the routes", 405: "see /docs for each route's method"}.get(
            exc.status_code, f"{path} reads a multipart form ({form_fields(path)}); see /docs"
            if path in FORM_ROUTES else "send JSON that parses (UTF-8, nested at most a few hundred levels); see /docs")
        return await _serve_error(request, ServeError(exc.status_code, code, f"{str(exc.detail).rstrip('.')}; {fix}"))

    @app.exception_handler(RequestValidationError)
    async def _bad_request(request: Request, exc: RequestValidationError):
        sent = _content_type(request)
        wants = "multipart/form-data" if request.url.path in FORM_ROUTES else "application/json"
        if sent != wants:  # the body was never what the route reads: say which type to send, not which field
            how = ("upload the file as a form (curl -F file=@reviews.csv)" if wants == "multipart/form-data"
                   else "send the records as JSON (curl -H 'Content-Type: application/json' -d @request.json)")
            return await _serve_error(request, ServeError(415, E_BAD_REQUEST, f"{request.url.path} reads {wants}, "
                                                                              f"not {sent}; {how}; see /docs"))
        if request.url.path in FORM_ROUTES:  # the form's parser read the stream: look at the form, not the body
            try:
                check_form(await request.form(), request.url.path)  # what is missing or wrong, by its field
            except ServeError as err:
                return await _serve_error(request, err)
        elif not (await request.body()).strip():  # "body: Field required" said not that nothing was sent
            return await _serve_error(request, ServeError(422, E_BAD_REQUEST, f"the body is empty; {request.url.path} "
                                                                              f"reads {wants} (see /docs for its shape)"))
        broken = next((e for e in exc.errors() if e.get("type") == "json_invalid"), None)
        if broken is not None:  # "body.1: JSON decode error" said neither what nor where
            where = _line_and_column(await request.body(), broken.get("loc", ())[-1])
            why = (broken.get("ctx") or {}).get("error") or broken.get("msg", "invalid")
            return await _serve_error(request, ServeError(422, E_BAD_REQUEST, f"the body is not valid JSON: {why}"
                                                                              f"{where}; fix it and send it again"))
        problems = "; ".join(f"{'.'.join(str(x) for x in e.get('loc', ()))}: {e.get('msg', 'invalid')}"
                             for e in exc.errors()[:5])
        return await _serve_error(request, ServeError(422, E_BAD_REQUEST, f"the request does not match the API "
                                                                          f"({problems}); see /docs"))

    def too_large(path: str, size: int | None):
        what = f"request body of {size:,} bytes" if size is not None else "request body (sent in chunks)"
        limit = f"{service.max_upload_bytes:,} bytes (serve.max_upload_mb)"
        if path in framing:  # what BodyLimit held the body to
            copy = " and the pasted copy's 4 bytes a character of serve.max_text_chars" if path == "/report" else ""
            limit = (f"{service.max_upload_bytes + framing[path]:,} bytes for a form (serve.max_upload_mb, plus "
                     f"{FORM_FRAMING // 1024} KiB for the form's framing{copy})")
        return error_response(path, ServeError(413, E_TOO_LARGE, f"{what} is over the limit of {limit}"))

    # a form holds its framing beside a file of the limit, and /report a pasted copy of the limit as well
    framing = {path: FORM_FRAMING + (4 * service.max_chars if path == "/report" else 0) for path in FORM_ROUTES}
    app.add_middleware(BodyLimit, limit=service.max_upload_bytes, refuse=too_large, framing=framing)
    app.add_middleware(SecurityHeaders)

    @app.get("/", response_class=HTMLResponse, summary="The page: paste copy, upload reviews")
    def index() -> str:
        return form_page(service)

    @app.post("/report", response_class=HTMLResponse, summary="The HTML report of pasted copy and uploaded reviews",
              openapi_extra={"requestBody": {"content": {"multipart/form-data": {"schema": {
                  "type": "object", "properties": {"copy": {"type": "string", "description": "Company copy"},
                                                   "reviews": {"type": "string", "format": "binary",
                                                               "description": "A reviews file (optional)"}}}}}}})
    async def report(request: Request):
        sent = _content_type(request)
        if sent not in ("multipart/form-data", "application/x-www-form-urlencoded"):  # as the API routes say it
            return error_response(request.url.path, ServeError(
                415, E_BAD_REQUEST, f"/report reads a form (multipart/form-data), not {sent}; send the copy as a "
                                    "form field (curl -F \"copy=<page.txt\") or use /api/audit for JSON; see /docs"))
        # read here, not with Form(): Starlette's default cap on a form field (1 MB) is below what
        # serve.max_text_chars allows of non-ASCII copy (4 bytes a character, 12 once percent-encoded)
        body = await request.body()  # kept for copy_of_form; the form is parsed from it
        form = await request.form(max_files=FORM_PARTS, max_fields=FORM_PARTS,
                                  max_part_size=12 * service.max_chars + FORM_FRAMING)
        copy_text = ""
        try:
            check_charset(request.headers.get("content-type", ""))  # before its fields' names are read in it
            check_form(form, request.url.path)  # a second copy or file, or a file as the copy, is named, not dropped
            copy_text, reviews = form.get("copy", ""), form.get("reviews")
            reviews = None if isinstance(reviews, str) else reviews  # empty: no file (check_form refuses any text)
            copy_text = copy_of_form(request.headers.get("content-type", ""), body, copy_text)
            return await run_in_threadpool(_report, copy_text, reviews)
        except ServeError as exc:  # back to the form, with the message and the pasted copy kept
            return HTMLResponse(form_page(service, f"[{exc.code}] {exc.message}", copy_text), status_code=exc.status)
        finally:
            await form.close()  # the upload's spooled temporary file

    def _report(copy: str, reviews: UploadFile | None) -> str:
        has_reviews = reviews is not None and bool(reviews.filename)
        review_items = (service.records_from_upload(reviews.filename, _read_limited(reviews, service), "review")
                        if has_reviews else [])
        if not copy.strip() and not has_reviews:
            raise ServeError(422, E_EMPTY_REQUEST, "nothing to analyse: paste copy, upload a reviews file, or both")
        copy_items = [service.copy_record(copy)] if copy.strip() else []
        if has_reviews and not copy_items:  # reviews alone: their report, not a gap where every theme is unmet
            summary = service.reviews(review_items)
            return render_report(title="lipservice reviews", reviews=summary, rejects=summary["rejects"])
        if has_reviews:
            result = service.gap(copy_items, review_items)
            return render_report(title="lipservice gap report", gap=result)
        audited = service.audit(copy_items)
        return render_report(title="lipservice audit", audits=audited["documents"], rejects=audited["rejects"])

    @app.post("/api/audit", responses=errors,
              summary="Audit company copy: perspective, promises, claims, what to rewrite first")
    def api_audit(body: AuditRequest) -> dict:
        result = service.audit(service.records_from_json(_dump(body.documents), "company", "documents"))
        return reported(result, {"document": len(result["documents"])})

    @app.post("/api/annotate", responses=errors,
              summary="The annotate contract (DESIGN.md) for each record, rejects with reasons")
    def api_annotate(body: AnnotateRequest) -> dict:
        if body.kind not in ("company", "review", "auto"):
            raise ServeError(422, E_BAD_FIELD, f"kind {body.kind!r} is not one of company, review, auto")
        items = service.records_from_json(_dump(body.records), body.kind, "records")
        records, rejects = service.annotate(items)
        return JSONResponse({"records": records, "rejects": rejects, "counts": counts(items, records, rejects)})

    @app.post("/api/gap", responses=errors, summary="Promises against complaints: verdicts, unmet expectations, claims")
    def api_gap(body: GapRequest) -> dict:
        if not body.copy_ and not body.reviews:
            raise ServeError(422, E_EMPTY_REQUEST, "nothing to analyse: send copy, reviews, or both")
        result = service.gap(service.records_from_json(_dump(body.copy_), "company", "copy"),
                             service.records_from_json(_dump(body.reviews), "review", "reviews"))
        sent = {"copy": (body.copy_, result["counts"]["copy"]), "review": (body.reviews, result["counts"]["reviews"])}
        return reported(result, {kind: n for kind, (items, n) in sent.items() if items})

    async def sent_form(request: Request) -> Any:
        """The form as sent (Starlette keeps it parsed once): FastAPI reads an empty field as one left out, so
        an empty ``text_field`` was its default, and the rows were refused for a column the user never named.
        Checked before FastAPI validates it (a dependency runs first): a field missing, repeated, unknown or of
        the wrong kind is named (not a body of another type: that is the 415 of ``_bad_request``)."""
        form = await request.form()
        if check_charset(request.headers.get("content-type", "")):
            check_form(form, request.url.path)
        return form

    @app.post("/api/reviews", responses=errors,
              summary="Complaint rate, themes, discovered themes and the monthly trend")
    def api_reviews(file: UploadFile = File(..., description="A .jsonl, .csv or .parquet file of reviews."),
                    text_field: str = Form("text", description="The column or field that holds the text."),
                    id_field: str = Form("id", description="The column or field that holds the id."),
                    form: Any = Depends(sent_form)) -> dict:
        for form_field, default in (("text_field", "text"), ("id_field", "id")):
            if not str(form.get(form_field, default)).strip():  # as sent: FastAPI gives an empty one its default
                raise ServeError(422, E_BAD_FIELD, f"the form field {form_field} is empty; name a column of the "
                                                   f"file, or leave the field out for {default!r}")
        fields = {"text_field": text_field, "id_field": id_field}
        result = service.reviews(service.records_from_upload(file.filename, _read_limited(file, service), "review",
                                                             fields), id_field=id_field)
        return reported(result, {"review": result["counts"]["annotated"]})

    return app


def check_charset(content_type: str) -> bool:
    """Whether a body is a multipart form; E113 if it declares a charset other than UTF-8, in which Starlette
    decodes its fields (and their names: a UTF-16 form's fields would be unknown)."""
    kind, _, params = content_type.partition(";")
    if kind.strip().lower() != "multipart/form-data":
        return False
    charset = next((v.strip().strip('"').lower() for k, _, v in (p.partition("=") for p in params.split(";"))
                    if k.strip().lower() == "charset"), "utf-8")
    if charset not in ("utf-8", "utf8"):
        raise ServeError(400, E_ENCODING, f"the form declares charset {charset!r}; send it as UTF-8, without a "
                                          "charset (as a browser does)")
    return True


def copy_of_form(content_type: str, body: bytes, copy_text: str) -> str:
    """The pasted copy as UTF-8 text, or E113 saying where its bytes are not UTF-8, as the CLI refuses such
    a file. Starlette reads such a field in silence: a multipart one as Latin-1 (or in a charset the request
    declares), a urlencoded one as Latin-1 bytes with U+FFFD for each bad escape; so a urlencoded copy is
    read here from the body (its ``copy`` field: ``check_form`` refuses two), and a multipart one is checked."""
    if check_charset(content_type):
        if copy_text.isascii() or copy_text.encode("utf-8", "surrogatepass") in body:
            return copy_text  # decoded as UTF-8: its UTF-8 bytes are the field's bytes
        raw = copy_text.encode("latin-1", "replace")  # Starlette's fallback: the field's own bytes
    else:
        values = [value for name, _, value in (field.partition(b"=") for field in body.split(b"&"))
                  if urllib.parse.unquote_plus(name.decode("latin-1")) == "copy"]
        raw = urllib.parse.unquote_to_bytes(values[-1].replace(b"+", b" ")) if values else b""
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as err:
        raise ServeError(400, E_ENCODING, f"the pasted copy is not UTF-8 at {byte_position(raw, err.start)} "
                                          f"(byte 0x{raw[err.start]:02x}); send it as UTF-8 (a browser does)") from None


#: Bytes a multipart form may carry besides its file (boundaries, part headers, the pasted copy's field).
FORM_FRAMING = 65536
#: The routes that read a form (an upload; /report a pasted copy too); every other POST route reads JSON.
FORM_ROUTES = ("/api/reviews", "/report")
#: The fields each form route reads, each with how curl sends it, and the one of them that is a file.
FORM_FIELDS = {"/api/reviews": {"file": "file=@reviews.csv", "text_field": "text_field=Consumer complaint narrative",
                                "id_field": "id_field=Complaint ID"},
               "/report": {"copy": "copy=<page.txt", "reviews": "reviews=@reviews.csv"}}
FORM_FILES = {"/api/reviews": "file", "/report": "reviews"}
#: Files and fields /report parses before refusing the form unread; fewer are named when repeated or unknown.
FORM_PARTS = 16


def form_fields(path: str) -> str:
    """The fields a form route reads, as a message lists them: "the file as 'file', text as 'text_field' and
    'id_field'"."""
    texts = [repr(name) for name in FORM_FIELDS[path] if name != FORM_FILES[path]]
    return f"the file as {FORM_FILES[path]!r}, text as {' and '.join(texts)}"


def check_form(form: Any, path: str) -> None:
    """Refuse (422), naming it, a field the form route does not read, one sent twice, one of the wrong kind
    (a file where text is read, text where a file is), and on /api/reviews a form without its file: Starlette
    kept the last of a repeated field and FastAPI ignored the rest, so each was dropped in silence. Empty text
    in the file field, or a file part without a name (a browser's when no file was chosen), is no file."""
    fields, upload = FORM_FIELDS[path], FORM_FILES[path]
    sent = list(form.multi_items())
    names = [name for name, _ in sent]
    for name, value in sent:
        if name not in fields:
            fix = (f"upload the file as the form field {upload!r} (curl -F {fields[upload]})"
                   if not isinstance(value, str) and upload not in names else "leave it out (see /docs)")
            raise ServeError(422, E_BAD_FIELD, f"the form field {name!r} is not one {path} reads "
                                               f"({form_fields(path)}); {fix}")
        if names.count(name) > 1:
            what = "one file a request: join the files, or send a request for each" if name == upload else \
                f"one {name}: send it once"
            raise ServeError(422, E_BAD_FIELD, f"the form field {name!r} is sent {names.count(name)} times; {path} "
                                               f"reads {what}")
        if name == upload and isinstance(value, str) and value.strip():
            raise ServeError(422, E_BAD_FIELD, f"the form field {name!r} is text, not a file; upload the file "
                                               f"(curl -F {fields[name]}: the @ sends the file)")
        if name != upload and not isinstance(value, str):
            raise ServeError(422, E_BAD_FIELD, f"the form field {name!r} is a file "
                                               f"({Path(value.filename or 'without a name').name}), not text; send it "
                                               f"as text (curl -F \"{fields[name]}\"), and a file as the form field "
                                               f"{upload!r}")
    chosen = [v for name, v in sent if name == upload and not isinstance(v, str) and (v.filename or v.size)]
    if path == "/api/reviews" and not chosen:
        raise ServeError(422, E_EMPTY_REQUEST, f"no file: upload it as the form field {upload!r} "
                                               f"(curl -F {fields[upload]})")


def reported(result: dict[str, Any], annotated: dict[str, int]) -> Any:
    """The report, with 422 and an E111 ``error`` beside it when every record of a kind it needs was
    rejected, as the CLI exits 2: a client must not take "0 reviews" for a result."""
    from fastapi.responses import JSONResponse

    refusal = nothing_read(annotated, result["counts"]["rejected"], "in rejects")
    if refusal is None:
        return JSONResponse(result)
    return JSONResponse({"error": {"code": refusal.code, "message": refusal.args[0]}, **result}, status_code=422)


def _dump(items: list) -> list[dict]:
    """The request's records as sent: a null stays (a null text is a reject that says so, a null rating is
    kept in meta), where dropping nulls made "text": null read as "no 'text' field"; a field not sent is
    absent (a record without a text is one reject, as in a JSONL file, not a refused request)."""
    return [item.model_dump(exclude_unset=True) if hasattr(item, "model_dump") else item for item in items]


def counts(items: list, records: list[dict], rejects: list[dict]) -> dict[str, Any]:
    """read = annotated + rejected, and how many ids occur more than once (a join on id would pair wrongly)."""
    from .records import RepeatedIds

    return {"read": len(items), "annotated": len(records), "rejected": len(rejects),
            "repeated_ids": RepeatedIds.of(rec["id"] for rec in records)}


class SecurityHeaders:
    """ASGI middleware: every response says not to sniff its type, not to be framed (clickjacking: a
    ``<meta>`` CSP cannot forbid that) and not to send the page's address on."""

    HEADERS = [(b"x-content-type-options", b"nosniff"), (b"x-frame-options", b"DENY"),
               (b"referrer-policy", b"no-referrer")]

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)

        async def with_headers(message: dict) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", []), *self.HEADERS]}
            await send(message)

        await self.app(scope, receive, with_headers)


class _TooLarge(Exception):
    """Raised inside a request's body stream once it passes the limit."""


class BodyLimit:
    """ASGI middleware: a request body over ``limit`` bytes gets a coded 413 from ``refuse(path, size)``,
    whether it says its length (refused before it is read) or comes in chunks (counted as it arrives, and
    refused as soon as it passes: a chunked body used to be read whole, whatever its size). A form's
    routes allow ``framing[path]`` bytes more, so a file of the limit fits with the rest of its form."""

    def __init__(self, app: Any, limit: int, refuse: Any, framing: dict[str, int] | None = None) -> None:
        self.app, self.base, self.refuse, self.framing = app, limit, refuse, dict(framing or {})

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        limit = self.base + self.framing.get(scope["path"], 0)
        length = dict(scope.get("headers") or []).get(b"content-length", b"")
        if length.isdigit() and int(length) > limit:
            return await self.refuse(scope["path"], int(length))(scope, receive, send)
        received, over = 0, False

        async def counted() -> dict:
            nonlocal received, over
            message = await receive()
            received += len(message.get("body", b""))
            if received > limit:
                over = True
                raise _TooLarge
            return message

        async def unless_over(message: dict) -> None:
            if not over:  # what the app answers to the broken-off body is replaced by the 413
                await send(message)

        try:
            await self.app(scope, counted, unless_over)
        except Exception:
            if not over:
                raise
        if over:
            await self.refuse(scope["path"], None)(scope, receive, send)


def _read_limited(upload: Any, service: Service) -> bytes:
    """The upload's bytes, stopping (413) as soon as it passes the limit rather than reading it all."""
    data = upload.file.read(service.max_upload_bytes + 1)
    if len(data) > service.max_upload_bytes:
        raise ServeError(413, E_TOO_LARGE, f"{Path(upload.filename or 'upload').name}: over the upload limit of "
                                           f"{service.max_upload_bytes:,} bytes (serve.max_upload_mb)")
    return data


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("lipservice")
    except PackageNotFoundError:
        return "0"


def run(cfg: Any, host: str, port: int) -> None:
    """Serve until interrupted (uvicorn, one process: the models are loaded once)."""
    _fastapi_offline()
    try:
        import uvicorn
    except ImportError:
        raise UsageError(f"lipservice serve needs uvicorn; run `{install_hint('serve')}`",
                         code=E_MISSING_EXTRA) from None
    check_address(host, port)  # before the models load, not after
    uvicorn.run(create_app(cfg), host=host, port=port, log_level="info")


def check_address(host: str, port: int) -> None:
    """Refuse, with the fix, an address the server could not listen on: a port in use, or a host name
    that is not this machine's (uvicorn would say so only after the models have loaded)."""
    import errno
    import socket

    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as err:
        raise UsageError(f"--host {host}: not an address of this machine ({err.strerror}); use 127.0.0.1, or "
                         "0.0.0.0 for every interface", code=E_PORT) from None
    family, kind, proto, _, address = infos[0]
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn binds
        try:
            probe.bind(address)
        except OSError as err:
            fix = ("another program is listening there: choose another --port" if err.errno == errno.EADDRINUSE
                   else "use an address of this machine (127.0.0.1, or 0.0.0.0 for every interface) and a port "
                        "you may open (1024 or above without privileges)")
            raise UsageError(f"--host {host} --port {port}: cannot listen there ({err.strerror}); {fix}",
                             code=E_PORT) from None
