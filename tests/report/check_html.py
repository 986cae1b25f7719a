#!/usr/bin/env python3
"""Checks a corpusprep report.html the way a reader's browser sees it. Exit 0 when it holds, 1 with the
reasons when not, 77 when Chromium or tidy is not installed (the caller skips).

Usage: check_html.py REPORT.html [SHOTS_DIR]

- Self-contained: no element that loads anything (script, link, img, iframe, ...), no src/href/url()/@import
  that points outside the page, no http:// or https:// inside any tag or in the style sheet.
- `tidy -e` reports no errors.
- Headless Chromium (`--dump-dom`, logging to stderr) prints no console message, and the DOM it built holds
  every chart, each with its SVG.
- Screenshots at 1280 px and at a phone's 390 px are not blank: many colours, ink on a good share of pixels.
  With SHOTS_DIR they are kept there (shot-1280.png, shot-390.png) for a person to look at.
"""
import os
import re
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import png  # noqa: E402

CHARTS = ["chart-funnel", "chart-reasons", "chart-rules", "chart-langs", "chart-len-before", "chart-len-after",
          "chart-removed", "chart-lines", "chart-lang-score", "chart-near-clusters", "chart-throughput",
          "chart-stages"]
LOADERS = r"<\s*(script|link|img|iframe|frame|object|embed|video|audio|source|track|base|meta\s+http-equiv)\b"


def chromium():
    for name in ("chromium", "chromium-browser", "google-chrome"):
        if shutil.which(name):
            return shutil.which(name)
    return None


def static_checks(html):
    bad = []
    for m in re.finditer(LOADERS, html, re.I):
        bad.append("element that loads: %s" % m.group(0))
    for m in re.finditer(r"""\b(src|href|srcset|action|poster|xlink:href|data)\s*=\s*["']?([^"'\s>]*)""", html, re.I):
        if not m.group(2).startswith("#"):
            bad.append("reference outside the page: %s" % m.group(0))
    style = "".join(re.findall(r"<style>(.*?)</style>", html, re.S))
    if re.search(r"url\s*\(|@import|@font-face", style, re.I):
        bad.append("style sheet loads something")
    for tag in re.findall(r"<[^>]*>", html):
        if "http://" in tag or "https://" in tag:
            bad.append("http(s) in a tag: %s" % tag[:120])
    if "http://" in style or "https://" in style:
        bad.append("http(s) in the style sheet")
    return bad


def main():
    path = os.path.abspath(sys.argv[1])
    shots = sys.argv[2] if len(sys.argv) > 2 else None
    browser = chromium()
    if not browser or not shutil.which("tidy"):
        print("skip: chromium or tidy not installed")
        return 77
    html = open(path, encoding="utf-8").read()
    bad = static_checks(html)

    t = subprocess.run(["tidy", "-e", "-q", path], capture_output=True, text=True)
    if t.returncode >= 2 or re.search(r"\bError:", t.stderr):
        bad.append("tidy reports errors:\n" + t.stderr[:2000])

    tmp = tempfile.mkdtemp(prefix="cp-report-")
    try:
        base = [browser, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--no-first-run",
                "--user-data-dir=" + os.path.join(tmp, "profile"), "--enable-logging=stderr", "--v=0"]
        d = subprocess.run(base + ["--dump-dom", "file://" + path], capture_output=True, text=True, timeout=180)
        console = [l for l in d.stderr.splitlines() if "CONSOLE" in l or "Uncaught" in l]
        if console:
            bad.append("console messages:\n" + "\n".join(console[:10]))
        dom = d.stdout
        if "<main>" not in dom:
            bad.append("Chromium's DOM has no <main> (did the page load?)")
        for c in CHARTS:
            m = re.search(r'<figure class="chart[^"]*" id="%s">(.*?)</figure>' % c, dom, re.S)
            if not m:
                bad.append("chart missing: " + c)
            elif "<svg" not in m.group(1) and 'class="none"' not in m.group(1):
                bad.append("chart without its SVG: " + c)
        if dom.count("<svg") < 20:
            bad.append("only %d SVG elements in the DOM" % dom.count("<svg"))
        for width in (1280, 390):
            out = os.path.join(tmp, "shot-%d.png" % width)
            subprocess.run(base + ["--window-size=%d,2400" % width, "--screenshot=" + out, "file://" + path],
                           capture_output=True, text=True, timeout=180)
            if not os.path.exists(out):
                bad.append("no screenshot at %d px" % width)
                continue
            w, h, bpp, rows = png.read(out)
            colours = png.colours(rows, bpp)
            ink = 0
            total = 0
            for r in rows[::4]:
                for i in range(0, len(r), bpp * 4):
                    total += 1
                    ink += r[i] < 235 or r[i + 1] < 235
            share = ink / max(total, 1)
            print("screenshot %d px: %dx%d, %d colours, %.1f %% ink" % (width, w, h, colours, 100 * share))
            if colours < 16 or not 0.02 < share < 0.9:
                bad.append("screenshot at %d px looks blank (%d colours, %.1f %% ink)" % (width, colours, 100 * share))
            if shots:
                os.makedirs(shots, exist_ok=True)
                shutil.copy(out, os.path.join(shots, "shot-%d.png" % width))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    for b in bad:
        print("FAIL:", b)
    if not bad:
        print("report ok: self-contained, tidy clean, no console messages, %d charts, screenshots not blank" % len(CHARTS))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
