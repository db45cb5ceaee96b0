#!/usr/bin/env python3
"""A flood of QUIC Initial packets for the QUIC dissector's cost per new flow (bench/README.md, "Session 24").

Writes OUT.pcap: Chrome's first client Initial datagram (from the recorded sample
tests/SecMon.Capture.Tests/Protocols/Quic/Samples/quic-chromium.pcap; it carries part of its ClientHello) sent N times,
each from another source address and port to 192.0.2.1:443, 20 us apart: N new QUIC flows of one packet each, every one
opened (keys derived, header protection removed, payload decrypted) and holding the part of the hello it got.
With --not-quic the first byte of each payload is zeroed: the same flows, claimed by no protocol (the baseline).

usage: quic-initials.py OUT.pcap [N] [--not-quic]
"""
import os
import struct
import sys

args = [a for a in sys.argv[1:] if not a.startswith("--")]
if not args:
    sys.exit(__doc__)
out, n = args[0], int(args[1]) if len(args) > 1 else 50000
here = os.path.dirname(os.path.abspath(__file__))
sample = os.path.join(here, "..", "tests", "SecMon.Capture.Tests", "Protocols", "Quic", "Samples", "quic-chromium.pcap")
data = open(sample, "rb").read()
incl = struct.unpack("<I", data[24 + 8:24 + 12])[0]
payload = bytearray(data[24 + 16 + 42:24 + 16 + incl])  # Ethernet, IPv4, UDP before it
assert payload[0] & 0xC0 == 0xC0, "not a long header"
if "--not-quic" in sys.argv:
    payload[0] = 0
records = [struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1)]
for i in range(n):
    udp = struct.pack(">HHHH", 1024 + i % 60000, 443, 8 + len(payload), 0) + payload
    ip = struct.pack(">BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 0, 0, 64, 17, 0,
                     bytes([10, 0, (i >> 8) & 255, i & 255]), bytes([192, 0, 2, 1])) + udp
    frame = bytes([2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2, 8, 0]) + ip
    t = i * 20
    records.append(struct.pack("<IIII", 1700000000 + t // 1000000, t % 1000000, len(frame), len(frame)) + frame)
open(out, "wb").write(b"".join(records))
