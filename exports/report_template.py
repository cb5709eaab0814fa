"""The daily-report Excel template: pure data → bytes.

Input is portal.report_import.template_data(...): a staff sheet (rows = date × staff member,
columns = key columns and one per staff metric), a branch sheet (rows = date: branch metrics,
the wecom_adds channel split, texts), a notes sheet, and a hidden "meta" sheet with the pilot
id. Every data header ends with its code in square brackets; the import reads columns by
those codes.
"""

from __future__ import annotations

from exports import xlsx

META_SHEET = "meta"  # must match portal.report_import.META_SHEET


def build(data: dict) -> bytes:
    wb = xlsx.new_workbook()
    xlsx.add_table_sheet(wb, data["staff_sheet"], [xlsx.Column(h, kind) for h, kind in data["staff_columns"]],
                         data["staff_rows"])
    xlsx.add_table_sheet(wb, data["branch_sheet"], [xlsx.Column(h, kind) for h, kind in data["branch_columns"]],
                         data["branch_rows"])
    notes = wb.create_sheet(title=data["notes_sheet"][:31])
    notes.column_dimensions["A"].width = 100
    notes.append([xlsx.cell(notes, data["pilot_name"])])
    notes.append([xlsx.cell(notes, f"{data['start'].isoformat()} – {data['end'].isoformat()}")])
    for line in data["notes"]:
        notes.append([xlsx.cell(notes, line)])
    meta = wb.create_sheet(title=META_SHEET)
    meta.sheet_state = "hidden"
    meta.append([xlsx.cell(meta, "pilot_id"), xlsx.cell(meta, data["pilot_id"], "int")])
    return xlsx.to_bytes(wb)
