"""`frontwatch report`: a self-contained page, checked in a real headless Chromium (Debian's)."""

import json
import os
import shutil

import pytest

from frontwatch.cli import main
from frontwatch.report import build_report, needs_review

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
# CI installs Chromium (.ci/run) and sets this, so there the browser test runs or fails, never skips.
REQUIRE_BROWSER = os.environ.get("FRONTWATCH_REQUIRE_BROWSER") == "1"

ROWS = [
    {"id": "a1", "date": "2023-06-10", "sector": "zaporizhzhia", "sector_score": 0.97, "direction": "advance", "direction_score": 0.91,
     "flags": [], "error": None, "summary": "Ukraine says its troops retook Robotyne.", "summary_flags": []},
    {"id": "a2", "date": "2023-07-02", "sector": "bakhmut", "sector_score": 0.88, "direction": "retreat", "direction_score": 0.42,
     "flags": ["text_cut"], "error": None, "summary": "Russia claims it took Soledar <b>fast</b>.", "summary_flags": ["direction_mismatch"]},
    {"id": "a3", "date": "2023-07-20", "sector": "bakhmut", "sector_score": 0.93, "direction": "none", "direction_score": 0.95,
     "flags": [], "error": None, "summary": "The front near Bakhmut is stable.", "summary_flags": []},
    {"id": "a4", "sector": None, "sector_score": None, "direction": None, "direction_score": None,
     "flags": [], "error": "'text' is empty", "summary": None, "summary_flags": []},
]


def _write(tmp_path, rows=ROWS):
    path = tmp_path / "results.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def test_review_reasons():
    assert needs_review(ROWS[0]) == []
    assert needs_review(ROWS[1]) == ["low direction score", "text_cut", "summary: direction_mismatch"]
    assert needs_review(ROWS[3]) == ["error"]


def test_page_is_self_contained_and_escapes_text():
    page = build_report(ROWS)
    assert "<b>fast</b>" not in page and "&lt;b&gt;fast&lt;/b&gt;" in page
    for external in ('href="http', "src=", "<link", "url(http", "@import"):
        assert external not in page
    assert build_report(ROWS) == page  # no timestamps: the same rows give the same page
    assert page.count("<svg") == 2  # per sector, and over time (the rows have dates)
    assert "To review (2)" in page


def test_bad_input_is_a_clear_error(tmp_path, capsys):
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": "x", "sector": "kherson"}\nnot json\n')
    assert main(["report", str(bad), "-o", str(tmp_path / "r.html")]) == 2
    assert "line 2 is not JSON" in capsys.readouterr().err


@pytest.mark.skipif(CHROMIUM is None and not REQUIRE_BROWSER, reason="Debian's chromium is not installed")
def test_page_in_a_headless_browser(tmp_path):
    from playwright.sync_api import sync_playwright

    out = tmp_path / "report.html"
    assert main(["report", str(_write(tmp_path)), "-o", str(out)]) == 0
    errors = []
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                  "--disable-sync", "--no-first-run"],
        )
        page = browser.new_page(viewport={"width": 1200, "height": 900})
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(out.as_uri())
        assert page.locator("#shown").inner_text() == "4 of 4 articles shown"
        page.fill("#q", "soledar")
        assert page.locator("#articles tbody tr:visible").count() == 1
        page.fill("#q", "")
        page.select_option("#fsector", "bakhmut")
        assert page.locator("#shown").inner_text() == "2 of 4 articles shown"
        chart = page.locator("#chart-sectors svg")
        box = chart.bounding_box()
        assert box and box["width"] > 300 and box["height"] > 100
        shot = tmp_path / "chart.png"
        chart.screenshot(path=str(shot))
        browser.close()
    assert errors == []
    assert shot.stat().st_size > 5000  # a drawn chart, not an empty box
