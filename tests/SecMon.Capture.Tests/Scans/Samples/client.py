#!/usr/bin/env python3
"""An ordinary busy client: opens COUNT short connections to one port of one server, INTERVAL seconds apart
(an HMI polling by reconnecting, a browser's many connections), each sending one HTTP request and closing.

usage: client.py HOST PORT COUNT INTERVAL
"""
import socket
import sys
import time

host, port, count, interval = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
for _ in range(count):
    with socket.create_connection((host, port), timeout=2) as s:
        s.sendall(b"GET /status HTTP/1.1\r\nHost: plc\r\n\r\n")
    time.sleep(interval)
