"""`frontwatch report`: one self-contained HTML page from the JSONL that `frontwatch analyze` writes.

The page has no network dependency: charts are matplotlib SVG drawn into the page (text as paths,
so no fonts are fetched), and the table filter is a few lines of inline script.
"""

import html
import io
import json
import re
from collections import Counter
from pathlib import Path

REVIEW_BELOW = 0.6  # a row whose sector or direction score is under this is listed for review
DIRECTIONS = ("advance", "retreat", "none")
COLOURS = {"advance": "#2a7ab0", "retreat": "#c8553d", "none": "#9a9a9a"}


def read_results(path) -> list[dict]:
    """The rows of an `analyze` output; raises ValueError naming the first bad line."""
    rows = []
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except ValueError:
                raise ValueError(f"{path}: line {n} is not JSON; give the output of frontwatch analyze") from None
            if not isinstance(row, dict) or "id" not in row or "sector" not in row:
                raise ValueError(f"{path}: line {n} is not a frontwatch analyze row (no id or sector)")
            rows.append(row)
    if not rows:
        raise ValueError(f"{path}: no rows")
    return rows


def needs_review(row: dict) -> list[str]:
    """Why an analyst should look at this row; [] when nothing stands out."""
    reasons = []
    if row.get("error"):
        reasons.append("error")
    for head in ("sector", "direction"):
        score = row.get(f"{head}_score")
        if score is not None and score < REVIEW_BELOW:
            reasons.append(f"low {head} score")
    reasons += row.get("flags") or []
    reasons += [f"summary: {f}" for f in row.get("summary_flags") or []]
    return reasons


def _svg(fig) -> str:
    import matplotlib
    import matplotlib.pyplot as plt

    buf = io.StringIO()
    with matplotlib.rc_context({"svg.hashsalt": "frontwatch"}):  # fixed element ids: the same rows give the same page
        fig.savefig(buf, format="svg", bbox_inches="tight")
    plt.close(fig)
    text = buf.getvalue()
    text = text[text.index("<svg") :]  # drop the XML prolog and doctype: the SVG sits inside HTML
    return re.sub(r"<metadata>.*?</metadata>", "", text, flags=re.S)  # creation date etc.: pages are reproducible


def sector_chart(rows: list[dict]) -> str:
    """Stacked bars: claimed advances, retreats and no-change per sector."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    counts = Counter((r["sector"], r["direction"]) for r in rows if r.get("sector"))
    sectors = sorted({s for s, _ in counts}, key=lambda s: -sum(counts[s, d] for d in DIRECTIONS))
    fig, ax = plt.subplots(figsize=(7, 0.8 + 0.4 * max(1, len(sectors))))
    left = [0] * len(sectors)
    for d in DIRECTIONS:
        values = [counts[s, d] for s in sectors]
        ax.barh(sectors, values, left=left, color=COLOURS[d], label=d)
        left = [a + b for a, b in zip(left, values)]
    ax.invert_yaxis()
    ax.set_xlabel("articles")
    ax.set_title("Claimed movement per sector")
    ax.legend(loc="lower right")
    return _svg(fig)


def time_chart(rows: list[dict]) -> str | None:
    """Claims per month (stacked by direction), when rows carry a `date` (YYYY-MM...); else None."""
    months = [(str(r["date"])[:7], r["direction"]) for r in rows if r.get("date") and r.get("direction")]
    months = [(m, d) for m, d in months if len(m) == 7 and m[4] == "-" and m.replace("-", "").isdigit()]
    if not months:
        return None
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    counts = Counter(months)
    axis = sorted({m for m, _ in counts})
    fig, ax = plt.subplots(figsize=(max(6, 0.35 * len(axis)), 3.2))
    bottom = [0] * len(axis)
    for d in DIRECTIONS:
        values = [counts[m, d] for m in axis]
        ax.bar(axis, values, bottom=bottom, color=COLOURS[d], label=d)
        bottom = [a + b for a, b in zip(bottom, values)]
    ax.set_ylabel("articles")
    ax.set_title("Claims over time (by month of the article's date)")
    ax.tick_params(axis="x", labelrotation=60)
    ax.legend()
    return _svg(fig)


def _cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.2f}"
    if isinstance(value, list):
        return html.escape(", ".join(str(v) for v in value))
    return html.escape(str(value))


def _table(rows: list[dict], table_id: str, extra: dict | None = None) -> str:
    columns = ["id", "date", "sector", "sector_score", "direction", "direction_score", "summary", "flags", "summary_flags", "error"]
    columns = [c for c in columns if any(c in r for r in rows)]
    head = "".join(f"<th>{c}</th>" for c in columns) + ("<th>review</th>" if extra else "")
    body = []
    for r in rows:
        cells = "".join(f"<td>{_cell(r.get(c))}</td>" for c in columns)
        if extra:
            cells += f"<td>{_cell(extra[r['id']])}</td>"
        attrs = f'data-sector="{html.escape(str(r.get("sector")))}" data-direction="{html.escape(str(r.get("direction")))}"'
        body.append(f"<tr {attrs}>{cells}</tr>")
    return f'<table id="{table_id}"><thead><tr>{head}</tr></thead><tbody>{"".join(body)}</tbody></table>'


_SCRIPT = """
const q = document.getElementById('q'), fs = document.getElementById('fsector'), fd = document.getElementById('fdirection');
const rows = Array.from(document.querySelectorAll('#articles tbody tr'));
function filter() {
  const needle = q.value.toLowerCase();
  let shown = 0;
  for (const tr of rows) {
    const ok = (!needle || tr.textContent.toLowerCase().includes(needle))
      && (!fs.value || tr.dataset.sector === fs.value) && (!fd.value || tr.dataset.direction === fd.value);
    tr.hidden = !ok;
    shown += ok;
  }
  document.getElementById('shown').textContent = shown + ' of ' + rows.length + ' articles shown';
}
q.addEventListener('input', filter); fs.addEventListener('change', filter); fd.addEventListener('change', filter);
filter();
"""

_STYLE = """
body { font-family: sans-serif; margin: 2em; color: #222; }
table { border-collapse: collapse; font-size: 0.9em; width: 100%; }
th, td { border-bottom: 1px solid #ddd; padding: 0.3em 0.5em; text-align: left; vertical-align: top; }
th { background: #f3f3f3; position: sticky; top: 0; }
.summary { display: flex; gap: 2em; flex-wrap: wrap; }
.figure svg { max-width: 100%; height: auto; }
input, select { font-size: 1em; margin-right: 1em; }
"""


def build_report(rows: list[dict], title: str = "frontwatch report") -> str:
    """The whole page as one HTML string."""
    analysed = [r for r in rows if not r.get("error")]
    review = {r["id"]: needs_review(r) for r in rows}
    to_review = [r for r in rows if review[r["id"]]]
    counts = Counter(r.get("direction") for r in analysed)
    over_time = time_chart(analysed)

    def options(key):
        values = sorted({str(r.get(key)) for r in analysed})
        return '<option value="">all</option>' + "".join(f'<option value="{html.escape(v)}">{html.escape(v)}</option>' for v in values)

    parts = [
        "<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">', f"<title>{html.escape(title)}</title>",
        f"<style>{_STYLE}</style></head><body>", f"<h1>{html.escape(title)}</h1>",
        f"<p>{len(rows)} rows: {len(analysed)} analysed, {len(rows) - len(analysed)} failed. Claimed "
        f"advances {counts['advance']}, retreats {counts['retreat']}, no change {counts['none']}. "
        "Labels are what the articles claim, as read by a model; check the rows listed for review.</p>",
        '<div class="summary">', f'<div class="figure" id="chart-sectors">{sector_chart(analysed)}</div>',
        f'<div class="figure" id="chart-time">{over_time}</div>' if over_time else "", "</div>",
        f"<h2>To review ({len(to_review)})</h2>",
        f"<p>Rows with an error, a flag, a summary that failed a check, or a score under {REVIEW_BELOW}.</p>",
        _table(to_review, "review", review) if to_review else "<p>None.</p>",
        "<h2>All articles</h2>",
        '<p><label>Search <input id="q" type="search" placeholder="id, place, word of the summary"></label>'
        f'<label>Sector <select id="fsector">{options("sector")}</select></label>'
        f'<label>Direction <select id="fdirection">{options("direction")}</select></label>'
        '<span id="shown"></span></p>',
        _table(rows, "articles"), f"<script>{_SCRIPT}</script>", "</body></html>",
    ]
    return "\n".join(p for p in parts if p)


def write_report(results_path, output_path, title: str | None = None) -> int:
    """Writes the page for an `analyze` output; returns the number of rows."""
    rows = read_results(results_path)
    page = build_report(rows, title or f"frontwatch report: {Path(results_path).name}")
    Path(output_path).write_text(page, encoding="utf-8")
    return len(rows)
