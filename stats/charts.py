"""Server-side SVG charts for the admin page (no JavaScript, no CDN). Values are escaped text."""

from django.utils.html import escape
from django.utils.safestring import mark_safe

WIDTH, HEIGHT, PAD_LEFT, PAD_BOTTOM, PAD_TOP = 720, 220, 44, 36, 16


def _frame(title: str, labels: list[str], top: float, fmt) -> list[str]:
    plot_h = HEIGHT - PAD_BOTTOM - PAD_TOP
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" role="img" '
             f'aria-label="{escape(title)}" style="font:11px sans-serif">',
             f"<title>{escape(title)}</title>"]
    for i in range(5):
        y = PAD_TOP + plot_h - plot_h * i / 4
        parts.append(f'<line x1="{PAD_LEFT}" y1="{y:.1f}" x2="{WIDTH - 8}" y2="{y:.1f}" stroke="#ddd"/>')
        parts.append(f'<text x="{PAD_LEFT - 4}" y="{y + 4:.1f}" text-anchor="end">{escape(fmt(top * i / 4))}</text>')
    step = (WIDTH - PAD_LEFT - 8) / max(len(labels), 1)
    every = max(1, len(labels) // 12)
    for i, label in enumerate(labels):
        if i % every == 0:
            x = PAD_LEFT + step * (i + 0.5)
            parts.append(f'<text x="{x:.1f}" y="{HEIGHT - PAD_BOTTOM + 14}" text-anchor="middle">{escape(label)}</text>')
    return parts


def bar_chart(title: str, labels: list[str], values: list[int], colour: str = "#4a7ab5") -> str:
    top = max([*values, 1])
    parts = _frame(title, labels, top, lambda v: f"{v:.0f}")
    plot_h = HEIGHT - PAD_BOTTOM - PAD_TOP
    step = (WIDTH - PAD_LEFT - 8) / max(len(values), 1)
    for i, value in enumerate(values):
        h = plot_h * value / top
        parts.append(f'<rect x="{PAD_LEFT + step * i + 2:.1f}" y="{PAD_TOP + plot_h - h:.1f}" '
                     f'width="{max(step - 4, 1):.1f}" height="{h:.1f}" fill="{colour}">'
                     f"<title>{escape(labels[i])}: {value}</title></rect>")
    parts.append("</svg>")
    return mark_safe("".join(parts))  # noqa: S308 - built from escaped text and numbers only


def rate_chart(title: str, labels: list[str], series: dict[str, list[float | None]]) -> str:
    """Lines of rates (0–1); a withheld point (None) breaks the line instead of pretending to be 0."""
    colours = ["#2e8b57", "#c0392b", "#8e44ad", "#d68910"]
    parts = _frame(title, labels, 1.0, lambda v: f"{v:.0%}")
    plot_h = HEIGHT - PAD_BOTTOM - PAD_TOP
    step = (WIDTH - PAD_LEFT - 8) / max(len(labels), 1)
    for n, (name, values) in enumerate(series.items()):
        colour = colours[n % len(colours)]
        segment: list[str] = []
        for i, value in enumerate([*values, None]):
            if value is None:
                if len(segment) > 1:
                    parts.append(f'<polyline fill="none" stroke="{colour}" stroke-width="2" points="{" ".join(segment)}"/>')
                segment = []
                continue
            x, y = PAD_LEFT + step * (i + 0.5), PAD_TOP + plot_h * (1 - value)
            segment.append(f"{x:.1f},{y:.1f}")
            parts.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3" fill="{colour}">'
                         f"<title>{escape(name)} {escape(labels[i])}: {value:.0%}</title></circle>")
        parts.append(f'<text x="{PAD_LEFT + 8 + 160 * n}" y="{PAD_TOP - 3}" fill="{colour}">{escape(name)}</text>')
    parts.append("</svg>")
    return mark_safe("".join(parts))  # noqa: S308 - built from escaped text and numbers only
