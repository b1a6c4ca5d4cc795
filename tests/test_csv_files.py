"""nlp/csv_files.py: CSV and TSV into records: separators, quoted cells over lines, the header
checked before any work, and every bad row a reject with its file line."""
from __future__ import annotations

import gzip
import io
import tempfile
from pathlib import Path

import pytest
from conftest import assert_reject, read, records, rejects, write
from hypothesis import given, settings
from hypothesis import strategies as st

from nlp.errors import (
    E_BAD_FIELD,
    E_BINARY,
    E_EMPTY_TEXT,
    E_ENCODING,
    E_MISSING_COLUMN,
    E_TOO_LARGE,
    InputError,
    UsageError,
)
from nlp.io import check_inputs
from nlp.records import ReadOptions, Record, Reject


def test_csv_embedded_newlines_and_quotes(tmp_path):
    data = ('id,text,stars\n'
            'r1,"She said ""great service""\nand then\nleft.",5\n'
            'r2,"Commas, inside, quotes",4\n'
            ',"No id, so file:line",3\n')
    p = write(tmp_path, "reviews.csv", data)
    r1, r2, r3 = read(p)
    assert r1.text == 'She said "great service"\nand then\nleft.'
    assert (r1.id, r1.position, r1.meta) == ("r1", "line 2", {"stars": "5"})
    assert r2.text == "Commas, inside, quotes"
    assert r2.position == "line 5"  # positions are physical lines, after the 3-line row
    assert r3.id == f"{p}:6" and r3.position == "line 6"
    assert [r.id for r in read(p)] == ["r1", "r2", f"{p}:6"]  # stable


def test_csv_custom_text_and_id_columns_and_bom(tmp_path):
    p = write(tmp_path, "custom.csv", "\ufeffreview_id,body,kind\nx9,I waited ages.,review\n"
                                      "x10,We respond fast.,\n")
    opts = ReadOptions(id_field="review_id", text_field="body", default_kind="company")
    a, b = read(p, opts)
    assert (a.id, a.text, a.kind) == ("x9", "I waited ages.", "review")
    assert (b.id, b.text, b.kind) == ("x10", "We respond fast.", "company")


@pytest.mark.parametrize("sep", [";", "\t", "|"])
def test_csv_separated_otherwise_is_read_by_its_header(tmp_path, sep):
    """Excel in much of Europe writes ";"; the header that names the text column decides."""
    rows = ["id", "text", "stars"], ["1", "We care, always.", "5"], ["2", f'"Late{sep} again."', "1"], ["3", "short"]
    p = write(tmp_path, "sep.csv", "".join(sep.join(r) + "\n" for r in rows))
    check_inputs([p], ReadOptions())
    a, b, c = read(p)
    assert (a.id, a.text, a.meta) == ("1", "We care, always.", {"stars": "5"})
    assert b.text == f"Late{sep} again."
    assert isinstance(c, Reject) and c.position == "line 4" and "2 fields, header has 3" in c.reason


def test_csv_crlf_line_endings(tmp_path):
    p = write(tmp_path, "crlf.csv", b"id,text\r\n1,First.\r\n2,\"Two\r\nlines.\"\r\n3,Third.\r\n")
    items = read(p)
    assert [r.id for r in items] == ["1", "2", "3"]
    assert items[0].text == "First." and items[2].text == "Third."
    assert "Two" in items[1].text and "lines." in items[1].text


def test_a_stray_carriage_return_inside_a_row_does_not_cut_it(tmp_path):
    """A scraped tweet with "\\r\\r" in an unquoted cell (as in twcs): the row is read whole, each return
    as a space. It used to be two rejects. Positions are the file's lines as grep -n and editors count
    them, which end at "\\n": a bare return inside a line does not move them."""
    data = (b"id,text,when\n1,First.,mon\n2,@Acme \r\rI just love the start of email,tue\n3,Third.,wed\n"
            b"4,\"Quoted\rcell\",thu\n5,Ends at the file's end \r")
    items = read(write(tmp_path, "cr.csv", data))
    assert [(r.id, r.position) for r in items[:4]] == [("1", "line 2"), ("2", "line 3"), ("3", "line 4"),
                                                       ("4", "line 5")]
    assert items[1].text == "@Acme   I just love the start of email" and items[1].meta == {"when": "tue"}
    assert items[3].text == "Quoted\rcell"  # a return inside quotes is the cell's own, kept as it is
    assert_reject(items[4], items[4].source, "line 6", E_BAD_FIELD, "row has 2 fields, header has 3")
    unnamed = read(write(tmp_path, "noid.csv", b"text,when\nFirst \r\r line,mon\n\"A\r\rB\",tue\nThird,wed\n"))
    assert [(r.id.rsplit(":", 1)[1], r.position) for r in unnamed] == [("2", "line 2"), ("3", "line 3"),
                                                                          ("4", "line 4")]


def test_positions_after_bare_returns_are_file_lines_in_rejects_too(tmp_path):
    data = b"id,text\n1,\"One\rtwo\"\n2,\n3,\"" + b"x" * 30 + b"\r" + b"y" * 30 + b"\"\n4,Fine.\n"
    items = read(write(tmp_path, "r.csv", data), ReadOptions(max_chars=10))
    assert [(type(i).__name__, i.position) for i in items] == [("Record", "line 2"), ("Reject", "line 3"),
                                                               ("Reject", "line 4"), ("Record", "line 5")]
    assert "over the limit" in items[2].reason and items[3].id == "4"


def test_a_stray_return_in_the_last_cell_is_a_space_not_a_row_end(tmp_path):
    """In the last column the row before the return had all its fields, so the text was cut ("stray") and
    the rest ("carriage return") became a reject on the wrong line."""
    p = write(tmp_path, "last.csv", b"id,text\n1,one\n2,two\n13,stray\rcarriage return\n14,next row\n")
    items = read(p)
    assert [(r.id, r.text, r.position) for r in items] == [
        ("1", "one", "line 2"), ("2", "two", "line 3"), ("13", "stray carriage return", "line 4"),
        ("14", "next row", "line 5")]


def test_rows_that_end_at_a_carriage_return_are_still_rows(tmp_path):
    """Classic Mac line ends, and a row with all its fields before a bare return, are not joined."""
    items = read(write(tmp_path, "mac.csv", b"id,text\r1,First.\r2,Second.\r"))
    assert [(r.id, r.text) for r in items] == [("1", "First."), ("2", "Second.")]
    assert [r.position for r in items] == ["line 2", "line 3"]  # here "\\r" is the file's line end
    mixed = read(write(tmp_path, "mixed.csv", b"id,text\n1,First.\r2,Second.\n3,Third.\n"))
    # a bare return that ends a row is a line end for positions too: each row keeps a line of its own
    assert [(r.id, r.text, r.position) for r in mixed] == [("1", "First.", "line 2"), ("2", "Second.", "line 3"),
                                                           ("3", "Third.", "line 4")]
    unnamed = read(write(tmp_path, "noid.csv", b"text\nFirst.\rSecond.\n"))
    assert len({r.id for r in unnamed}) == 2
    short, third = read(write(tmp_path, "ragged.csv", b"id,text,when\r1\r3,Third.,wed\r"))  # a short row alone
    assert short.code == E_BAD_FIELD and short.position == "line 2" and (third.id, third.text) == ("3", "Third.")


def test_csv_empty_text_and_short_row_are_rejects(tmp_path):
    p = write(tmp_path, "gaps.csv", "id,text\n1,Good one.\n2,\n3,   \n4\n5,Another good one.\n")
    items = read(p)
    assert [type(i) for i in items] == [Record, Reject, Reject, Reject, Record]
    assert_reject(items[1], p, "line 3", E_EMPTY_TEXT)
    assert_reject(items[2], p, "line 4", E_EMPTY_TEXT)
    assert_reject(items[3], p, "line 5", E_BAD_FIELD, "row has 1 field, header has 2")


def test_csv_row_with_invalid_utf8_other_rows_survive(tmp_path):
    p = write(tmp_path, "enc.csv", b"id,text\n1,Caf\xc3\xa9 is fine.\n2,Caf\xe9 is not.\n3,Last row.\n")
    a, bad, c = read(p)
    assert a.text == "Café is fine." and c.text == "Last row."
    assert_reject(bad, p, "line 3, field 2 ('text'), character 4", E_ENCODING, "utf-8")  # where to fix it


def test_csv_without_text_column_reader_still_rejects_not_raises(tmp_path):
    p = write(tmp_path, "nocol.csv", "id,body\n1,hello\n")
    [r] = read(p)
    assert_reject(r, p, "line 1", E_MISSING_COLUMN, "'text'")


def test_csv_oversized_quoted_multiline_field_is_one_reject(tmp_path):
    big = "a b c d\n" * 40_000  # 320 kB, over the 131072-char csv field limit for this max_chars
    p = write(tmp_path, "bigcell.csv", f'id,text\n1,ok\n2,"{big}"\n3,after\n')
    items = read(p, ReadOptions(max_chars=1000))
    assert [type(i) for i in items] == [Record, Reject, Record]
    assert items[2].text == "after"


def test_binary_csv_passes_check_inputs_and_becomes_a_reject(tmp_path):
    p = write(tmp_path, "b.csv", b"\x00\x01\x02")
    check_inputs([p], ReadOptions())  # not a usage error
    [r] = read(p)
    assert r.code == E_BINARY


@pytest.mark.parametrize("rows_before", [0, 3000])
def test_a_stray_nul_in_a_text_csv_rejects_its_row_wherever_it_stands(tmp_path, rows_before):
    """One NUL in the first 64 KiB made the whole file "binary"; past them, only its row was rejected."""
    rows = [f"r{i},Plain review number {i}." for i in range(rows_before)] + ["n1,Hello\x00 world.", "n2,We refund you."]
    p = write(tmp_path, "nul.csv", "id,text\n" + "\n".join(rows) + "\n")
    items = read(p)
    assert_reject(items[rows_before], p, f"line {rows_before + 2}", E_BINARY, "NUL")
    assert [r.id for r in records(items)][-1] == "n2" and len(items) == rows_before + 2


def test_binary_data_named_csv_is_still_one_reject(tmp_path):
    p = write(tmp_path, "sheet.csv", b"PK\x03\x04\x14\x00\x06\x00\x08\x00\x00\x00!\x00\xb5U\x9a" * 50)
    [r] = read(p)
    assert r.code == E_BINARY and r.position == "byte 5"


def test_csv_with_excels_sep_line_uses_that_separator_and_keeps_file_line_numbers(tmp_path):
    p = write(tmp_path, "x.csv", "sep=;\r\nid;text\r\n1;We care, always.\r\n2;\r\n3;You get refunds.\r\n")
    check_inputs([p], ReadOptions())
    items = read(p)
    assert [(r.id, r.text) for r in records(items)] == [("1", "We care, always."), ("3", "You get refunds.")]
    assert_reject(rejects(items)[0], p, "line 4", E_EMPTY_TEXT)
    bad = write(tmp_path, "y.csv", "sep=;\nid;body\n1;x\n")
    with pytest.raises(InputError, match="line 2: no 'text' column \\(columns: id, body\\)"):
        check_inputs([bad], ReadOptions())


def test_csv_repeated_text_or_id_column_is_a_usage_error(tmp_path):
    p = write(tmp_path, "twice.csv", "id,text,note,text\n1,first,x,second\n")
    with pytest.raises(InputError) as err:
        check_inputs([p], ReadOptions())
    assert err.value.code == E_MISSING_COLUMN and "'text' appears 2 times (columns 2, 4)" in str(err.value)


def test_a_gzipped_csv_gets_the_same_header_checks(tmp_path):
    """Only a plain .csv was checked: a gzipped one took the first 'text' column in silence."""
    twice = tmp_path / "twice.csv.gz"
    twice.write_bytes(gzip.compress(b"id,text,text\n1,first,second\n"))
    with pytest.raises(InputError, match="'text' appears 2 times"):
        check_inputs([str(twice)], ReadOptions())
    none = tmp_path / "none.csv.gz"
    none.write_bytes(gzip.compress(b"id,body\n1,hello\n"))
    with pytest.raises(InputError, match="no 'text' column \\(columns: id, body\\); name the text column"):
        check_inputs([str(none)], ReadOptions())


def test_a_header_the_checks_did_not_see_is_one_reject_saying_the_same(tmp_path):
    """``batch`` reads the files a folder holds without the up-front checks: the reader says it all."""
    p = write(tmp_path, "twice.csv", "id,text,text\n1,first,second\n")
    [r] = read(p)
    assert_reject(r, p, "line 1", E_MISSING_COLUMN, "'text' appears 2 times (columns 2, 3); rename all but one")
    p = write(tmp_path, "none.csv", "id,body\n1,hello\n")
    [r] = read(p)
    assert_reject(r, p, "line 1", E_MISSING_COLUMN, "no 'text' column (columns: id, body); name the text column")


def test_csv_repeated_other_columns_are_all_kept_in_meta(tmp_path):
    p = write(tmp_path, "tags.csv", "id,text,tag,tag,tag\n1,We care.,a,b,c\n")
    [r] = read(p)
    assert r.meta == {"tag": "a", "tag.1": "b", "tag.2": "c"}


def test_csv_line_over_the_line_limit_is_a_reject_and_reading_goes_on(tmp_path):
    p = write(tmp_path, "long.csv", "id,text\na,Before.\nb," + "y" * 2**21 + "\nc,After.\n")
    a, r, c = read(p, ReadOptions(max_chars=10))  # line limit 12 * 10 + 1 MiB
    assert (a.text, c.text, c.position) == ("Before.", "After.", "line 4")
    assert_reject(r, p, "line 3", E_TOO_LARGE, "over the limit")


@pytest.mark.parametrize("closing", ['still inside the cell"', 'still ""inside"" the cell"'])
def test_csv_line_over_the_limit_that_opens_a_quoted_cell_skips_the_cell(tmp_path, closing):
    """A first line of a quoted cell over the limit was skipped alone: the cell's next lines were read as rows,
    one of them a made-up record, and the counts told of four records in a file of three."""
    p = write(tmp_path, "bomb.csv", 'id,text\na,Before.\nb,"' + "y" * 2**21 + '\nfake,hi there\n' + closing
              + '\nc,After.\n')
    a, r, c = read(p, ReadOptions(max_chars=10))  # line limit 12 * 10 + 1 MiB
    assert (a.text, c.text, c.position) == ("Before.", "After.", "line 6")
    assert_reject(r, p, "line 3", E_TOO_LARGE, "over the limit")
    even = write(tmp_path, "even.csv", 'id,text\na,Before.\nb,"' + "y" * 2**21 + '"\nc,After.\n')  # closed on it
    assert [i.position for i in read(even, ReadOptions(max_chars=10))] == ["line 2", "line 3", "line 4"]
    inch = write(tmp_path, "inch.csv", "id,text\na,Before.\nb,27" + '" wide ' + "y" * 2**21 + "\nc,Kept.\nd,Kept.\n")
    assert [getattr(i, "id", i.position) for i in read(inch, ReadOptions(max_chars=10))] == ["a", "line 3", "c", "d"]


def test_a_cell_over_the_limit_that_never_closes_says_the_rest_of_the_file_was_skipped(tmp_path):
    """The skip to the closing quote ran to the end of the file and lost its rows without a word."""
    p = write(tmp_path, "open.csv", 'id,text\na,Before.\nb,"' + "y" * 2**21 + '\nc,After.\nd,More.\n')
    a, r = read(p, ReadOptions(max_chars=10))
    assert a.id == "a"
    assert_reject(r, p, "line 3", E_TOO_LARGE, "never closed, so lines 3-5 (the rest of the file) were skipped")
    closed = write(tmp_path, "closed.csv", 'id,text\na,Before.\nb,"' + "y" * 2**21 + '\nc,After."\nd,More.\n')
    assert "never closed" not in read(closed, ReadOptions(max_chars=10))[1].reason


def test_a_cell_over_the_limit_closed_by_a_stray_quote_names_the_lines_it_took(tmp_path):
    """The rows between were lost in silence: only "row is over the limit" was said."""
    p = write(tmp_path, "stray.csv", 'text,id\nok,1\n"' + "x" * 2**21 + '\na,2\nb,3\n27" monitor,4\nc,5\n')
    ok, r, c = read(p, ReadOptions(max_chars=10))
    assert (ok.id, c.id, c.position) == ("1", "5", "line 7")
    assert_reject(r, p, "line 3", E_TOO_LARGE, "its quoted cell, opened on line 3, runs to line 6, so lines 3-6 were "
                  "skipped with it")


def test_a_cell_over_the_limit_closed_by_a_line_with_two_quotes_keeps_the_rows_after_it(tmp_path):
    """A 27" TV, broken." closes the cell as the csv module reads it (27" ends the quoted part), though it holds
    an even number of quotes: the skip ran on to the end of the file and lost the rows after it."""
    p = write(tmp_path, "inch.csv", 'id,text\na,Before.\nb,"' + "y" * 2**21 + '\nA 27" TV, broken."\nc,After.\n')
    a, r, c = read(p, ReadOptions(max_chars=10))
    assert (a.id, c.id, c.position) == ("a", "c", "line 5")
    assert_reject(r, p, "line 3", E_TOO_LARGE, "opened on line 3, runs to line 4")
    assert "never closed" not in r.reason


def test_a_header_over_the_limit_is_said_to_be_so_not_to_lack_the_text_column(tmp_path):
    p = write(tmp_path, "wide.csv", "id,text," + "x" * 2**21 + "\n1,hi,z\n")
    [r] = read(p, ReadOptions(max_chars=10))
    assert_reject(r, p, "line 1", E_TOO_LARGE, "the header is over the limit of 1,048,696 characters")


def test_csv_quoted_cell_spanning_lines_past_the_limit_is_one_reject(tmp_path):
    """Many short lines inside one quoted cell: the row is cut at the limit, the rest of the
    cell skipped to its closing quote, and the next row is read where the file has it."""
    cell = ("x" * 999 + "\n") * 1200  # 1.2 MB over 1,200 lines, none of them long
    p = write(tmp_path, "cell.csv", 'id,text\na,Before.\nb,"' + cell + '"\nc,After.\n')
    a, r, c = read(p, ReadOptions(max_chars=10))
    assert (a.text, c.text, c.position) == ("Before.", "After.", f"line {3 + 1200 + 1}")
    assert_reject(r, p, "line 3", E_TOO_LARGE, "row is over the limit")
    assert "by line" in r.reason


def test_csv_without_text_column_is_a_usage_error(tmp_path):
    p = write(tmp_path, "nocol.csv", "id,body,stars\n1,hello,5\n")
    with pytest.raises(InputError) as exc:
        check_inputs([p], ReadOptions())
    e = exc.value
    assert isinstance(e, UsageError) and e.exit_code == 2
    assert e.code == E_MISSING_COLUMN
    msg = str(e)
    assert p in msg and "line 1" in msg and "'text'" in msg and "body" in msg
    assert "--text-field" in msg  # says how to fix it
    assert "\n" not in msg
    check_inputs([p], ReadOptions(text_field="body"))  # naming the column fixes it


def test_a_csv_without_a_header_is_told_to_add_one(tmp_path):
    """A first line of data (a long tweet, a numeric id) read as the header: the message says so, and
    shows each name cut to 40 characters instead of echoing the whole row."""
    tweet = "@FC_HELP can I return online purchases to a House of Fraser concession if I have the note?"
    p = write(tmp_path, "headless.csv", f"22631081115127808,{tweet},0,apparel\n")
    with pytest.raises(InputError, match="it looks like a row, not a header: add a header line") as exc:
        check_inputs([p], ReadOptions())
    assert tweet not in str(exc.value) and tweet[:40] + "…" in str(exc.value)


def test_csv_header_check_handles_bom_and_quoted_names(tmp_path):
    p = write(tmp_path, "q.csv", '\ufeff"id","text"\n1,hello\n')
    check_inputs([p], ReadOptions())


@settings(max_examples=40, deadline=None)
@given(rows=st.lists(st.tuples(st.text(max_size=40), st.text(max_size=200)), min_size=1, max_size=8),
       cut=st.integers(min_value=0, max_value=400))
def test_fuzz_csv_with_quotes_and_newlines_and_truncated_gzip(rows, cut):
    import csv

    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(["id", "text"])
    w.writerows(rows)
    raw = buf.getvalue().encode("utf-8", "surrogatepass")
    packed = gzip.compress(raw)
    with tempfile.TemporaryDirectory() as tmp:
        full = Path(tmp) / "f.csv.gz"
        full.write_bytes(packed)
        items = read(full)  # rows whose cells are all blank are blank lines, not records
        assert all(isinstance(i, (Record, Reject)) for i in items)
        assert len([i for i in items if isinstance(i, Record)]) <= len(rows)
        cut_file = Path(tmp) / "c.csv.gz"
        cut_file.write_bytes(packed[:cut])
        for item in read(cut_file):
            assert isinstance(item, (Record, Reject))


def test_a_quote_never_closed_is_a_reject_naming_the_lines_it_swallowed(tmp_path):
    """The csv reader reads every line after an unclosed quote into one cell: 100 reviews became one
    record's text, with no reject and no warning."""
    rows = ["id,text", "a0,Fine review here.", 'a1,"Great service and we refund you.'] + [
        f"a{i},Plain review number {i}." for i in range(2, 102)]
    p = write(tmp_path, "open.csv", "\n".join(rows) + "\n")
    good, bad = read(p)
    assert good.id == "a0"
    assert_reject(bad, p, "line 3", E_BAD_FIELD, "never closed, so lines 3-103 were read as one row")


def test_quotes_that_close_or_stand_inside_a_cell_are_no_unclosed_quote(tmp_path):
    p = write(tmp_path, "ok.csv", 'id,text\nb1,"two\nlines ""quoted"" ok"\nb2,The 5" screen\nb3,"last\none"\n')
    assert [(r.id, r.text) for r in records(read(p))] == [
        ("b1", 'two\nlines "quoted" ok'), ("b2", 'The 5" screen'), ("b3", "last\none")]


def test_an_id_column_named_with_id_field_that_is_not_there_is_a_usage_error(tmp_path):
    """A mistyped --id-field gave every record a made-up file:line id, and the real id sat in meta."""
    p = write(tmp_path, "ids.csv", "review_id,text\n7,We care.\n")
    with pytest.raises(InputError, match="no 'reviewid' column for the ids \\(columns: review_id, text\\)"):
        check_inputs([p], ReadOptions(id_field="reviewid"))
    check_inputs([p], ReadOptions(id_field="review_id"))
    check_inputs([p], ReadOptions())  # the default id field may be absent: records get file:line


def test_a_quote_closed_lines_later_by_a_stray_one_is_a_reject_not_merged_rows(tmp_path):
    """The inch mark of row 3 "closed" the quote row 1 opened: rows 2 and 3 became part of row 1's text."""
    p = write(tmp_path, "merged.csv", 'id,text,rating\n1,"Amazing service,5\n2,Fast delivery,4\n'
                                      '3,My 27" monitor arrived broken,1\n4,ok,3\n')
    bad, good = read(p)
    assert_reject(bad, p, "line 2", E_BAD_FIELD, "lines 2-4 were read as one row, through a quote that does not close")
    assert good.id == "4" and good.position == "line 5"


def test_a_row_of_the_wrong_width_read_over_several_lines_names_them(tmp_path):
    p = write(tmp_path, "wide.csv", 'id,text\n1,"open,\nmore",x,y\n2,fine\n')
    bad = read(p)[0]
    assert bad.position == "line 2" and "(lines 2-3 were read as one row)" in bad.reason


def test_a_column_named_twice_is_read_from_the_first_and_a_warning_says_so(tmp_path, caplog):
    """`text,label,label`: an evaluation read its gold label from the first, without a word."""
    p = write(tmp_path, "dup.csv", "text,label,label\nWe lead.,company,customer\n")
    [rec] = read(p)
    assert rec.meta == {"label": "company", "label.1": "customer"}
    assert "column 'label' named more than once; the first of each is read, the others are kept as 'label.1'" in \
        caplog.text
