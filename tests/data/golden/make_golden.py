#!/usr/bin/env python3
"""Writes the golden export files of cases.json with an implementation of
../shared/spec/FORMAT.md written independently of the C writer, in the
reference's own language: str values stripped of control code points,
datetime.strftime, str(bool), str(Decimal), f"{prefix}-{value}" keys,
Streebog-512 from libgcrypt (ctypes), then the quoting rules.

Run by hand when a case is added: python3 make_golden.py (needs
libgcrypt20). The C test compares the writer's bytes with these files."""
import json, os, sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "tools"))
from efft_ref import header, record_line  # noqa: E402


def main():
    profile = json.load(open(os.path.join(HERE, "..", "profiles", "test.json"), encoding="utf-8"))
    entities = {e["key"]: e for e in profile["entities"]}
    for case in json.load(open(os.path.join(HERE, "cases.json"), encoding="utf-8")):
        e = entities[case["entity"]]
        lines = [header(e)] + [record_line(e, rec, case["prefix"]) for rec in case["records"]]
        with open(os.path.join(HERE, case["name"] + ".csv"), "wb") as fh:
            fh.write("\n".join(lines).encode("utf-8"))


main()
