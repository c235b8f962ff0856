#!/usr/bin/env python3
"""The "write it yourself" peer of rdm-agent's import + collect: a
straightforward Python csv + sqlite3 upsert of a dump into a table keyed by
its first column, in one transaction. Usage: peer_import.py DUMP DB [ENCODING
[DELIMITER [TABLE]]] (defaults utf-8, ';', t)"""
import csv
import sqlite3
import sys

dump, db = sys.argv[1], sys.argv[2]
enc = sys.argv[3] if len(sys.argv) > 3 else "utf-8"
sep = sys.argv[4] if len(sys.argv) > 4 else ";"
table = sys.argv[5] if len(sys.argv) > 5 else "t"
con = sqlite3.connect(db)
with open(dump, newline="", encoding=enc) as f:
    rows = csv.reader(f, delimiter=sep)
    header = next(rows)
    cols = ", ".join(f'"{c}"' for c in header)
    con.execute(f'CREATE TABLE IF NOT EXISTS "{table}"({cols}, PRIMARY KEY("{header[0]}"))')
    marks = ", ".join("?" for _ in header)
    updates = ", ".join(f'"{c}" = excluded."{c}"' for c in header[1:])
    sql = (f'INSERT INTO "{table}"({cols}) VALUES ({marks}) '
           f'ON CONFLICT("{header[0]}") DO UPDATE SET {updates}')
    with con:
        con.executemany(sql, rows)
con.close()
