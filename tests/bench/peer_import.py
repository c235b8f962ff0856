#!/usr/bin/env python3
"""The "write it yourself" peer of rdm-agent's import + collect: a
straightforward Python csv + sqlite3 upsert of a dump into a table keyed by
its first column, in one transaction. Usage: peer_import.py DUMP DB"""
import csv
import sqlite3
import sys

dump, db = sys.argv[1], sys.argv[2]
con = sqlite3.connect(db)
with open(dump, newline="", encoding="utf-8") as f:
    rows = csv.reader(f, delimiter=";")
    header = next(rows)
    cols = ", ".join(f'"{c}"' for c in header)
    con.execute(f'CREATE TABLE IF NOT EXISTS t({cols}, PRIMARY KEY("{header[0]}"))')
    marks = ", ".join("?" for _ in header)
    updates = ", ".join(f'"{c}" = excluded."{c}"' for c in header[1:])
    sql = (f"INSERT INTO t({cols}) VALUES ({marks}) "
           f'ON CONFLICT("{header[0]}") DO UPDATE SET {updates}')
    with con:
        con.executemany(sql, rows)
con.close()
