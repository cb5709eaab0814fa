"""Safety checks for uploaded workbooks, before anything parses them: size, zip structure,
declared uncompressed size and compression ratio (zip bombs); XML is parsed with
defusedxml (entity bombs) because openpyxl uses it when installed."""

from __future__ import annotations

import io
import zipfile

from defusedxml import DefusedXmlException  # openpyxl parses with defusedxml when it is installed
from openpyxl import load_workbook
from openpyxl.workbook.workbook import Workbook

from portal.errors import ValidationFailed
from portal.settings import get_settings

MAX_UNCOMPRESSED = 100 * 1024 * 1024
MAX_RATIO = 100
REQUIRED_PARTS = ("[Content_Types].xml", "xl/workbook.xml")


def open_workbook(data: bytes, *, filename: str = "") -> Workbook:
    """A read-only openpyxl workbook of an upload that passed every check."""
    limit = get_settings().upload_max_bytes
    if not data:
        raise ValidationFailed("upload.err_empty")
    if len(data) > limit:
        raise ValidationFailed("upload.err_too_big", mb=limit // (1024 * 1024))
    if filename and not filename.lower().endswith(".xlsx"):
        raise ValidationFailed("upload.err_not_xlsx")
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            infos = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise ValidationFailed("upload.err_not_xlsx") from exc
    names = {i.filename for i in infos}
    if not all(part in names for part in REQUIRED_PARTS):
        raise ValidationFailed("upload.err_not_xlsx")
    total = sum(i.file_size for i in infos)
    packed = max(1, sum(i.compress_size for i in infos))
    if total > MAX_UNCOMPRESSED or total / packed > MAX_RATIO:
        raise ValidationFailed("upload.err_bomb")
    try:
        return load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many types for damaged files
        raise refusal(exc) from exc


def refusal(exc: BaseException) -> ValidationFailed:
    """The clear refusal for an error raised while openpyxl parses a workbook (at load, or
    later while iterating a read-only sheet): XML entity declarations (defusedxml refuses
    entity bombs and external entities) or plain damage."""
    seen = exc
    while seen is not None:
        if isinstance(seen, DefusedXmlException):
            return ValidationFailed("upload.err_xml_entities")
        seen = seen.__cause__ or seen.__context__
    return ValidationFailed("upload.err_damaged")
