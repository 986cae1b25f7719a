#!/usr/bin/env python3
"""A JSONL file of texts that exercise the byte-level corners of cleaning and the filters (issue 9's
"Unicode stress file"): mixed scripts, Latin-1 capitals (and the 0xC3 byte at every position of a 64-byte
block), words of 1-300 bytes, punctuation around words, "...", "…", "。", "።", '#', bullets, blank-line
runs, repeated lines, paragraphs and n-grams, tabs, plus broken lines (bad JSON, invalid UTF-8, NUL).
Deterministic: usage make_stress.py OUT.jsonl [docs]"""
import json
import random
import sys

out, docs = sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 3000
rnd = random.Random(9)
pieces = ["the", "The", "THE", "and", "À", "Édith", "ÉCOLE", "Ölçü", "ÆØÅ", "×", "straße", "naïve", "über", "Ÿ",
          "word.", "word!", "word?", "(word)", "\"quoted\"", "--", "-", "*", "•", "…", "wait...", "end…", "。", "中文。",
          "日本語の文", "ሰላም።", "፡፡", "ኢትዮጵያ", "#tag", "##", "Ωμέγα", "Привет,", "мир.", "عربي؟", "हिन्दी।",
          "🙂", "e\u0301", "x" * 17, "y" * 130, "Z" * 16, "ab" * 40 + ".", "12,345", "3.14", "[1]", "{", "}",
          "Advertisement", "Read more", "cookie policy", "javascript", "lorem", "I", "a", "de", "la", "en"]
seps = [" "] * 12 + ["\t", "  ", "\n", "\n\n", "\n\n\n", " \n", "\n "]


def text():
    kind = rnd.random()
    words = [rnd.choice(pieces) for _ in range(rnd.randint(0, 400))]
    if kind < 0.2:  # repeated n-grams
        k = rnd.randint(2, 12)
        words = (words[:k] * rnd.randint(2, 30)) + words
    t = ""
    for w in words:
        t += w + rnd.choice(seps)
    if kind > 0.8:  # repeated lines and paragraphs
        lines = t.split("\n")
        t = "\n".join(lines + lines[: rnd.randint(0, len(lines))])
    if kind > 0.9:
        t = "\n\n".join([t] * rnd.randint(2, 4))
    # a Latin-1 capital and 0xC3 pairs at every offset of a block
    if rnd.random() < 0.3:
        pad = rnd.randint(0, 70)
        t = "a" * pad + " " + "ÀÉÞÀ" * rnd.randint(1, 20) + " " + t
    return t


with open(out, "wb") as f:
    for i in range(docs):
        r = rnd.random()
        rec = {"id": str(i), "url": "https://example.org/%d" % i, "text": text()}
        line = json.dumps(rec, ensure_ascii=rnd.random() < 0.5).encode()
        if r < 0.02:
            line = line[: rnd.randint(1, len(line))]  # cut
        elif r < 0.04:
            line = line.replace(b'"text"', b'"text" "', 1)  # bad JSON
        elif r < 0.06:
            at = line.find(b'"text"') + 9
            line = line[:at] + bytes([rnd.choice([0xFF, 0xC3, 0x80, 0xE2, 0xF0])]) + line[at:]  # bad UTF-8
        elif r < 0.07:
            line = line.replace(b'"text":"', b'"text":"\\u0000', 1)
        f.write(line + b"\n")
