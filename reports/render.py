"""Write a :class:`~reports.sections.Report` as Markdown (``summary.md``) and as one self-contained HTML page
(``report.html``: inline CSS, figures embedded as base64 PNG, no external links or scripts)."""

from __future__ import annotations

import base64
import html
import io
import re
from collections.abc import Callable

from matplotlib.figure import Figure

from reports.sections import FigureRef, Report, Section, Table

#: resolution of embedded figures
DPI = 100

_CODE = re.compile(r"`([^`]+)`")


# ---- Markdown


def _md_cell(s: str) -> str:
    return s.replace("|", "\\|").replace("\n", " ")


def table_markdown(t: Table) -> list[str]:
    out = [f"**{t.title}**", ""] if t.title else []
    out.append("| " + " | ".join(_md_cell(h) for h in t.header) + " |")
    out.append("|" + "|".join("---:" if a == "r" else ":---" for a in t.alignment()) + "|")
    out += ["| " + " | ".join(_md_cell(c) for c in row) + " |" for row in t.rows]
    out.append("")
    return out


def render_markdown(report: Report) -> str:
    """``summary.md``: the flow table, then per step its status, sentences and tables (figures are in the HTML)."""
    lines = [f"# {report.title}", "", f"Run directory: `{report.run_dir}`. Figures: `report.html`.", ""]
    lines += ["## Flow", ""] + table_markdown(report.flow)[2:]
    for i, s in enumerate(report.sections, 1):
        lines += [f"## {i}. {s.title}", "", f"Status: **{s.status}** (`{s.source}`)", ""]
        for p in s.paragraphs:
            lines += [p, ""]
        for t in s.tables:
            lines += table_markdown(t)
    return "\n".join(lines).rstrip("\n") + "\n"


# ---- HTML

_CSS = """
body { font-family: -apple-system, "Segoe UI", "DejaVu Sans", Helvetica, Arial, sans-serif; margin: 0;
       color: #222; background: #fafafa; line-height: 1.45; }
main { max-width: 1200px; margin: 0 auto; padding: 1em 2em 4em; }
h1 { font-size: 1.6em; margin-bottom: 0.2em; }
h2 { border-bottom: 1px solid #ddd; padding-bottom: 0.2em; margin-top: 2em; }
h3 { font-size: 1.05em; margin-bottom: 0.3em; }
nav a { margin-right: 1em; color: #1f5fa8; text-decoration: none; }
table { border-collapse: collapse; margin: 0.4em 0 1.2em; font-size: 0.9em; background: #fff; }
th, td { border: 1px solid #ddd; padding: 0.25em 0.6em; }
th { background: #f0f0f0; }
td.r, th.r { text-align: right; font-variant-numeric: tabular-nums; }
td.l, th.l { text-align: left; }
.scroll { overflow-x: auto; }
code { background: #eee; padding: 0 0.25em; border-radius: 3px; font-size: 0.92em; }
.badge { display: inline-block; padding: 0.05em 0.55em; border-radius: 0.8em; font-size: 0.8em; color: #fff;
         vertical-align: middle; margin-left: 0.4em; }
.done { background: #2ca02c; } .failed, .unreadable { background: #d62728; }
.missing { background: #8c8c8c; } .incomplete, .stale { background: #e08a00; }
figure { margin: 1em 0; background: #fff; border: 1px solid #e4e4e4; padding: 0.5em; }
figure img { max-width: 100%; height: auto; }
figcaption { font-size: 0.85em; color: #555; }
.source { color: #666; font-size: 0.85em; }
"""


def _inline(text: str) -> str:
    """Escape, then turn `code` spans into <code> elements."""
    return _CODE.sub(lambda m: f"<code>{m.group(1)}</code>", html.escape(text, quote=False))


def table_html(t: Table) -> str:
    al = t.alignment()
    parts = [f"<h3>{_inline(t.title)}</h3>"] if t.title else []
    parts.append('<div class="scroll"><table>')
    parts.append(
        "<tr>"
        + "".join(f'<th class="{a}">{_inline(h)}</th>' for h, a in zip(t.header, al, strict=True))
        + "</tr>"
    )
    for row in t.rows:
        parts.append(
            "<tr>"
            + "".join(f'<td class="{a}">{_inline(c)}</td>' for c, a in zip(row, al, strict=True))
            + "</tr>"
        )
    parts.append("</table></div>")
    return "\n".join(parts)


def figure_png(fig: Figure, dpi: int = DPI) -> bytes:
    """PNG bytes of a figure (Agg, no pyplot)."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi)
    return buf.getvalue()


def figure_html(ref: FigureRef, png: Callable[[FigureRef], bytes]) -> str:
    try:
        data = png(ref)
    except Exception as e:  # a figure that cannot be drawn must not lose the rest of the report
        return (
            f'<p class="source">Figure {html.escape(ref.name)} could not be drawn: {html.escape(repr(e))}</p>'
        )
    b64 = base64.b64encode(data).decode("ascii")
    alt = html.escape(ref.caption)
    return (
        f'<figure id="fig-{html.escape(ref.name)}"><img src="data:image/png;base64,{b64}" alt="{alt}">'
        f"<figcaption>{_inline(ref.caption)}</figcaption></figure>"
    )


def _section_html(i: int, s: Section, png: Callable[[FigureRef], bytes]) -> str:
    parts = [
        f'<section id="{s.step}"><h2>{i}. {html.escape(s.title)}<span class="badge {s.status}">{s.status}</span></h2>',
        f'<p class="source">from <code>{html.escape(s.source)}</code></p>',
    ]
    parts += [f"<p>{_inline(p)}</p>" for p in s.paragraphs]
    parts += [figure_html(f, png) for f in s.figures]
    parts += [table_html(t) for t in s.tables]
    parts.append("</section>")
    return "\n".join(parts)


def render_html(report: Report, png: Callable[[FigureRef], bytes] | None = None) -> str:
    """``report.html``: one page, inline CSS, every figure a ``data:image/png;base64`` image.

    Args:
        png: draws a figure reference to PNG bytes; default ``figure_png(ref.make())``.
    """
    if png is None:

        def png(ref: FigureRef) -> bytes:
            return figure_png(ref.make())

    flow = report.flow
    status_col = flow.header.index("status")
    rows = []
    for row in flow.rows:
        cells = []
        for j, c in enumerate(row):
            inner = f'<span class="badge {c}">{c}</span>' if j == status_col else _inline(c)
            if j == 0:
                inner = f'<a href="#{html.escape(c)}">{inner}</a>'
            cells.append(f'<td class="l">{inner}</td>')
        rows.append("<tr>" + "".join(cells) + "</tr>")
    flow_html = (
        '<div class="scroll"><table><tr>'
        + "".join(f'<th class="l">{html.escape(h)}</th>' for h in flow.header)
        + "</tr>\n"
        + "\n".join(rows)
        + "</table></div>"
    )
    nav = " ".join(f'<a href="#{s.step}">{html.escape(s.title)}</a>' for s in report.sections)
    body = "\n".join(_section_html(i, s, png) for i, s in enumerate(report.sections, 1))
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{html.escape(report.title)}</title>
<style>{_CSS}</style>
</head>
<body>
<main>
<h1>{html.escape(report.title)}</h1>
<p class="source">Run directory <code>{html.escape(report.run_dir)}</code></p>
<nav>{nav}</nav>
<h2>Flow</h2>
{flow_html}
{body}
</main>
</body>
</html>
"""
