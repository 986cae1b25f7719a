#!/usr/bin/env python3
"""Writes the seed page as the second record of a JSONL file, after an earlier page of the same sites that
repeats the seed's standards footer and the mirror's author blurb (so corpus-wide line dedup has something
to find). Usage: seed_jsonl.py SEED.txt OUT.jsonl"""
import json
import sys

seed = open(sys.argv[1], encoding="utf-8").read()
lines = seed.split("\n")
footer = [l for l in lines if l.startswith("Onze normen")][0]
blurb = [l for l in lines if l.startswith("\u201cInternetverslaving")][0]
other = "\n".join([
    "DEN HAAG, 7 januari (Reuters) - Het kabinet heeft vrijdag een nieuw plan gepresenteerd om de woningnood in de "
    "grote steden aan te pakken, met meer geld voor gemeenten en snellere procedures.",
    "Volgens de minister moeten er de komende tien jaar bijna een miljoen woningen bij komen, vooral voor starters "
    "en mensen met een middeninkomen die nu geen huis kunnen vinden.",
    "Gemeenten reageerden voorzichtig positief, maar zeiden dat het geld pas effect heeft als ook de regels voor "
    "bouwen eenvoudiger worden en er genoeg bouwvakkers zijn.",
    "Verslag door Bart Meijer; Bewerking door Jan Harvey",
    footer, blurb])
with open(sys.argv[2], "w", encoding="utf-8") as o:
    o.write(json.dumps({"id": "other", "text": other}, ensure_ascii=False) + "\n")
    o.write(json.dumps({"id": "seed", "text": seed}, ensure_ascii=False) + "\n")
