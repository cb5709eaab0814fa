import io
import zipfile
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st
from openpyxl import load_workbook

from exports import xlsx
from portal import numbers, xlsx_upload
from portal.errors import ValidationFailed


@pytest.mark.parametrize(("text", "fen"), [
    ("12,345.60", 1234560), ("12345.6", 1234560), ("１２３４５.６", 1234560), (" 0.1 ", 10), ("100元", 10000),
    ("¥1,000", 100000), (7, 700), ("0", 0),
])
def test_money_accepted(text, fen):
    assert numbers.parse_money_fen(text, field="金额") == fen


@pytest.mark.parametrize("text", ["1,23", "12,34,567", "-5", "abc", "", "   ", "nan", "inf", "1.234", "1e5",
                                  float("nan"), float("inf"), None, "1.2.3", "12 345", True])
def test_money_rejected(text):
    with pytest.raises(ValidationFailed):
        numbers.parse_money_fen(text, field="金额")


def test_counts():
    assert numbers.parse_count("１,０００", field="n") == 1000
    for bad in ("1.5", "-1", "x", "", float("nan")):
        with pytest.raises(ValidationFailed):
            numbers.parse_count(bad, field="n")
    with pytest.raises(ValidationFailed):
        numbers.parse_count("501", field="n", maximum=500)


@given(st.lists(st.decimals(min_value=0, max_value=10**7, places=2, allow_nan=False), max_size=20))
def test_money_sums_exactly(amounts):
    fen = sum(numbers.parse_money_fen(str(a), field="x") for a in amounts)
    assert fen == int(sum(amounts, Decimal(0)) * 100)


def test_formula_text_is_written_as_text():
    wb = xlsx.new_workbook()
    evil = ["=HYPERLINK(\"http://x\",\"y\")", "+1+1", "-2", "@SUM(A1)", "\tTAB", "中文备注"]
    xlsx.add_table_sheet(wb, "表", [xlsx.Column("备注"), xlsx.Column("金额", "yuan")],
                         [(text, 1.5) for text in evil])
    ws = load_workbook(io.BytesIO(xlsx.to_bytes(wb)))["表"]
    assert [ws.cell(row=i + 2, column=1).value for i in range(len(evil))] == evil
    assert all(ws.cell(row=i + 2, column=1).data_type == "s" for i in range(len(evil)))
    assert ws.freeze_panes == "A2" and ws.auto_filter.ref == "A1:B7"
    assert ws.cell(row=2, column=2).number_format == xlsx.FORMATS["yuan"]


def _zip(entries: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in entries.items():
            z.writestr(name, data)
    return buf.getvalue()


def test_upload_checks():
    good = xlsx.new_workbook()
    xlsx.add_table_sheet(good, "s", [xlsx.Column("a")], [("x",)])
    good_bytes = xlsx.to_bytes(good)  # a write-only workbook saves once
    assert xlsx_upload.open_workbook(good_bytes, filename="ok.xlsx")
    bomb = _zip({"[Content_Types].xml": b"<x/>", "xl/workbook.xml": b"<x/>", "xl/big.xml": b"0" * 50_000_000})
    cases = {b"": "upload.err_empty", b"not a zip": "upload.err_not_xlsx",
             _zip({"a.txt": b"hello"}): "upload.err_not_xlsx", bomb: "upload.err_bomb"}
    for data, key in cases.items():
        with pytest.raises(ValidationFailed) as err:
            xlsx_upload.open_workbook(data, filename="x.xlsx")
        assert err.value.key == key
    with pytest.raises(ValidationFailed) as err:
        xlsx_upload.open_workbook(b"x" * (11 * 1024 * 1024), filename="x.xlsx")
    assert err.value.key == "upload.err_too_big"
    with pytest.raises(ValidationFailed) as err:
        xlsx_upload.open_workbook(good_bytes, filename="renamed.csv")
    assert err.value.key == "upload.err_not_xlsx"
