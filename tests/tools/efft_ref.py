"""The ЕФТТ value and line rules of ../shared/spec/FORMAT.md, written
independently of the C writer, in the reference's own language: str values
stripped of control code points, datetime.strftime, str(bool),
str(Decimal), f"{prefix}-{value}" keys, Streebog-512 from libgcrypt
(ctypes), then the quoting rules. Used by tests/data/golden/make_golden.py
and by the export checker (tests/tools/export_check.py)."""
import ctypes, ctypes.util, datetime, decimal, json, os, re

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


def header(e):
    return ";".join(f["name"].lower() for f in e["fields"])


def record_line(e, rec, prefix):
    """One record (raw values in field order, None = NULL) as a file line."""
    keys = set(e["primary_key"]) | set(e.get("foreign_keys", []))
    keyed = keys - set(e.get("ignore_prefix", []))
    hashable = set(e.get("hashable", []))
    required = {f["name"] for f in e["fields"] if f.get("required")} | set(e["primary_key"])
    out = []
    for f, raw in zip(e["fields"], rec):
        v = convert(f["type"], raw)
        if v and f["name"] in keyed:
            v = f"{prefix}-{v}"
        if v and f["name"] in hashable:
            v = streebog512(v.encode("utf-8"))
        if v:
            out.append('"' + v.replace('"', '""') + '"')
        else:
            out.append('""' if f["name"] in required else "")
    return ";".join(out)
