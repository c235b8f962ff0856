#!/usr/bin/env python3
"""hostile_server.py PORT_FILE MODE LOG - a broken datamart on 127.0.0.1 for
tests/cli/test_hostile.sh. It reads each request whole, logs its request
line to LOG, then answers by MODE:
  endless  200, a chunked body that never ends
  drip     200 promising 1 MB, then one byte every second
  partial  200 promising 50 bytes, sends a request id of 5, closes
  redirect 301 to another host (Location: https://elsewhere.invalid/)
  status8  POST: a request id; GET (a status): {"code": 8}, not in the protocol
  busy     503 to everything (the proxy API's token step included)
  silent   takes the request whole and never answers
  unauth   401 to everything
"""
import os
import socket
import sys
import threading
import time

port_file, mode, log_path = sys.argv[1], sys.argv[2], sys.argv[3]
log = open(log_path, "a", buffering=1)
lock = threading.Lock()
count = [0]


def read_request(c):
    data = b""
    while b"\r\n\r\n" not in data:
        d = c.recv(65536)
        if not d:
            return None
        data += d
    head, rest = data.split(b"\r\n\r\n", 1)
    lines = head.decode("latin1").split("\r\n")
    n = 0
    for line in lines[1:]:
        k, _, v = line.partition(":")
        if k.strip().lower() == "content-length":
            n = int(v.strip())
    while len(rest) < n:
        d = c.recv(65536)
        if not d:
            return None
        rest += d
    return lines[0]


def handle(c):
    try:
        while True:
            line = read_request(c)
            if line is None:
                return
            with lock:
                count[0] += 1
                k = count[0]
            log.write(line + "\n")
            if mode == "endless":
                c.sendall(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
                chunk = b"x" * 65536
                while True:
                    c.sendall(b"%x\r\n" % len(chunk) + chunk + b"\r\n")
            elif mode == "drip":
                c.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 1000000\r\n\r\n")
                while True:
                    c.sendall(b"z")
                    time.sleep(1)
            elif mode == "partial":
                c.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 50\r\n\r\nreq-%d" % k)
                return
            elif mode == "redirect":
                c.sendall(b"HTTP/1.1 301 Moved\r\nLocation: https://elsewhere.invalid/\r\n"
                          b"Content-Length: 0\r\n\r\n")
            elif mode == "unauth":
                c.sendall(b"HTTP/1.1 401 Unauthorized\r\nContent-Length: 0\r\n\r\n")
            elif mode == "silent":
                time.sleep(3600)
            elif mode == "busy":
                c.sendall(b"HTTP/1.1 503 Busy\r\nContent-Length: 4\r\n\r\nbusy")
            elif mode == "status8":
                b = b'{"code": 8}' if line.startswith("GET") else b"req-%d" % k
                c.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % len(b) + b)
    except OSError:
        pass
    finally:
        c.close()


s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", 0))
s.listen(16)
with open(port_file + ".tmp", "w") as f:
    f.write(str(s.getsockname()[1]))
os.rename(port_file + ".tmp", port_file)
while True:
    c, _ = s.accept()
    threading.Thread(target=handle, args=(c,), daemon=True).start()
