#!/usr/bin/env python3
"""replay_emulator.py STATE SAVE_DIR TABLE KEY_FIELD EXPECTED_CSV PREFIX [FIELD...]

Replays, in the order the emulator accepted them, the bodies it kept
(SAVE_DIR/ID.TABLE.OP.csv, listed in the --state file) for one table: an
upload sets each record by its key, a delete removes it. Then compares the
result with EXPECTED_CSV (the product's dump: ';'-separated, a header, the
key in KEY_FIELD), mapping each dump key k to PREFIX-k and comparing the
named FIELDs as the datamart would hold them. Prints what differs; exits 1
when anything does, or when a body listed in the state file is missing.
"""
import csv
import io
import os
import sys


def read_efft(path):
    """Records of one ЕФТТ file: header line, then quoted values."""
    with open(path, encoding="utf-8", newline="") as f:
        text = f.read()
    rows = list(csv.reader(io.StringIO(text), delimiter=";", quotechar='"'))
    return rows[0], rows[1:]


def main():
    state, save_dir, table, key_field, expected_csv, prefix = sys.argv[1:7]
    fields = sys.argv[7:]
    held = {}
    accepted = 0
    with open(state, encoding="utf-8") as f:
        for line in f:
            parts = line.rstrip("\n").split("\t")
            rid, tbl, op = parts[0], parts[2], parts[3]
            if tbl != table:
                continue
            body = os.path.join(save_dir, "%s.%s.%s.csv" % (rid, tbl, op))
            if not os.path.exists(body):
                print("missing body of accepted request %s (%s)" % (rid, body))
                return 1
            accepted += 1
            header, recs = read_efft(body)
            k = header.index(key_field)
            for r in recs:
                if op == "delete":
                    held.pop(r[k], None)
                else:
                    held[r[k]] = dict(zip(header, r))
    want = {}
    with open(expected_csv, encoding="utf-8", newline="") as f:
        rd = csv.DictReader(f, delimiter=";")
        for r in rd:
            want["%s-%s" % (prefix, r[key_field])] = r
    bad = 0
    for k in sorted(set(want) - set(held)):
        print("never arrived: %s %s" % (table, k))
        bad += 1
    for k in sorted(set(held) - set(want)):
        print("arrived but should be deleted: %s %s" % (table, k))
        bad += 1
    for k in sorted(set(want) & set(held)):
        for fld in fields:
            if held[k].get(fld) != want[k].get(fld):
                print("%s %s: %s is %r at the datamart, %r in the dump" % (
                    table, k, fld, held[k].get(fld), want[k].get(fld)))
                bad += 1
    print("%s: %d request(s) replayed, %d record(s) held, %d expected, %d difference(s)" % (
        table, accepted, len(held), len(want), bad))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
