#!/usr/bin/env python3
"""export_check.py PROFILE DATA_DIR PREFIX [--lines FILE]

Checks what `rdm-agent export` registered in the store DATA_DIR/rdm-agent.db,
independently of the agent's code:

- every attachment's file exists with the registered size and SHA-256, starts
  with the entity's header, holds at least one record and no newline at the
  end; no file under DATA_DIR/export is left unregistered;
- replaying the files in sub-stage order (CREATE of a new key, UPDATE and
  DELETE of a known one; anything else is an error: a record sent twice or
  one missing) gives, for every entity, exactly the records its select
  yields from the live staged rows, formatted by tests/tools/efft_ref.py.

With --lines, writes every exported line as "ENTITY<TAB>OP<TAB>LINE" (in
sub-stage order) to FILE, so that two runs can be compared as multisets.
Prints a summary; exits 1 on the first kind of failure it finds."""
import csv, hashlib, io, json, os, sqlite3, sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from efft_ref import header, record_line  # noqa: E402

OPS = {1: "CREATE", 2: "UPDATE", 3: "DELETE"}


def load_profile(paths):
    ents, models = [], {}
    for p in paths.split(","):
        d = json.load(open(p, encoding="utf-8"))
        ents += d.get("entities", [])
        for m in d.get("models", []):
            models[m["name"]] = m
    return ents, models


def fields_key(e, fields):
    pos = [i for i, f in enumerate(e["fields"]) if f["name"] in e["primary_key"]]
    order = {n: k for k, n in enumerate(e["primary_key"])}
    pos.sort(key=lambda i: order[e["fields"][i]["name"]])
    return tuple(fields[i] for i in pos)


def parse_line(line):
    return next(csv.reader(io.StringIO(line), delimiter=";", quotechar='"'))


def main():
    prof, data_dir, prefix = sys.argv[1:4]
    lines_out = sys.argv[5] if len(sys.argv) > 5 and sys.argv[4] == "--lines" else None
    ents, models = load_profile(prof)
    db = sqlite3.connect(os.path.join(data_dir, "rdm-agent.db"))
    errors = []
    state = {e["key"]: {} for e in ents}
    byent = {e["key"]: e for e in ents}
    registered = set()
    dump = []
    rows = db.execute(
        "SELECT s.id, s.entity, a.operation, a.path, a.size, a.sha256 FROM attachment a "
        "JOIN export_substage s ON s.id = a.substage_id ORDER BY s.id, a.operation").fetchall()
    for sub, ent, op, path, size, sha in rows:
        registered.add(path)
        e = byent.get(ent)
        full = os.path.join(data_dir, path)
        try:
            body = open(full, "rb").read()
        except OSError as x:
            errors.append(f"{path}: registered but unreadable: {x}")
            continue
        if len(body) != size or hashlib.sha256(body).hexdigest() != sha:
            errors.append(f"{path}: size or SHA-256 differs from the attachment row")
        text = body.decode("utf-8")
        if text.endswith("\n"):
            errors.append(f"{path}: ends with a newline")
        ls = text.split("\n")
        if ls[0] != header(e):
            errors.append(f"{path}: header {ls[0]!r}")
        if len(ls) < 2:
            errors.append(f"{path}: no record (an empty file was registered)")
        st = state[ent]
        for line in ls[1:]:
            k = fields_key(e, parse_line(line))
            dump.append(f"{ent}\t{OPS[op]}\t{line}")
            if op == 1:
                if k in st:
                    errors.append(f"{ent} {k}: CREATE of a record already created ({path})")
                st[k] = line
            elif op == 2:
                if k not in st:
                    errors.append(f"{ent} {k}: UPDATE of a record never created ({path})")
                st[k] = line
            else:
                if k not in st:
                    errors.append(f"{ent} {k}: DELETE of a record not there ({path})")
                st.pop(k, None)
    exp_root = os.path.join(data_dir, "export")
    for root, _, files in os.walk(exp_root):
        for f in files:
            rel = os.path.relpath(os.path.join(root, f), data_dir).replace(os.sep, "/")
            if rel not in registered:
                errors.append(f"{rel}: a file under export/ that no attachment names")
    # what the datamart should now hold: each entity's select over live rows
    tables = {r[0] for r in db.execute("SELECT name FROM sqlite_schema WHERE type = 'table'")}
    total = 0
    for e in ents:
        for mname in e["models"]:
            m = models[mname]
            cols = ", ".join(f'"{c["name"]}"' for c in m["columns"])
            db.execute(f'DROP VIEW IF EXISTS temp."{mname}"')
            if f"rdm:stg:{mname}" in tables:
                db.execute(f'CREATE TEMP VIEW "{mname}" AS SELECT {cols} FROM main."rdm:stg:{mname}" '
                           f'WHERE "rdm:op" != 3')
            else:
                db.execute(f'CREATE TEMP VIEW "{mname}" AS SELECT {cols} FROM (SELECT '
                           + ", ".join(f'NULL AS "{c["name"]}"' for c in m["columns"])
                           + ") WHERE 0")
        sel = e.get("select") or "SELECT " + ", ".join(
            f'"{f["name"]}"' for f in e["fields"]) + f' FROM "{e["models"][0]}"'
        want = {}
        for rec in db.execute(sel):
            rec = [None if v is None else str(v) for v in rec]
            line = record_line(e, rec, prefix)
            want[fields_key(e, parse_line(line))] = line
        got = state[e["key"]]
        for k in want.keys() - got.keys():
            errors.append(f"{e['key']} {k}: in the staged data, never delivered")
        for k in got.keys() - want.keys():
            errors.append(f"{e['key']} {k}: delivered, not (any more) in the staged data")
        for k in want.keys() & got.keys():
            if want[k] != got[k]:
                errors.append(f"{e['key']} {k}: delivered {got[k]!r}, staged {want[k]!r}")
        total += len(want)
    if lines_out:
        with open(lines_out, "w", encoding="utf-8") as fh:
            fh.write("\n".join(dump) + ("\n" if dump else ""))
    if errors:
        for x in errors[:20]:
            print("export_check:", x)
        print(f"export_check: {len(errors)} problem(s)")
        sys.exit(1)
    print(f"export_check: ok: {len(rows)} file(s), {len(dump)} line(s), {total} record(s) now")


main()
