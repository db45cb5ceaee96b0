#!/usr/bin/env python3
"""Sends one mDNS query and one announcement to 224.0.0.251:5353 from port 5353 (RFC 6762), as a responder would:
PTR _mqtt._tcp.local -> sensor-7._mqtt._tcp.local, SRV (0 0 1883 sensor-7.local), TXT, and A sensor-7.local 10.0.0.7
with the cache-flush bit. Names after the first use compression pointers (RFC 1035 4.1.4). Run by record.sh."""
import socket
import struct


def name(labels):
    return b"".join(bytes([len(l)]) + l.encode() for l in labels) + b"\x00"


def pointer(offset):
    return struct.pack("!H", 0xC000 | offset)


sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
sock.bind(("0.0.0.0", 5353))
sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, socket.inet_aton("127.0.0.1"))
sock.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP, socket.inet_aton("224.0.0.251") + socket.inet_aton("127.0.0.1"))
group = ("224.0.0.251", 5353)

# A query (QM): who offers _mqtt._tcp.local?
query = struct.pack("!HHHHHH", 0, 0, 1, 0, 0, 0) + name(["_mqtt", "_tcp", "local"]) + struct.pack("!HH", 12, 1)
sock.sendto(query, group)

# The announcement: id 0, QR+AA, 4 answers.
msg = bytearray(struct.pack("!HHHHHH", 0, 0x8400, 0, 4, 0, 0))
service_type = len(msg)
msg += name(["_mqtt", "_tcp", "local"])
msg += struct.pack("!HHIH", 12, 1, 4500, 0)  # PTR, rdlength patched below
rdlen_at = len(msg) - 2
instance = len(msg)
msg += b"\x08sensor-7" + pointer(service_type)
struct.pack_into("!H", msg, rdlen_at, len(msg) - instance)
# SRV sensor-7._mqtt._tcp.local
msg += pointer(instance) + struct.pack("!HHIH", 33, 0x8001, 120, 0)
rdlen_at = len(msg) - 2
start = len(msg)
host = start + 6
msg += struct.pack("!HHH", 0, 0, 1883) + b"\x08sensor-7" + pointer(service_type + 11)  # "local" of _mqtt._tcp.local
struct.pack_into("!H", msg, rdlen_at, len(msg) - start)
# TXT
txt = b"\x0dmodel=SM-1000\x0bfw=2.4.1-rc"
msg += pointer(instance) + struct.pack("!HHIH", 16, 0x8001, 4500, len(txt)) + txt
# A sensor-7.local 10.0.0.7
msg += pointer(host) + struct.pack("!HHIH", 1, 0x8001, 120, 4) + socket.inet_aton("10.0.0.7")
sock.sendto(bytes(msg), group)
sock.close()
