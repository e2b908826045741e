"""CSV for spreadsheet users: UTF-8 with a BOM, so Excel opens Chinese platform names correctly."""

import csv
import io

from rest_framework.renderers import BaseRenderer


class CSVRenderer(BaseRenderer):
    """Renders `data["csv_header"]` with `data["csv_lines"]` (lists of values), `data["csv_rows"]` (a list of flat dicts, the first one's keys as header) or an error body
    flattened to code/detail/attr rows. Selected by `Accept: text/csv` or `?format=csv`."""

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
        if isinstance(data, dict) and "csv_rows" in data:
            rows = data["csv_rows"]
        elif isinstance(data, dict) and "errors" in data:
            rows = [{"type": data.get("type"), **e} for e in data["errors"]]
        else:
            rows = data if isinstance(data, list) else [data]
        out = io.StringIO()
        if rows:
            writer = csv.DictWriter(out, fieldnames=list(rows[0].keys()), extrasaction="ignore")
            writer.writeheader()
            writer.writerows(rows)
        return ("\ufeff" + out.getvalue()).encode("utf-8")
