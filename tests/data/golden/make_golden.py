#!/usr/bin/env python3
"""Writes the golden export files of cases.json with an implementation of
../shared/spec/FORMAT.md written independently of the C writer, in the
reference's own language: str values stripped of control code points,
datetime.strftime, str(bool), str(Decimal), f"{prefix}-{value}" keys,
Streebog-512 from libgcrypt (ctypes), then the quoting rules.

Run by hand when a case is added: python3 make_golden.py (needs
libgcrypt20). The C test compares the writer's bytes with these files."""
import ctypes, ctypes.util, datetime, decimal, json, os, re

HERE = os.path.dirname(os.path.abspath(__file__))
gcry = ctypes.CDLL(ctypes.util.find_library("gcrypt"))
gcry.gcry_check_version.restype = ctypes.c_char_p
gcry.gcry_check_version(None)
GCRY_MD_STRIBOG512 = 310  # gcrypt.h


def streebog512(data: bytes) -> str:
    out = ctypes.create_string_buffer(64)
    gcry.gcry_md_hash_buffer(GCRY_MD_STRIBOG512, out, data, len(data))
    return out.raw.hex()


CONTROL = re.compile("[\u0000-\u001f\u007f-\u009f]")


def convert(ftype, raw):
    if raw is None:
        return ""
    if ftype == "text":
        return CONTROL.sub("", raw)
    if ftype == "int":
        return str(int(raw))
    if ftype == "bool":
        return str(raw.lower() in ("1", "true", "t", "yes", "y", "on"))
    if ftype == "decimal":
        return str(decimal.Decimal(raw))
    if ftype == "date":
        return datetime.date.fromisoformat(raw[:10]).strftime("%Y-%m-%d")
    if ftype == "datetime":
        v = raw.replace("Z", "+00:00")
        return datetime.datetime.fromisoformat(v).strftime("%Y-%m-%d %H:%M:%S")
    raise ValueError(ftype)


def main():
    profile = json.load(open(os.path.join(HERE, "..", "profiles", "test.json"), encoding="utf-8"))
    entities = {e["key"]: e for e in profile["entities"]}
    for case in json.load(open(os.path.join(HERE, "cases.json"), encoding="utf-8")):
        e = entities[case["entity"]]
        keys = set(e["primary_key"]) | set(e.get("foreign_keys", []))
        keyed = keys - set(e.get("ignore_prefix", []))
        hashable = set(e.get("hashable", []))
        required = {f["name"] for f in e["fields"] if f.get("required")} | set(e["primary_key"])
        lines = [";".join(f["name"].lower() for f in e["fields"])]
        for rec in case["records"]:
            out = []
            for f, raw in zip(e["fields"], rec):
                v = convert(f["type"], raw)
                if v and f["name"] in keyed:
                    v = f'{case["prefix"]}-{v}'
                if v and f["name"] in hashable:
                    v = streebog512(v.encode("utf-8"))
                if v:
                    out.append('"' + v.replace('"', '""') + '"')
                else:
                    out.append('""' if f["name"] in required else "")
            lines.append(";".join(out))
        with open(os.path.join(HERE, case["name"] + ".csv"), "wb") as fh:
            fh.write("\n".join(lines).encode("utf-8"))


main()
