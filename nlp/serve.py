"""``lipservice serve``: a page for auditors (paste copy, upload reviews, read the report) and a
JSON API for audit, annotate and gap, with OpenAPI docs. FastAPI and uvicorn are the ``serve``
extra, imported lazily. The pipeline is built once per process and used under a lock (a spaCy
pipeline is not thread-safe); uploads are size-limited and bad ones get a clear 4xx.

No ``from __future__ import annotations`` here: FastAPI reads the route signatures at run time,
and the request models are local to ``create_app``.
"""

import html
import logging
import tempfile
import threading
from pathlib import Path
from typing import Any

from .errors import (
    E_BAD_FIELD,
    E_BAD_REQUEST,
    E_EMPTY_REQUEST,
    E_MISSING_EXTRA,
    E_PORT,
    E_TOO_LARGE,
    E_TOO_MANY,
    E_UNKNOWN_EXT,
    LipserviceError,
    UsageError,
)
from .io import FORMAT_ALIASES, SUPPORTED_EXTS, TABLE_EXTS, format_of, unknown_format
from .records import ReadOptions, Record, Reject, record_from_mapping

log = logging.getLogger(__name__)
INSTALL_HINT = "pip install 'lipservice[serve]'"


def _fastapi_offline():
    """FastAPI with the Swagger UI and ReDoc assets served locally (``/docs`` works offline)."""
    try:
        import fastapi  # noqa: F401
        import python_multipart  # noqa: F401  (FastAPI needs it for forms and uploads)
        from fastapi_offline import FastAPIOffline
    except ImportError:
        raise UsageError(f"lipservice serve needs FastAPI, fastapi-offline, uvicorn and python-multipart, which are "
                         f"not all installed; run `{INSTALL_HINT}`", code=E_MISSING_EXTRA) from None
    return FastAPIOffline


class ServeError(Exception):
    """A request the user must fix: HTTP ``status``, a stable ``code`` and a message saying what to do."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


class Service:
    """The pipeline and settings of one server process, and the work behind every route."""

    def __init__(self, cfg: Any, nlp: Any = None) -> None:
        from .annotate import Annotator
        from .pipeline import build_nlp

        sc = cfg["serve"]
        self.cfg = cfg
        self.max_upload_bytes = int(float(sc["max_upload_mb"]) * 1024 * 1024)
        self.max_records = int(sc["max_records"])
        self.max_chars = min(int(cfg["lipservice"]["max_chars"]), int(sc["max_text_chars"]))
        self.nlp = nlp if nlp is not None else build_nlp(cfg)
        self.annotator = Annotator.from_config(cfg, self.nlp)
        self.lock = threading.Lock()

    def options(self, kind: str) -> ReadOptions:
        return ReadOptions.from_config(self.cfg, default_kind=kind, max_chars=self.max_chars)

    # --- turning requests into records --------------------------------------------------------
    def records_from_json(self, items: list[dict], kind: str, source: str) -> list[Record | Reject]:
        if len(items) > self.max_records:
            raise ServeError(413, E_TOO_MANY, f"{source}: {len(items):,} records, over the limit of "
                                              f"{self.max_records:,} per request (serve.max_records); send fewer")
        opts = self.options(kind)
        return [record_from_mapping(source, f"{source}[{i}]", f"{source}:{i}", dict(item), opts)
                for i, item in enumerate(items)]

    def records_from_upload(self, filename: str, data: bytes, kind: str) -> list[Record | Reject]:
        """Records of an uploaded file, read by the same readers as the CLI (rejects included)."""
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
            opts = self.options(kind)
            try:
                check_inputs([str(path)], opts)
            except LipserviceError as err:
                raise ServeError(422, err.code, str(err).replace(str(path), name)) from None
            out = []
            for item in read_inputs([str(path)], opts):
                if isinstance(item, Reject):
                    item = Reject(name, item.position, item.reason.replace(str(path), name), item.code)
                else:
                    item.source = name
                    if item.id.startswith(str(path)):
                        item.id = name + item.id[len(str(path)):]
                out.append(item)
            return out

    def copy_record(self, text: str, source: str = "pasted copy") -> Record:
        if not text or not text.strip():
            raise ServeError(422, E_EMPTY_REQUEST, "the copy is empty; paste the text to audit")
        if len(text) > self.max_chars:
            raise ServeError(413, E_TOO_LARGE, f"the copy is {len(text):,} characters, over the limit of "
                                               f"{self.max_chars:,} (serve.max_text_chars)")
        return Record(id=source, text=text, kind="company", source=source)

    # --- the work -------------------------------------------------------------------------------
    def annotate(self, items: list[Record | Reject]) -> tuple[list[dict], list[dict]]:
        rejects: list[Reject] = []
        with self.lock:
            records = list(self.annotator.annotate(iter(items), rejects.append))
        return records, [r.to_json() for r in rejects]

    def audit(self, items: list[Record | Reject]) -> dict[str, Any]:
        from .audit import audit_result

        records, rejects = self.annotate(items)
        top = int(self.cfg["lipservice"]["rewrite_top"])
        return {"documents": [audit_result(r, top) for r in records], "rejects": rejects}

    def reviews(self, items: list[Record | Reject]) -> dict[str, Any]:
        from .reviews import review_report

        records, rejects = self.annotate(items)
        with self.lock:
            summary, _, _ = review_report(self.nlp, records, self.cfg)
        summary["rejects"] = rejects
        return summary

    def gap(self, copy: list[Record | Reject], reviews: list[Record | Reject]) -> dict[str, Any]:
        from .gap import gap_report

        copy_records, copy_rejects = self.annotate(copy)
        review_records, review_rejects = self.annotate(reviews)
        with self.lock:
            result = gap_report(self.nlp, copy_records, review_records, self.cfg)
        result["rejects"] = copy_rejects + review_rejects
        return result


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
    box = f'<p class="error" role="alert">{html.escape(error)}</p>' if error else ""
    return (FORM_PAGE.replace("{error}", box).replace("{copy}", html.escape(copy))
            .replace("{accept}", accept).replace("{limit}", f"{service.max_upload_bytes / 1024 / 1024:g}"))


def create_app(cfg: Any = None, nlp: Any = None) -> Any:
    """The FastAPI application; builds the pipeline once (or uses ``nlp``)."""
    FastAPIOffline = _fastapi_offline()
    from fastapi import File, Form, Request, UploadFile
    from fastapi.exceptions import RequestValidationError
    from fastapi.responses import HTMLResponse, JSONResponse
    from pydantic import BaseModel, ConfigDict, Field

    from .html_report import render_report
    from .pipeline import load_config

    service = Service(cfg if cfg is not None else load_config(), nlp)
    app = FastAPIOffline(title="lipservice", version=_version(),
                          description="Perspective, promises, complaints and the gap between them. "
                                      "Every route reads text in and returns the contracts of DESIGN.md.")
    app.state.service = service

    class Item(BaseModel):
        model_config = ConfigDict(extra="allow")
        text: Any = Field(..., description="The text (records with an empty or non-string text are rejected).")
        id: Any = Field(None, description="Record id; a stable one is made when missing.")

    class AuditRequest(BaseModel):
        documents: list[Item] = Field(..., description="Company copy to audit, one item per document.")

    class AnnotateRequest(BaseModel):
        records: list[Item] = Field(..., description="Records; each may carry kind, rating, date and more.")
        kind: str = Field("auto", description="Kind for records without one: company, review or auto.")

    class GapRequest(BaseModel):
        copy_: list[Item] = Field(..., alias="copy", description="Company copy documents.")
        reviews: list[Item] = Field(..., description="Reviews, with optional rating and date.")

    @app.exception_handler(ServeError)
    async def _serve_error(request: Request, exc: ServeError):
        log.info("%s %s: %s %s", request.method, request.url.path, exc.status, exc.message)
        if request.url.path.startswith("/api/"):
            return JSONResponse({"error": {"code": exc.code, "message": exc.message}}, status_code=exc.status)
        return HTMLResponse(form_page(service, f"[{exc.code}] {exc.message}"), status_code=exc.status)

    @app.exception_handler(RequestValidationError)
    async def _bad_request(request: Request, exc: RequestValidationError):
        problems = "; ".join(f"{'.'.join(str(x) for x in e.get('loc', ()))}: {e.get('msg', 'invalid')}"
                             for e in exc.errors()[:5])
        return await _serve_error(request, ServeError(422, E_BAD_REQUEST, f"the request does not match the API "
                                                                          f"({problems}); see /docs"))

    @app.middleware("http")
    async def _limit_body(request: Request, call_next):
        length = request.headers.get("content-length")
        if length and length.isdigit() and int(length) > service.max_upload_bytes + 65536:
            message = (f"request body of {int(length):,} bytes is over the limit of {service.max_upload_bytes:,} "
                       "(serve.max_upload_mb)")
            return await _serve_error(request, ServeError(413, E_TOO_LARGE, message))
        return await call_next(request)

    @app.get("/", response_class=HTMLResponse, summary="The page: paste copy, upload reviews")
    def index() -> str:
        return form_page(service)

    @app.post("/report", response_class=HTMLResponse, summary="The HTML report of pasted copy and uploaded reviews")
    def report(copy_text: str = Form("", alias="copy"), reviews: UploadFile | None = File(None)):
        try:
            return _report(copy_text, reviews)
        except ServeError as exc:  # back to the form, with the message and the pasted copy kept
            return HTMLResponse(form_page(service, f"[{exc.code}] {exc.message}", copy_text), status_code=exc.status)

    def _report(copy: str, reviews: UploadFile | None) -> str:
        has_reviews = reviews is not None and bool(reviews.filename)
        review_items = (service.records_from_upload(reviews.filename, _read_limited(reviews, service), "review")
                        if has_reviews else [])
        if not copy.strip() and not has_reviews:
            raise ServeError(422, E_EMPTY_REQUEST, "nothing to analyse: paste copy, upload a reviews file, or both")
        copy_items = [service.copy_record(copy)] if copy.strip() else []
        if has_reviews:
            result = service.gap(copy_items, review_items)
            return render_report(title="lipservice gap report", gap=result)
        audited = service.audit(copy_items)
        return render_report(title="lipservice audit", audits=audited["documents"], rejects=audited["rejects"])

    @app.post("/api/audit", summary="Audit company copy: perspective, promises, claims, what to rewrite first")
    def api_audit(body: AuditRequest) -> dict:
        return service.audit(service.records_from_json(_dump(body.documents), "company", "documents"))

    @app.post("/api/annotate", summary="The annotate contract (DESIGN.md) for each record, rejects with reasons")
    def api_annotate(body: AnnotateRequest) -> dict:
        if body.kind not in ("company", "review", "auto"):
            raise ServeError(422, E_BAD_FIELD, f"kind {body.kind!r} is not one of company, review, auto")
        items = service.records_from_json(_dump(body.records), body.kind, "records")
        records, rejects = service.annotate(items)
        return {"records": records, "rejects": rejects,
                "counts": {"read": len(items), "annotated": len(records), "rejected": len(rejects)}}

    @app.post("/api/gap", summary="Promises against complaints: verdicts, unmet expectations, claims")
    def api_gap(body: GapRequest) -> dict:
        if not body.copy_ and not body.reviews:
            raise ServeError(422, E_EMPTY_REQUEST, "nothing to analyse: send copy, reviews, or both")
        return service.gap(service.records_from_json(_dump(body.copy_), "company", "copy"),
                           service.records_from_json(_dump(body.reviews), "review", "reviews"))

    @app.post("/api/reviews", summary="Complaint rate, themes, discovered themes and the monthly trend")
    def api_reviews(file: UploadFile = File(..., description="A .jsonl, .csv or .parquet file of reviews.")) -> dict:
        return service.reviews(service.records_from_upload(file.filename, _read_limited(file, service), "review"))

    return app


def _dump(items: list) -> list[dict]:
    return [item.model_dump(exclude_none=True) for item in items]


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
        raise UsageError(f"lipservice serve needs uvicorn; run `{INSTALL_HINT}`", code=E_MISSING_EXTRA) from None
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
