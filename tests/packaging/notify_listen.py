#!/usr/bin/env python3
"""Stands in for systemd's notification socket (NOTIFY_SOCKET) in tests/packaging/deb_test.sh.

Binds an AF_UNIX datagram socket at PATH (mode 0666, so the service user may send) and appends
each datagram it receives (sd_notify's "READY=1\\nSTATUS=..." lines) to OUT, followed by a line
"--". Runs until killed. Usage: notify_listen.py PATH OUT
"""
import os
import socket
import sys

path, out = sys.argv[1], sys.argv[2]
sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
sock.bind(path)
os.chmod(path, 0o666)
open(out, "a").close()
while True:
    data = sock.recv(65536)
    with open(out, "a") as f:
        f.write(data.decode("utf-8", "replace") + "\n--\n")
