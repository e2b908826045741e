"""Server-side SVG charts for the analysts' page and the admin (no JavaScript, no CDN, no fonts on the server:
the browser draws the text). Every chart carries a visible title, both axis titles and a legend inside the
SVG, and a list of notes for the figures it does not draw: a rate withheld below the minimum sample is never
a zero or a gap without a word — the bar or point is replaced by the text "样本不足 (n=7)" and the note says why.

All text is escaped; numbers are formatted here. `Chart.svg` is safe to put in a template."""

from __future__ import annotations

from dataclasses import dataclass, field

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

COLOURS = ["#2f6db5", "#c0392b", "#2e8b57", "#8e44ad", "#d68910", "#16a085", "#7f8c8d"]
WITHHELD_COLOUR = "#888"
WIDTH = 760


@dataclass
class Chart:
    title: str
    svg: SafeString
    notes: list[str] = field(default_factory=list)
    kind: str = "line"


def _svg(height: int, title: str, body: list[str]) -> SafeString:
    head = (f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {height}" width="{WIDTH}" '
            f'height="{height}" role="img" aria-label="{escape(title)}" class="km-chart" '
            f'style="font:12px sans-serif;max-width:100%;height:auto">')
    return mark_safe("".join([head, f"<title>{escape(title)}</title>",  # noqa: S308 - escaped text only
                              f'<text class="km-chart-title" x="{WIDTH / 2:.0f}" y="20" text-anchor="middle" '
                              f'style="font-weight:bold;font-size:15px">{escape(title)}</text>', *body, "</svg>"]))


def _legend(items: list[tuple[str, str, bool]], y: float, x0: float) -> list[str]:
    """A row of legend entries: (name, colour, hollow)."""
    parts, x = ['<g class="km-chart-legend">'], x0
    for name, colour, hollow in items:
        if hollow:
            parts.append(f'<circle cx="{x + 6:.1f}" cy="{y - 4:.1f}" r="5" fill="#fff" stroke="{colour}" '
                         f'stroke-width="2"/>')
        else:
            parts.append(f'<rect x="{x:.1f}" y="{y - 10:.1f}" width="12" height="12" fill="{colour}"/>')
        parts.append(f'<text x="{x + 17:.1f}" y="{y:.1f}">{escape(name)}</text>')
        x += 30 + 13 * len(name) if any(ord(ch) > 0x2E80 for ch in name) else 30 + 7 * len(name)
    parts.append("</g>")
    return parts


def _ticks(top: float, percent: bool) -> tuple[float, list[tuple[float, str]]]:
    if percent:
        return 1.0, [(i / 4, f"{i * 25}%") for i in range(5)]
    top = max(top, 1)
    step = max(1, int(-(-top // 4)))
    magnitude = 10 ** (len(str(step)) - 1)
    step = int(-(-step // magnitude) * magnitude)
    return step * 4, [(step * i, f"{step * i:,}") for i in range(5)]


def _fmt(value: float, percent: bool) -> str:
    return f"{value:.1%}" if percent else f"{value:,.0f}"


def line_chart(title: str, *, x_label: str, y_label: str, labels: list[str], series: dict[str, list],
               percent: bool = False, withheld: dict[str, list] | None = None, withheld_legend: str = "") -> Chart:
    """Lines over periods. `series[name][i]` is a number or None; `withheld[name][i]` the visible text for a
    withheld point ("样本不足 (n=7)"): drawn as a hollow grey marker on the axis and listed in the notes."""
    withheld = withheld or {}
    height, left, right, top_pad, bottom = 330, 70, 20, 56, 62
    plot_w, plot_h = WIDTH - left - right, height - top_pad - bottom
    values = [v for vals in series.values() for v in vals if v is not None]
    top, ticks = _ticks(max(values, default=0), percent)
    body = []
    for value, text in ticks:
        y = top_pad + plot_h * (1 - value / top)
        body.append(f'<line x1="{left}" y1="{y:.1f}" x2="{left + plot_w}" y2="{y:.1f}" stroke="#e3e3e3"/>')
        body.append(f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end">{escape(text)}</text>')
    body.append(f'<line x1="{left}" y1="{top_pad + plot_h}" x2="{left + plot_w}" y2="{top_pad + plot_h}" stroke="#333"/>')
    body.append(f'<line x1="{left}" y1="{top_pad}" x2="{left}" y2="{top_pad + plot_h}" stroke="#333"/>')
    step = plot_w / max(len(labels), 1)
    every = max(1, -(-len(labels) // 12))
    for i, label in enumerate(labels):
        if i % every == 0:
            body.append(f'<text x="{left + step * (i + 0.5):.1f}" y="{top_pad + plot_h + 16}" '
                        f'text-anchor="middle">{escape(label)}</text>')
    body.append(f'<text class="km-axis-x" x="{left + plot_w / 2:.0f}" y="{height - 8}" text-anchor="middle" '
                f'style="font-weight:bold">{escape(x_label)}</text>')
    body.append(f'<text class="km-axis-y" transform="translate(16 {top_pad + plot_h / 2:.0f}) rotate(-90)" '
                f'text-anchor="middle" style="font-weight:bold">{escape(y_label)}</text>')
    notes, legend, any_withheld = [], [], False
    for n, (name, vals) in enumerate(series.items()):
        colour = COLOURS[n % len(COLOURS)]
        legend.append((name, colour, False))
        segment: list[str] = []
        reasons = withheld.get(name) or [None] * len(vals)
        for i, value in enumerate([*vals, None]):
            if value is None:
                if len(segment) > 1:
                    body.append(f'<polyline fill="none" stroke="{colour}" stroke-width="2" points="{" ".join(segment)}"/>')
                segment = []
                if i < len(vals) and reasons[i]:
                    any_withheld = True
                    x = left + step * (i + 0.5)
                    body.append(f'<circle class="km-withheld" cx="{x:.1f}" cy="{top_pad + plot_h:.1f}" r="5" fill="#fff" '
                                f'stroke="{WITHHELD_COLOUR}" stroke-width="2"><title>{escape(name)} {escape(labels[i])}: '
                                f'{escape(reasons[i])}</title></circle>')
                    notes.append(f"{labels[i]} · {name}：{reasons[i]}")
                continue
            x, y = left + step * (i + 0.5), top_pad + plot_h * (1 - value / top)
            segment.append(f"{x:.1f},{y:.1f}")
            body.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3" fill="{colour}"><title>{escape(name)} '
                        f'{escape(labels[i])}: {escape(_fmt(value, percent))}</title></circle>')
    if any_withheld and withheld_legend:
        legend.append((withheld_legend, WITHHELD_COLOUR, True))
    body.extend(_legend(legend, 44, left))
    return Chart(title, _svg(height, title, body), notes, "line")


def hbar_chart(title: str, *, x_label: str, y_label: str, rows: list[tuple[str, float | None, str | None]],
               series_name: str, percent: bool = False, withheld_legend: str = "") -> Chart:
    """Horizontal bars, one per row (label, value, withheld text). A withheld row shows its text where the
    bar would be, in grey, and is listed in the notes."""
    bar, gap, left, right, top_pad, bottom = 20, 8, 170, 90, 56, 52
    height = top_pad + len(rows) * (bar + gap) + bottom
    plot_w, plot_h = WIDTH - left - right, len(rows) * (bar + gap)
    top, ticks = _ticks(max([v for _, v, _ in rows if v is not None], default=0), percent)
    body = []
    for tick, text in ticks:
        x = left + plot_w * tick / top
        body.append(f'<line x1="{x:.1f}" y1="{top_pad}" x2="{x:.1f}" y2="{top_pad + plot_h}" stroke="#e3e3e3"/>')
        body.append(f'<text x="{x:.1f}" y="{top_pad + plot_h + 16}" text-anchor="middle">{escape(text)}</text>')
    body.append(f'<line x1="{left}" y1="{top_pad}" x2="{left}" y2="{top_pad + plot_h}" stroke="#333"/>')
    notes: list[str] = []
    any_withheld = False
    for i, (label, value, reason) in enumerate(rows):
        y = top_pad + i * (bar + gap) + gap / 2
        short = label if len(label) <= 12 else label[:11] + "…"
        body.append(f'<text x="{left - 6}" y="{y + bar * 0.7:.1f}" text-anchor="end"><title>{escape(label)}</title>'
                    f"{escape(short)}</text>")
        if value is None:
            text = reason or "—"
            any_withheld = any_withheld or bool(reason)
            body.append(f'<text class="km-withheld" x="{left + 6}" y="{y + bar * 0.7:.1f}" fill="{WITHHELD_COLOUR}" '
                        f'style="font-style:italic">{escape(text)}</text>')
            if reason:
                notes.append(f"{label}：{reason}")
            continue
        w = plot_w * value / top
        body.append(f'<rect x="{left}" y="{y:.1f}" width="{max(w, 1):.1f}" height="{bar}" fill="{COLOURS[0]}">'
                    f"<title>{escape(label)}: {escape(_fmt(value, percent))}</title></rect>")
        body.append(f'<text x="{left + w + 4:.1f}" y="{y + bar * 0.7:.1f}">{escape(_fmt(value, percent))}</text>')
    body.append(f'<text class="km-axis-x" x="{left + plot_w / 2:.0f}" y="{height - 8}" text-anchor="middle" '
                f'style="font-weight:bold">{escape(x_label)}</text>')
    body.append(f'<text class="km-axis-y" transform="translate(16 {top_pad + plot_h / 2:.0f}) rotate(-90)" '
                f'text-anchor="middle" style="font-weight:bold">{escape(y_label)}</text>')
    legend = [(series_name, COLOURS[0], False)]
    if any_withheld and withheld_legend:
        legend.append((withheld_legend, WITHHELD_COLOUR, True))
    body.extend(_legend(legend, 44, left))
    return Chart(title, _svg(height, title, body), notes, "bar")
