#!/usr/bin/env python3
"""Opens the listeners the scan samples are recorded against, then waits to be killed.

usage: listeners.py tcp:HOST:PORT ... udp:HOST:PORT ...
TCP listeners accept and close; UDP listeners answer every datagram (an empty one too) with b"ok".
"""
import selectors
import socket
import sys

sel = selectors.DefaultSelector()
for spec in sys.argv[1:]:
    proto, host, port = spec.split(":")
    if proto == "tcp":
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind((host, int(port)))
        s.listen(64)
    else:
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind((host, int(port)))
    s.setblocking(False)
    sel.register(s, selectors.EVENT_READ, proto)
print("listening", flush=True)
while True:
    for key, _ in sel.select():
        s = key.fileobj
        try:
            if key.data == "tcp":
                c, _ = s.accept()
                c.close()
            else:
                _, peer = s.recvfrom(2048)
                s.sendto(b"ok", peer)
        except OSError:
            pass
