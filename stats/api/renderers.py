"""Files for spreadsheet and word-processor users.

CSV: UTF-8 with a BOM, so Excel and LibreOffice open Chinese platform names correctly. XLSX and DOCX: the
view builds the file (stats/exports.py, stats/reports.py) and hands over its bytes; an error response on
these is rendered as JSON in the error format (see `StatsBase.finalize_response`)."""

import csv
import io

from rest_framework.renderers import BaseRenderer

XLSX_MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
DOCX_MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


class CSVRenderer(BaseRenderer):
    """Renders `data["csv_bytes"]` (a finished file), `data["csv_rows"]` (a list of flat dicts, the first one's
    keys as header) or an error body flattened to code/detail/attr rows. Selected by `Accept: text/csv` or
    `?format=csv`."""

    media_type = "text/csv"
    format = "csv"
    charset = "utf-8"

    def render(self, data, accepted_media_type=None, renderer_context=None):
        if data is None:
            return b""
        if isinstance(data, dict) and "csv_lines" in data:  # a header and lists of values, in order
            out = io.StringIO()
            writer = csv.writer(out)
            writer.writerow(data["csv_header"])
            writer.writerows(data["csv_lines"])
            return ("\ufeff" + out.getvalue()).encode("utf-8")
        if isinstance(data, dict) and "csv_bytes" in data:
            return data["csv_bytes"]
        if isinstance(data, dict) and "csv_rows" in data:
            rows = data["csv_rows"]
        elif isinstance(data, dict) and "errors" in data:
            rows = [{"type": data.get("type"), **e} for e in data["errors"]]
        else:
            rows = data if isinstance(data, list) else [data]
        out = io.StringIO()
        if rows:
            dict_writer = csv.DictWriter(out, fieldnames=list(rows[0].keys()), extrasaction="ignore")
            dict_writer.writeheader()
            dict_writer.writerows(rows)
        return ("\ufeff" + out.getvalue()).encode("utf-8")


class FileRenderer(BaseRenderer):
    """Passes through the bytes of a file the view built (`data["file_bytes"]`)."""

    charset = None
    render_style = "binary"

    def render(self, data, accepted_media_type=None, renderer_context=None):
        if isinstance(data, dict) and "file_bytes" in data:
            return data["file_bytes"]
        return b""


class XLSXRenderer(FileRenderer):
    media_type = XLSX_MEDIA_TYPE
    format = "xlsx"


class DOCXRenderer(FileRenderer):
    media_type = DOCX_MEDIA_TYPE
    format = "docx"
