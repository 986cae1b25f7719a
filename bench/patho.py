#!/usr/bin/env python3
"""Pathological but legal inputs (issue 11), each at two sizes through the whole CLI (-t 1 -q; with the
default preset news, and with none, which leaves every document to langid, dedup and MinHash), to show
that time grows roughly linearly with size. Prints per run the input MB, wall and CPU seconds, MB per CPU
second, peak RSS and what became of the documents, and per case the CPU-time ratio big/small beside the size ratio (linear: the
two agree; quadratic: the time ratio is the square of the size ratio). CPU time (user+sys of the child) is
the figure to read on a busy machine; wall time is printed too.

usage: patho.py BIN OUTDIR [--scale S]  (S multiplies every size; default 1 = the sizes of the issue)"""
import json
import os
import shutil
import subprocess
import sys
import time

binary, outdir = sys.argv[1], sys.argv[2]
scale = float(sys.argv[sys.argv.index("--scale") + 1]) if "--scale" in sys.argv else 1.0
os.makedirs(outdir, exist_ok=True)


def one_word_line(path, mb):
    """One record whose text is one word repeated to mb MiB (with a full stop, so that cleaning keeps it)."""
    n = int(mb * (1 << 20)) // 5
    with open(path, "w") as f:
        f.write('{"id":"w","text":"')
        chunk = "word " * 65536
        for _ in range(n // 65536):
            f.write(chunk)
        f.write("word " * (n % 65536))
        f.write('word."}\n')


def escaped_lines(path, lines):
    """One record whose text is `lines` short lines, each ended by a JSON \\n escape."""
    block = "".join("l%d\\n" % (i % 100) for i in range(10000))
    with open(path, "w") as f:
        f.write('{"id":"e","text":"')
        for _ in range(lines // 10000):
            f.write(block)
        f.write("".join("l%d\\n" % (i % 100) for i in range(lines % 10000)))
        f.write('"}\n')


def letters(i):
    """i in base 26 with letters: distinct words even after dedup normalisation (which folds digits)."""
    s = ""
    while True:
        s = chr(97 + i % 26) + s
        i //= 26
        if not i:
            return s


def tiny_keys(path, docs):
    """docs records with distinct tiny texts: as many exact-dedup, URL and MinHash keys."""
    with open(path, "w") as f:
        for i in range(docs):
            w = letters(i)
            f.write('{"text":"k%s","url":"http://h/%s"}\n' % (w, w))


def run(path, preset):
    out = os.path.join(outdir, "out")
    shutil.rmtree(out, ignore_errors=True)
    t0 = time.monotonic()
    p = subprocess.Popen([binary, "-q", "-t", "1", "-c", preset, "-o", out, path], stdout=subprocess.DEVNULL,
                         stderr=subprocess.PIPE)
    err = p.stderr.read()
    _, status, ru = os.wait4(p.pid, 0)  # this child's own CPU time and peak RSS
    p.returncode = os.waitstatus_to_exitcode(status)
    wall = time.monotonic() - t0
    if p.returncode != 0:
        sys.exit("%s failed (%d): %s" % (path, p.returncode, err.decode(errors="replace")))
    cpu = ru.ru_utime + ru.ru_stime
    with open(os.path.join(out, "stats.json")) as f:
        st = json.load(f)
    return wall, cpu, ru.ru_maxrss / 1024, st


cases = [
    ("64 MiB line of one repeated word", one_word_line, 16 * scale, 64 * scale, "MiB"),
    ("one text of 10^6 \\n-escaped short lines", escaped_lines, int(250000 * scale), int(1000000 * scale), "lines"),
    ("10^6 distinct tiny keys", tiny_keys, int(250000 * scale), int(1000000 * scale), "docs"),
]
print("%-40s %-5s %12s %7s %7s %7s %8s %7s  %s" % ("case", "-c", "size", "MB", "wall s", "CPU s", "MB/CPU s",
                                                  "RSS MB", "outcome"))
for name, make, small, big, unit in cases:
    for preset in ("news", "none"):
        cpu_of = {}
        for size in (small, big):
            path = os.path.join(outdir, "input.jsonl")
            make(path, size)
            mb = os.path.getsize(path) / 1e6
            wall, cpu, rss, st = run(path, preset)
            cpu_of[size] = cpu
            rej = st.get("docs_rejected", {})
            top = max(rej, key=rej.get) if rej else None
            outcome = "%d kept" % st.get("docs_kept", 0) + (", %d %s" % (rej[top], top) if top else "")
            print("%-40s %-5s %12s %7.1f %7.2f %7.2f %8.1f %7.0f  %s" % (
                name, preset, "%g %s" % (size, unit), mb, wall, cpu, mb / cpu if cpu else 0, rss, outcome))
            os.remove(path)
        ratio = cpu_of[big] / max(cpu_of[small], 1e-9)
        print("%-40s %-5s CPU time ratio %.2f for a size ratio of %.2f: %s" % (
            "", preset, ratio, big / small, "roughly linear" if ratio < 1.5 * big / small else "NOT linear"))
shutil.rmtree(os.path.join(outdir, "out"), ignore_errors=True)
