"""Parsing numbers people type or paste: counts and money (to integer fen).

Accepted when unambiguous: full-width digits, thousands separators in the right places
("12,345.60"), surrounding spaces, a trailing 元/¥ mark. Rejected: NaN, inf, negatives, text,
misplaced separators ("1,23"), more than two decimals for money, fractions for counts.
"""

from __future__ import annotations

import math
import re
import unicodedata
from decimal import Decimal, InvalidOperation

from portal.errors import ValidationFailed

_GROUPED = re.compile(r"^\d{1,3}(,\d{3})+(\.\d+)?$")
_PLAIN = re.compile(r"^\d+(\.\d+)?$")


def _normalise(value: object) -> str:
    text = unicodedata.normalize("NFKC", str(value)).strip()
    text = text.replace("，", ",").replace("¥", "").replace("￥", "").removesuffix("元").strip()
    return text


def parse_decimal(value: object, *, field: str) -> Decimal:
    """A non-negative decimal, or ValidationFailed naming `field`."""
    if value is None or (isinstance(value, str) and not value.strip()):
        raise ValidationFailed("num.err_empty", field=field)
    if isinstance(value, bool):
        raise ValidationFailed("num.err_not_number", field=field, value=value)
    if isinstance(value, int):
        number = Decimal(value)
    elif isinstance(value, float):
        if math.isnan(value) or math.isinf(value):
            raise ValidationFailed("num.err_not_finite", field=field)
        number = Decimal(repr(value))
    elif isinstance(value, Decimal):
        number = value
    else:
        text = _normalise(value)
        if text.startswith("-"):
            raise ValidationFailed("num.err_negative", field=field)
        if not (_GROUPED.match(text) or _PLAIN.match(text)):
            raise ValidationFailed("num.err_not_number", field=field, value=str(value)[:30])
        try:
            number = Decimal(text.replace(",", ""))
        except InvalidOperation as exc:
            raise ValidationFailed("num.err_not_number", field=field, value=str(value)[:30]) from exc
    if not number.is_finite():
        raise ValidationFailed("num.err_not_finite", field=field)
    if number < 0:
        raise ValidationFailed("num.err_negative", field=field)
    return number


def parse_count(value: object, *, field: str, maximum: int | None = None) -> int:
    number = parse_decimal(value, field=field)
    if number != number.to_integral_value():
        raise ValidationFailed("num.err_not_integer", field=field)
    result = int(number)
    if maximum is not None and result > maximum:
        raise ValidationFailed("num.err_too_large", field=field, maximum=maximum)
    return result


def parse_money_fen(value: object, *, field: str, maximum_yuan: int | None = None) -> int:
    """Yuan as typed → integer fen (no float drift: "0.10" + "0.20" is exactly 30 fen)."""
    number = parse_decimal(value, field=field)
    if -number.as_tuple().exponent > 2 and number != number.quantize(Decimal("0.01")):
        raise ValidationFailed("num.err_money_decimals", field=field)
    if maximum_yuan is not None and number > maximum_yuan:
        raise ValidationFailed("num.err_too_large", field=field, maximum=maximum_yuan)
    return int((number * 100).to_integral_value())


def fen_to_yuan_text(fen: int) -> str:
    sign = "-" if fen < 0 else ""
    fen = abs(fen)
    return f"{sign}¥{fen // 100:,}.{fen % 100:02d}"
