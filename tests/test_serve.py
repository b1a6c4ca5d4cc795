"""``lipservice serve``: the JSON API and upload limits (FastAPI's TestClient), and the page in a
real headless Chromium driven by Playwright: paste copy, upload reviews, read the report; hostile
input in every field runs nothing."""
from __future__ import annotations

import html
import json
import os
import shutil
import socket
import threading
import time
from pathlib import Path

import pytest

pytest.importorskip("fastapi", reason="the serve extra is not installed")

from fastapi.testclient import TestClient  # noqa: E402

from nlp.serve import create_app  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = Path(os.environ.get("LIPSERVICE_ARTIFACTS", ROOT / ".artifacts"))
CHROMIUM = os.environ.get("LIPSERVICE_CHROMIUM", "/usr/bin/chromium")
COPY = ("# Larkfield Home\n\nNext-day delivery on every order placed before 8pm. Free returns within 30 days. "
        "Customers are at the heart of everything we do.\n")
REVIEWS = [{"id": f"r{i}", "text": "My parcel arrived four days late instead of the next day.", "rating": "1 star",
            "date": "2025-03-14"} for i in range(6)] + \
          [{"id": f"ok{i}", "text": "Lovely cushions, exactly as pictured.", "rating": 5, "date": "03/20/2025"}
           for i in range(14)]
HOSTILE = ['<script>window.__pwned=1</script>', '<img src=x onerror="window.__pwned=1">',
           'javascript:window.__pwned=1', '" onmouseover="window.__pwned=1" x="', "<svg onload=window.__pwned=1>",
           "=HYPERLINK(\"javascript:alert(1)\")"]


@pytest.fixture(scope="module")
def app(cfg, nlp):
    return create_app(cfg, nlp)


@pytest.fixture(scope="module")
def client(app):
    return TestClient(app)


def jsonl(rows) -> bytes:
    return "".join(json.dumps(r) + "\n" for r in rows).encode()


# --- JSON API ---------------------------------------------------------------------------------

def test_api_audit_returns_the_audit_contract(client):
    r = client.post("/api/audit", json={"documents": [{"id": "page", "text": COPY}]})
    assert r.status_code == 200
    doc = r.json()["documents"][0]
    assert doc["id"] == "page" and doc["scores"]["sentences"] >= 3
    assert r.json()["counts"] == {"read": 1, "annotated": 1, "rejected": 0, "repeated_ids": {"ids": 0, "records": 0}}
    assert any(p["text"].startswith("Next-day delivery") for p in doc["promises"])


def test_api_audit_says_when_the_copy_is_not_in_english(client):
    """The API and the /report page gave French copy a clean lip-service score of 0 without a word."""
    french = ("Nous plaçons nos clients au cœur de tout ce que nous faisons. Notre équipe primée vous accompagne "
              "avec passion et vous rembourse sous quarante-huit heures.")
    r = client.post("/api/audit", json={"documents": [{"id": "fr", "text": french}, {"id": "en", "text": COPY}]})
    assert r.status_code == 200
    warnings = [d["warnings"] for d in r.json()["documents"]]
    assert len(warnings[0]) == 1 and "language 'fr'" in warnings[0][0] and warnings[1] == []
    page = client.post("/report", data={"copy": french}).text
    assert '<p class="warning">text is in language &#x27;fr&#x27;' in page


def test_the_report_page_refuses_binary_copy_as_the_api_does(client):
    """/report returned 200 with 20 raw NUL and 18 ESC bytes in the page; /api/audit refused the same text."""
    page = client.post("/report", data={"copy": "We care.\x00\x00\x1b[31m"})
    assert page.status_code == 422 and "[E112]" in page.text and "\x00" not in page.text


def test_a_body_that_is_not_json_says_why_and_where(client):
    """It said "body.1: JSON decode error": neither what broke nor where."""
    r = client.post("/api/audit", content=b'{"documents": [\n  {"text": "We care."},\n  {bad}\n]}',
                    headers={"content-type": "application/json"})
    assert r.status_code == 422 and r.json()["error"]["code"] == "E132"
    assert r.json()["error"]["message"] == ("the body is not valid JSON: Expecting property name enclosed in double "
                                            "quotes at line 3, column 4; fix it and send it again")
    utf16 = client.post("/api/audit", content='{\n  "documents": [\n    {"text": "hi",}\n  ]\n}'.encode("utf-16-le"),
                        headers={"content-type": "application/json"})
    assert "at line 3, column 19;" in utf16.json()["error"]["message"]  # counted in the text that was parsed
    empty = client.post("/api/audit", content=b"", headers={"content-type": "application/json"})
    assert empty.status_code == 422 and empty.json()["error"]["message"].startswith("the body is empty; /api/audit reads application/json")


@pytest.mark.parametrize("route, kwargs, says", [
    ("/api/audit", {"content": b"We care.", "headers": {"content-type": "text/plain"}},
     "/api/audit reads application/json, not text/plain; send the records as JSON"),
    ("/api/reviews", {"json": {"file": "r.csv"}},
     "/api/reviews reads multipart/form-data, not application/json; upload the file as a form"),
    ("/report", {"json": {"copy": "x"}}, "/report reads a form (multipart/form-data), not application/json"),
    ("/api/reviews", {}, "/api/reviews reads multipart/form-data, not a body without a content type; upload"),  # was "none"
])
def test_a_body_of_the_wrong_type_is_415_saying_which_type_to_send(client, route, kwargs, says):
    """A text body to /api/audit got 422 "Input should be a valid dictionary"; JSON to /api/reviews
    "body.file: Field required"."""
    r = client.post(route, **kwargs)
    message = r.json()["error"]["message"] if route.startswith("/api/") else html.unescape(r.text)  # the form page
    assert r.status_code == 415 and says in message


def test_the_report_page_with_reviews_alone_shows_the_reviews_report(client):
    """With no copy pasted, the page showed a gap report in which every complaint theme was "unmet"."""
    rows = "id,text,rating\nr1,My parcel arrived two weeks late.,1\nr2,Lovely cushions.,5\n"
    page = client.post("/report", data={"copy": ""}, files={"reviews": ("r.csv", rows.encode())})
    assert page.status_code == 200
    assert '<section id="reviews">' in page.text and "Unmet expectations" not in page.text


def test_api_annotate_keeps_order_and_rejects_with_reasons(client):
    r = client.post("/api/annotate", json={"records": [{"id": "a", "text": "You get your money back in 48 hours."},
                                                       {"id": "b", "text": "   "}, {"text": 42},
                                                       {"id": "c", "text": "We are award-winning."}]})
    body = r.json()
    assert r.status_code == 200 and [x["id"] for x in body["records"]] == ["a", "c"]
    assert body["counts"] == {"read": 4, "annotated": 2, "rejected": 2, "repeated_ids": {"ids": 0, "records": 0}}
    assert [x["position"] for x in body["rejects"]] == ["records[1]", "records[2]"]
    assert "empty text" in body["rejects"][0]["reason"] and "not a string" in body["rejects"][1]["reason"]
    assert set(body["records"][0]["sentences"][0]) >= {"text", "start", "end", "perspective", "complaint_p", "theme"}


def test_api_half_an_emoji_in_an_id_or_extra_field_is_a_reject_not_a_server_error(client):
    raw = ('{"records": [{"id": "a\\ud83d", "text": "We care."}, {"id": "b", "text": "You get refunds.", '
           '"note": "\\udc00"}, {"id": "c", "text": "We are award-winning."}]}')
    r = client.post("/api/annotate", content=raw, headers={"content-type": "application/json"})
    body = r.json()
    assert r.status_code == 200 and [x["id"] for x in body["records"]] == ["c"]
    assert [(x["position"], x["reason"]) for x in body["rejects"]] == [
        ("records[0]", "field 'id' contains unpaired surrogates (invalid Unicode)"),
        ("records[1]", "field 'note' contains unpaired surrogates (invalid Unicode)")]


def test_upload_of_utf16_reviews_and_of_a_header_alone(client):
    body = client.post("/api/reviews", files={"file": ("r.csv", "id,text\r\n1,It broke.\r\n".encode("utf-16"))}).json()
    assert body["reviews"] == 1 and body["rejects"] == []
    header = client.post("/api/reviews", files={"file": ("h.csv", b"id,text\n")})  # nothing to read: as an empty file
    assert header.status_code == 422 and header.json()["error"]["message"] == "h.csv: no records: a header and no rows"


def test_api_gap(client):
    r = client.post("/api/gap", json={"copy": [{"id": "page", "text": COPY}], "reviews": REVIEWS})
    assert r.status_code == 200
    gap = r.json()
    nd = next(p for p in gap["promises"] if p["text"].startswith("Next-day"))
    assert nd["verdict"] == "broken" and nd["ids"] == [f"r{i}" for i in range(6)]
    assert set(gap) >= {"promises", "unmet", "claims", "scores"}
    assert gap["counts"] == {"read": 21, "annotated": 21, "rejected": 0, "copy": 1, "reviews": 20,
                             "repeated_ids": {"ids": 0, "records": 0}}  # as `lipservice gap --json` counts


def test_api_reviews_upload(client):
    r = client.post("/api/reviews", files={"file": ("reviews.jsonl", jsonl(REVIEWS + REVIEWS[:1]),
                                                    "application/x-ndjson")})
    assert r.status_code == 200 and r.json()["reviews"] == 21
    assert r.json()["counts"] == {"read": 21, "annotated": 21, "rejected": 0, "repeated_ids": {"ids": 1, "records": 2}}


def test_openapi_lists_every_route_and_the_errors_as_they_are_sent(client):
    spec = client.get("/openapi.json").json()
    paths = spec["paths"]
    assert {"/api/audit", "/api/annotate", "/api/gap", "/api/reviews", "/report", "/"} <= set(paths)
    responses = paths["/api/annotate"]["post"]["responses"]
    assert {"400", "413", "415", "422"} <= set(responses)  # not FastAPI's {"detail": [...]}, which is never sent
    assert responses["422"]["content"]["application/json"]["schema"]["$ref"].endswith("/ErrorBody")
    assert "multipart/form-data" in paths["/report"]["post"]["requestBody"]["content"]


@pytest.mark.parametrize("body,status,code", [
    ({"documents": []}, 200, None),
    ({"records": [{"text": "hi"}], "kind": "robot"}, 422, "E120"),
    ({"copy": [], "reviews": []}, 422, "E130"),
    ({"documents": "not a list"}, 422, "E132"),
    ({"records": [{"text": "hi"}], "kind": 5}, 422, "E132"),
])
def test_api_bad_requests_get_clear_4xx(client, body, status, code):
    route = {"documents": "/api/audit", "records": "/api/annotate", "copy": "/api/gap"}[next(iter(body))]
    r = client.post(route, json=body)
    assert r.status_code == status
    if code:
        assert r.json()["error"]["code"] == code and r.json()["error"]["message"]


def test_upload_limits_and_formats(cfg, nlp):
    small = cfg.copy()
    small["serve"] = {**cfg["serve"], "max_upload_mb": 0.001, "max_records": 2}
    c = TestClient(create_app(small, nlp))
    big = c.post("/api/reviews", files={"file": ("reviews.jsonl", b"x" * 5000)})
    assert big.status_code == 413 and "over the upload limit" in big.json()["error"]["message"]
    many = c.post("/api/annotate", json={"records": [{"text": "a"}] * 3})
    assert many.status_code == 413 and many.json()["error"]["code"] == "E131"
    exe = c.post("/api/reviews", files={"file": ("tool.exe", b"MZ\x90")})
    assert exe.status_code == 415 and "unknown extension '.exe'" in exe.json()["error"]["message"]
    empty = c.post("/api/reviews", files={"file": ("r.jsonl", b"")})
    assert empty.status_code == 422 and "empty" in empty.json()["error"]["message"]
    nocol = c.post("/api/reviews", files={"file": ("r.csv", b"id,body\n1,late again\n")})
    assert nocol.status_code == 422 and "r.csv: line 1: no 'text' column" in nocol.json()["error"]["message"]
    page = c.post("/report", data={"copy": ""})
    assert page.status_code == 422 and "nothing to analyse" in page.text and "<form" in page.text
    kept = c.post("/report", data={"copy": "Our <b>copy</b>"}, files={"reviews": ("r.docx", b"PK\x03")})
    assert kept.status_code == 415 and "unknown extension &#x27;.docx&#x27;" in kept.text
    assert "Our &lt;b&gt;copy&lt;/b&gt;</textarea>" in kept.text  # the pasted copy is kept, escaped


def test_a_body_sent_in_chunks_is_held_to_the_same_limit(cfg, nlp):
    """Only Content-Length was checked: a chunked body of any size was read whole and answered 200."""
    small = cfg.copy()
    small["serve"] = {**cfg["serve"], "max_upload_mb": 0.01}  # 10 KiB (a form: plus 64 KiB for its own bytes)

    def chunks():
        yield b'{"records": [{"text": "'
        for _ in range(100):
            yield b"a" * 10_000
        yield b'"}]}'

    c = TestClient(create_app(small, nlp))
    r = c.post("/api/annotate", content=chunks(), headers={"content-type": "application/json"})
    assert r.status_code == 413 and r.json()["error"]["code"] == "E114"
    assert "request body (sent in chunks) is over the limit of 10,485 bytes" in r.json()["error"]["message"]
    ok = c.post("/api/annotate", content=iter([b'{"records": [{"text": "We care."}]}']),
                headers={"content-type": "application/json"})
    assert ok.status_code == 200 and ok.json()["counts"]["annotated"] == 1
    # a JSON body is held to the limit itself; only a form gets room for its framing beside the file
    just_over = b'{"records": [{"text": "' + b"a" * 10_500 + b'"}]}'
    assert c.post("/api/annotate", content=just_over, headers={"content-type": "application/json"}).status_code == 413
    form = c.post("/api/reviews", files={"file": ("r.jsonl", b'{"text": "Late again."}\n' * 400)})  # 10,000 bytes
    assert form.status_code == 200 and form.json()["counts"]["read"] == 400
    big_form = c.post("/api/reviews", files={"file": ("r.jsonl", b"a" * 80_000)})
    assert big_form.status_code == 413 and "76,021 bytes for a form (serve.max_upload_mb, plus 64 KiB" in \
        big_form.json()["error"]["message"]
    # /report holds a pasted copy as well as a file: each within its own limit, together over the file's
    copy = "We refund you in 48 hours. " * 3_000  # 81,000 characters
    both = c.post("/report", data={"copy": copy}, files={"reviews": ("r.jsonl", b'{"text": "Late again."}\n' * 400)})
    assert both.status_code == 200, both.text[-300:]


def test_framework_refusals_are_coded_like_every_other_error(client):
    """A body that does not parse, a path or method that does not exist: not a bare {"detail": ...}."""
    bad_utf8 = client.post("/api/annotate", content=b'{"records": [{"text": "caf\xe9"}]}',
                           headers={"content-type": "application/json"})
    missing = client.get("/api/nothing")
    no_boundary = client.post("/api/reviews", content=b"x", headers={"content-type": "multipart/form-data"})
    for r, status, code in ((bad_utf8, 422, "E113"), (missing, 404, "E118"), (no_boundary, 400, "E132")):
        assert r.status_code == status and set(r.json()) == {"error"} and r.json()["error"]["code"] == code
    assert "see /docs" in missing.json()["error"]["message"]


def test_deeply_nested_meta_comes_back_and_nulls_are_kept(client):
    """Nested 300 levels, meta made FastAPI's serializer give a 500 after the work was done."""
    raw = b'{"records": [{"text": "We care.", "rating": null, "meta": ' + b"[" * 300 + b"]" * 300 + b"}, {\"text\": null}]}"
    raw = raw.replace(b'\\"', b'"')
    r = client.post("/api/annotate", content=raw, headers={"content-type": "application/json"})
    assert r.status_code == 200
    body = r.json()
    assert body["records"][0]["meta"]["rating"] is None and body["counts"]["repeated_ids"] == {"ids": 0, "records": 0}
    assert body["rejects"][0]["reason"] == "field 'text' is null, not a string"


def test_rejects_and_errors_give_the_api_s_fix_not_the_cli_s(cfg, nlp):
    small = cfg.copy()
    small["serve"] = {**cfg["serve"], "max_text_chars": 20}
    c = TestClient(create_app(small, nlp))
    r = c.post("/api/annotate", json={"records": [{"text": "x" * 30}]}).json()
    assert [x["reason"] for x in r["rejects"]] == ["text is 30 characters, over the limit of 20 (raise "
                                                   "serve.max_text_chars)"]
    r = c.post("/api/annotate", json={"records": [{"body": "hi"}]}).json()
    assert [x["reason"] for x in r["rejects"]] == [
        "no 'text' field (fields: body); the API reads the 'text' field: rename it in the file or request"]
    r = c.post("/api/reviews", files={"file": ("r.jsonl", b'{"body": "hi"}\n{"text": "Late."}\n')}).json()
    assert [x["reason"] for x in r["rejects"]] == ["no 'text' field (fields: body); name the text field with the "
                                                   "form field text_field"]
    nocol = c.post("/api/reviews", files={"file": ("r.csv", b"id,body\n1,late again\n")}).json()["error"]["message"]
    assert nocol.startswith("r.csv: line 1: no 'text' column") and "[E115]" not in nocol and "--text-field" not in nocol
    assert "the form field text_field" in nocol


def test_an_upload_names_its_text_and_id_columns_with_form_fields(cfg, nlp):
    """A CFPB export's text is in "Consumer complaint narrative": the upload could not name it, and the
    advice to "rename it in the file or request" pointed at a request option that did not exist."""
    c = TestClient(create_app(cfg, nlp))
    csv = b'Complaint ID,Consumer complaint narrative\n7,"My refund never arrived."\n8,"Charged twice."\n'
    r = c.post("/api/reviews", files={"file": ("cfpb.csv", csv)},
               data={"text_field": "Consumer complaint narrative", "id_field": "Complaint ID"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["counts"]["annotated"] == 2 and body["counts"]["rejected"] == 0
    assert not [w for w in body["warnings"] if "id_field" in w]
    typo = c.post("/api/reviews", files={"file": ("cfpb.csv", csv)},
                  data={"text_field": "Consumer complaint narrative", "id_field": "Complaint Id"})
    assert typo.status_code == 422 and "name the id column with the form field id_field" in typo.text
    lines = b'{"body": "Late.", "rid": 1}\n{"body": "Rude.", "rid": 2}\n'
    typo = c.post("/api/reviews", files={"file": ("r.jsonl", lines)}, data={"text_field": "body", "id_field": "ridd"})
    assert ("2 of 2 records have no 'ridd' field (the form field id_field), so each got its file and position as "
            "id") in " ".join(typo.json()["warnings"])  # a JSON Lines file's fields vary: a warning, as the CLI's
    for blank in (" ", ""):  # an empty field is one FastAPI reads as left out: its default, "text"
        empty = c.post("/api/reviews", files={"file": ("cfpb.csv", csv)}, data={"text_field": blank})
        assert empty.status_code == 422 and "the form field text_field is empty" in empty.json()["error"]["message"]


def test_an_upload_is_held_to_the_record_limit(cfg, nlp):
    """A 62 KB .jsonl.gz held 25,000 reviews, all processed: the record limit applied to JSON requests only."""
    import gzip

    small = cfg.copy()
    small["serve"] = {**cfg["serve"], "max_records": 3}
    c = TestClient(create_app(small, nlp))
    r = c.post("/api/reviews", files={"file": ("r.jsonl.gz", gzip.compress(jsonl(REVIEWS[:4])))})
    assert r.status_code == 413 and r.json()["error"]["code"] == "E131"
    broken = c.post("/api/reviews", files={"file": ("r.jsonl.gz", b"not gzip")})
    assert broken.status_code == 422 and "not a readable gzip file" in broken.json()["error"]["message"]


def test_pasted_copy_over_a_megabyte_within_the_character_limit_is_read(client):
    """Starlette caps a form field at 1 MB: non-ASCII copy under serve.max_text_chars was refused."""
    page = client.post("/report", data={"copy": "我们保证退款。" * 50_000 + " We refund you in 48 hours."})
    assert page.status_code == 200 and "lipservice audit" in page.text


def test_bidirectional_overrides_in_an_upload_name_are_shown_not_obeyed(client):
    page = client.post("/report", data={"copy": "hi"}, files={"reviews": ("invoice\u202egpj.exe", b"hello")})
    assert page.status_code == 415 and "\u202e" not in page.text and "invoice\\u202egpj.exe" in page.text


def test_upload_rejects_are_reported_not_dropped(client):
    rows = jsonl(REVIEWS[:3]) + b'{"id": "broken", "text": \n' + b'{"id": "bin", "text": "a\\u0000b"}\n'
    body = client.post("/api/reviews", files={"file": ("mixed.jsonl", rows)}).json()
    assert body["reviews"] == 3 and len(body["rejects"]) == 2
    assert all(r["source"] == "mixed.jsonl" for r in body["rejects"])


def test_reports_of_nothing_readable_are_422_with_the_report_beside_the_error(client):
    # as the CLI exits 2 (E111): "0 reviews" with 200 would read as a result
    empty = {"id": "e", "text": ""}
    gap = client.post("/api/gap", json={"copy": [{"id": "page", "text": COPY}], "reviews": [empty, empty]})
    assert gap.status_code == 422 and gap.json()["error"]["code"] == "E111"
    assert "no review record" in gap.json()["error"]["message"] and gap.json()["counts"]["rejected"] == 2
    assert len(gap.json()["rejects"]) == 2 and gap.json()["copy"]
    reviews = client.post("/api/reviews", files={"file": ("bad.jsonl", b'{"text": ""}\n{"text": 3}\n')})
    assert reviews.status_code == 422 and reviews.json()["error"]["code"] == "E111"
    assert (reviews.json()["counts"]["read"], reviews.json()["counts"]["rejected"]) == (2, 2)
    audit = client.post("/api/audit", json={"documents": [empty]})
    assert audit.status_code == 422 and audit.json()["documents"] == []
    # some readable: the report, as before; reviews alone are not "no copy"
    assert client.post("/api/gap", json={"copy": [], "reviews": REVIEWS[:2] + [empty]}).status_code == 200
    assert client.post("/api/audit", json={"documents": [empty, {"id": "p", "text": COPY}]}).status_code == 200


def test_records_without_an_id_get_their_place_in_the_request_as_a_json_file_s_do(client):
    """The API made "records:0" where `annotate arr.json` makes "arr.json[0]" and its own rejects say "records[0]"."""
    body = client.post("/api/annotate", json={"records": [{"text": "We refund in 3 days."}, {"text": ""},
                                                          {"text": "Third one."}]}).json()
    assert [r["id"] for r in body["records"]] == ["records[0]", "records[2]"]
    assert body["rejects"][0]["position"] == "records[1]"


def test_a_record_without_text_is_one_reject_not_a_refused_request(client):
    body = client.post("/api/annotate", json={"records": [{"id": "a"}, {"id": "b", "text": "We refund in 3 days."},
                                                          {"id": "c", "text": None}]})
    assert body.status_code == 200
    [a, c] = body.json()["rejects"]
    assert a["position"] == "records[0]" and "no 'text' field" in a["reason"] and "null" in c["reason"]
    assert [r["id"] for r in body.json()["records"]] == ["b"]


def test_a_record_that_is_not_an_object_is_one_reject_not_a_refused_request(client):
    body = client.post("/api/audit", json={"documents": [None, {"text": COPY}, "We care."]})
    assert body.status_code == 200 and len(body.json()["documents"]) == 1
    assert [(r["position"], r["code"]) for r in body.json()["rejects"]] == [("documents[0]", "E116"),
                                                                           ("documents[2]", "E116")]
    assert body.json()["rejects"][0]["reason"].startswith("null, not an object")


def test_form_page_is_self_contained(client):
    r = client.get("/")
    assert (r.headers["x-frame-options"], r.headers["x-content-type-options"]) == ("DENY", "nosniff")
    page = r.text
    assert '<textarea id="copy" name="copy"' in page and 'type="file"' in page
    assert "<script" not in page and "http://" not in page and "https://" not in page


# --- in a real browser --------------------------------------------------------------------------

@pytest.fixture(scope="module")
def server(app):
    uvicorn = pytest.importorskip("uvicorn")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    srv = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    for _ in range(200):
        if srv.started:
            break
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    srv.should_exit = True
    thread.join(10)


@pytest.fixture(scope="module")
def browser():
    if not shutil.which(CHROMIUM):
        pytest.fail(f"no Chromium at {CHROMIUM}: `make test` installs Debian's chromium; or set LIPSERVICE_CHROMIUM")
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=[
            "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
            "--disable-component-update", "--disable-sync"])
        yield b
        b.close()


def _watch(page) -> list[str]:
    """Everything that would show a script ran: dialogs, console output, page errors."""
    events: list[str] = []
    page.on("dialog", lambda d: (events.append(f"dialog {d.message}"), d.dismiss()))
    page.on("console", lambda m: events.append(f"console {m.type}: {m.text}"))
    page.on("pageerror", lambda e: events.append(f"error {e}"))
    return events


def test_browser_paste_upload_and_read_the_gap(browser, server, tmp_path):
    upload = tmp_path / "reviews.jsonl"
    upload.write_bytes(jsonl(REVIEWS))
    page = browser.new_page()
    page.goto(server + "/")
    page.fill("#copy", COPY)
    page.set_input_files("#reviews", str(upload))
    page.click("button[type=submit]")
    page.wait_for_selector("#verdicts")
    assert page.locator("#copy mark.promise").count() >= 2  # promises highlighted in the copy
    assert page.locator("#copy mark.claim").count() >= 1
    row = page.locator("#verdicts tr[data-verdict]", has_text="Next-day delivery")
    assert row.get_attribute("data-verdict") == "broken"
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "serve-gap-report.png"), full_page=True)
    page.close()


def test_browser_api_docs_render_offline(browser, server):
    """/docs is Swagger UI from local assets: it renders with no network and lists the API."""
    page = browser.new_page()
    failed: list[str] = []
    page.on("requestfailed", lambda r: failed.append(r.url))
    page.goto(server + "/docs")
    page.get_by_text("/api/gap", exact=True).first.wait_for(timeout=20000)
    assert page.get_by_text("/api/annotate", exact=True).count() >= 1 and page.get_by_text("/api/audit", exact=True).count() >= 1
    assert not [u for u in failed if not u.startswith(server)], failed
    page.close()


def test_browser_hostile_input_in_every_field_runs_nothing(browser, server, tmp_path):
    evil = " ".join(HOSTILE)
    rows = [{"id": f"{h}{i}", "text": f"My parcel arrived four days late instead of the next day. {h}",
             "rating": h, "date": h, h: h} for i, h in enumerate(HOSTILE * 2)]
    upload = tmp_path / "<img src=x onerror=window.__pwned=1>.jsonl"  # the file name is shown too
    upload.write_bytes(jsonl(rows) + b'{"id": "<b onclick=window.__pwned=1>", "text": \n')  # and a reject
    page = browser.new_page()
    events = _watch(page)
    page.goto(server + "/")
    page.fill("#copy", f"# {evil}\n\nNext-day delivery on every order. {evil}\n\nCustomers come first. {evil}\n")
    page.set_input_files("#reviews", str(upload))
    page.click("button[type=submit]")
    page.wait_for_selector("#verdicts")
    page.hover("#copy")
    assert page.evaluate("window.__pwned") is None and page.evaluate("document.scripts.length") == 0
    assert page.locator("[onerror], [onload], [onmouseover]").count() == 0
    assert page.locator("a[href^='javascript']").count() == 0
    assert "<script>window.__pwned=1</script>" in page.inner_text("#copy")  # shown as text, not run
    assert "<img src=x onerror=window.__pwned=1>.jsonl" in page.inner_text("#input")  # the reject's source
    assert not [e for e in events if "pwned" in e or e.startswith("dialog")]
    page.close()


def test_report_without_csp_still_runs_nothing(browser, app, tmp_path):
    """Escaping alone must hold: the same hostile report, its CSP removed, loaded as a file."""
    from nlp.html_report import render_report

    service = app.state.service
    evil = " ".join(HOSTILE)
    result = service.gap([service.copy_record(f"Next-day delivery on every order. {evil} Customers come first.")],
                         service.records_from_json([{"id": h, "text": f"The parcel came a week late. {h}",
                                                     "rating": h, "date": h} for h in HOSTILE], "review", HOSTILE[0]))
    html = render_report(title=evil, gap=result)
    html = html.replace("Content-Security-Policy", "X-Removed")
    path = tmp_path / "report.html"
    path.write_text(html, encoding="utf-8")
    page = browser.new_page()
    events = _watch(page)
    page.goto(path.as_uri())
    page.hover("body")
    assert page.evaluate("window.__pwned") is None and page.evaluate("document.scripts.length") == 0
    assert not [e for e in events if "pwned" in e or e.startswith("dialog")]
    page.close()


def test_cli_serve_starts_and_answers(tmp_path):
    """`lipservice serve` end to end: the process loads the models once and serves the page."""
    import subprocess
    import sys
    import urllib.request

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen([sys.executable, "-m", "nlp.cli", "serve", "--port", str(port)],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        for _ in range(600):
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=1) as r:
                    assert r.status == 200 and b'name="copy"' in r.read()
                    break
            except OSError:
                assert proc.poll() is None, proc.stdout.read()
                time.sleep(0.2)
        else:
            pytest.fail("lipservice serve did not answer within 120 s")
    finally:
        proc.terminate()
        proc.wait(30)


def test_serve_on_a_port_in_use_or_a_foreign_host_stops_before_the_models_load():
    from typer.testing import CliRunner

    from nlp.cli import app

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = CliRunner().invoke(app, ["serve", "--port", str(port)])
        assert result.exit_code == 2, result.output
        assert f"[E133] --host 127.0.0.1 --port {port}: cannot listen there" in result.stderr
        assert "choose another --port" in result.stderr
    result = CliRunner().invoke(app, ["serve", "--host", "192.0.2.1", "--port", str(port)])  # TEST-NET: not ours
    assert result.exit_code == 2 and "use an address of this machine" in result.stderr


@pytest.mark.parametrize("kwargs", [
    {"files": {"copy": (None, b"We refund you.\nCaf\xe9 owners love us.")}},  # multipart, Latin-1 bytes
    {"content": b"copy=We+refund+you.%0ACaf%E9+owners+love+us.",
     "headers": {"content-type": "application/x-www-form-urlencoded"}},
])
def test_the_report_page_refuses_copy_that_is_not_utf8_and_says_where(client, kwargs):
    """Starlette read such a field as Latin-1 (multipart) or with U+FFFD (urlencoded), in silence; the CLI
    refuses a file that is not UTF-8, so the page does too, naming the line and the byte."""
    page = client.post("/report", **kwargs)
    assert page.status_code == 400
    assert "[E113]" in page.text
    assert "not UTF-8 at line 2, column 4 (byte 0xe9)" in page.text


URLENCODED = {"content-type": "application/x-www-form-urlencoded"}


def test_the_report_page_reads_utf8_copy_with_accents_in_both_form_encodings(client):
    for kwargs in ({"files": {"copy": (None, "Café owners: we refund you in 48 hours.".encode())}},
                   {"data": {"copy": "Café owners: we refund you in 48 hours."}},
                   # curl -d sends UTF-8 unescaped: Starlette read it as Latin-1 ("CafÃ©"), in silence
                   {"content": "copy=Café owners: we refund you in 48 hours.".encode(), "headers": URLENCODED}):
        page = client.post("/report", **kwargs)
        assert page.status_code == 200 and "Café owners" in page.text and "CafÃ©" not in page.text


def test_the_report_page_refuses_a_form_with_two_copy_fields_whatever_its_encoding(client):
    """It audited the last of them (and checked only that one's encoding): the first was dropped in silence."""
    page = client.post("/report", content=b"copy=We+refund+you.&copy=Caf%E9+owners.", headers=URLENCODED)
    assert page.status_code == 422 and "[E120] the form field &#x27;copy&#x27; is sent 2 times" in page.text


MULTIPART = {"content-type": "multipart/form-data; boundary=b"}
NO_FILE_CHOSEN = (b'--b\r\nContent-Disposition: form-data; name="file"; filename=""\r\n'
                  b"Content-Type: application/octet-stream\r\n\r\n\r\n--b--\r\n")  # a browser's, no file chosen


@pytest.mark.parametrize("kwargs, says", [
    ({"files": {"text_field": (None, b"text")}}, "no file: upload it as the form field 'file' (curl -F file=@"),
    ({"files": {"upload": ("ok.csv", b"id,text\n1,Late.\n")}},
     ("the form field 'upload' is not one /api/reviews reads (the file as 'file', text as 'text_field' and "
      "'id_field'); upload the file as the form field 'file'")),
    ({"files": {"file": (None, b"hello world")}},
     "the form field 'file' is text, not a file; upload the file (curl -F file=@reviews.csv: the @ sends the file)"),
    ({"content": b"--b--\r\n", "headers": MULTIPART}, "no file: upload it as the form field 'file'"),
    ({"content": b"", "headers": MULTIPART}, "no file: upload it as the form field 'file'"),
    ({"content": NO_FILE_CHOSEN, "headers": MULTIPART}, "no file: upload it as the form field 'file'"),
])
def test_an_upload_form_without_its_file_says_what_is_missing_not_500(client, kwargs, says):
    """Each was a plain-text 500: the validation handler read the body the form's parser had consumed."""
    r = client.post("/api/reviews", **kwargs)
    assert r.status_code == 422 and set(r.json()) == {"error"} and says in r.json()["error"]["message"]
    assert r.json()["error"]["code"] in ("E120", "E130")


OK_CSV = b"id,text\n1,My parcel came late.\n"


@pytest.mark.parametrize("route, files, says", [
    ("/api/reviews", [("file", ("a.csv", OK_CSV)), ("file", ("b.csv", OK_CSV))],
     "the form field 'file' is sent 2 times; /api/reviews reads one file a request"),
    ("/report", [("copy", (None, b"We care.")), ("copy", (None, b"We refund you."))],
     "the form field 'copy' is sent 2 times; /report reads one copy: send it once"),
    ("/report", [("reviews", ("a.csv", OK_CSV)), ("reviews", ("b.csv", OK_CSV))],  # was a 400 "Too many files"
     "the form field 'reviews' is sent 2 times; /report reads one file a request"),
    ("/report", [("copy", (None, b"We care.")), ("reviews", (None, b"just text"))],
     "the form field 'reviews' is text, not a file; upload the file (curl -F reviews=@reviews.csv"),
    ("/report", [("copy", ("file.csv", OK_CSV))],
     ("the form field 'copy' is a file (file.csv), not text; send it as text (curl -F \"copy=<page.txt\"), and a "
      "file as the form field 'reviews'")),
    ("/api/reviews", [("file", ("a.csv", OK_CSV)), ("rating_field", (None, b"stars"))],
     ("the form field 'rating_field' is not one /api/reviews reads (the file as 'file', text as 'text_field' and "
      "'id_field'); leave it out")),
    ("/report", [("copy", (None, b"We care.")), ("title", (None, b"Home"))],
     "the form field 'title' is not one /report reads (the file as 'reviews', text as 'copy'); leave it out"),
])
def test_a_repeated_misplaced_or_unknown_form_field_is_named_not_dropped(client, route, files, says):
    """The last of two files or copies was read, text as the reviews gave an audit of the copy alone, a file as
    the copy "nothing to analyse", and an unknown field was ignored: each in silence (two reviews files: 400)."""
    r = client.post(route, files=files)
    message = r.json()["error"]["message"] if route.startswith("/api/") else html.unescape(r.text)
    assert r.status_code == 422 and says in message, message[-400:]
    assert r.json()["error"]["code"] == "E120" if route.startswith("/api/") else f"[E120] {says}" in message


def test_the_report_page_reads_a_browser_form_with_no_file_chosen_as_copy_alone(client):
    body = NO_FILE_CHOSEN.replace(b'name="file"', b'name="reviews"').replace(
        b"--b\r\n", b'--b\r\nContent-Disposition: form-data; name="copy"\r\n\r\nWe care.\r\n--b\r\n', 1)
    page = client.post("/report", content=body, headers=MULTIPART)
    assert page.status_code == 200 and "lipservice audit" in page.text


JSON = {"content-type": "application/json"}


@pytest.mark.parametrize("body, status, code, says", [
    (b'{"records": [\n  {"text": "caf\xe9"}]}', 422, "E113",
     "the body is not UTF-8 at byte 29 (0xe9, line 2, column 16); send the JSON as UTF-8"),
    (b'\xef\xbb\xbf{"records": [{"text": "caf\xe9"}]}', 422, "E113",  # after a BOM: its column, the body's byte
     "the body is not UTF-8 at byte 29 (0xe9, line 1, column 27); send the JSON as UTF-8"),
    ('{"records": [{"text": "hi"}]}'.encode("utf-16") + b"\n", 422, "E113",  # a line end: one byte too many
     ("the body is UTF-16-LE by its first bytes, and not UTF-16-LE at byte 60 (0x0a: truncated data); send the JSON "
      "as UTF-8")),
    (b'{"records": [{"text": "hi", "meta": ' + b"[" * 5000 + b"]" * 5000 + b"}]}", 422, "E132",
     "the body is nested too deeply to parse (JSON is read nested at most a few hundred levels)"),
])
def test_a_json_body_not_utf8_or_nested_too_deep_says_so_and_not_of_forms(client, body, status, code, says):
    """Each got one generic 400 "There was an error parsing the body; send JSON that parses ... or a
    well-formed multipart form", though malformed JSON gets 422 with its line and column."""
    r = client.post("/api/annotate", content=body, headers=JSON)
    assert (r.status_code, r.json()["error"]["code"]) == (status, code)
    assert r.json()["error"]["message"].startswith(says)
    assert "form" not in r.json()["error"]["message"]
    assert client.post("/api/annotate", content='{"records": [{"text": "hi"}]}'.encode("utf-16"),
                       headers=JSON).status_code == 200  # whole UTF-16 is read, as json.loads reads it


def test_a_form_the_parser_refuses_gets_the_form_s_fix_not_json_s(client):
    """/report with two files said "Too many files. Maximum number of files is 1.; send JSON that parses…"."""
    many = client.post("/report", files=[("reviews", (f"r{i}.csv", OK_CSV)) for i in range(20)])
    says = html.unescape(many.text)
    assert many.status_code == 400 and ("[E132] Too many files. Maximum number of files is 16; /report reads a "
                                        "multipart form (the file as 'reviews', text as 'copy'); see /docs") in says
    broken = client.post("/api/reviews", content=b"x", headers={"content-type": "multipart/form-data"})
    assert broken.json()["error"]["message"] == ("Missing boundary in multipart; /api/reviews reads a multipart form "
                                                 "(the file as 'file', text as 'text_field' and 'id_field'); see /docs")


@pytest.mark.parametrize("charset", ["iso-8859-1", "us-ascii", "utf-16", "bogus-xyz"])
def test_a_form_declaring_a_charset_other_than_utf8_is_refused_not_misread(client, charset):
    """Starlette decoded the fields in the declared charset: valid UTF-8 copy became "CafÃ©"."""
    body = b'--b\r\nContent-Disposition: form-data; name="copy"\r\n\r\nCaf\xc3\xa9 owners.\r\n--b--\r\n'
    page = client.post("/report", content=body,
                       headers={"content-type": f"multipart/form-data; boundary=b; charset={charset}"})
    says = html.escape(f"[E113] the form declares charset '{charset}'; send it as UTF-8")
    assert page.status_code == 400 and says in page.text
