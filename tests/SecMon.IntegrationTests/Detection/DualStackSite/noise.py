# SSDP and mDNS chatter for record.sh (noise on the segment), standard library only.
# usage: python3 noise.py ssdp-notify|ssdp-search|mdns-query|mdns-answer ADDR COUNT INTERVAL
import socket, struct, sys, time
kind, addr, count, interval = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
def mc(group, port, ttl=4):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, ttl)
    s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, socket.inet_aton(addr)); return s
def name(n): return b''.join(bytes([len(p)]) + p.encode() for p in n.split('.')) + b'\0'
for i in range(count):
    if kind == 'ssdp-notify':
        mc('239.255.255.250', 1900).sendto(('NOTIFY * HTTP/1.1\r\nHOST: 239.255.255.250:1900\r\nCACHE-CONTROL: max-age=1800\r\n'
            f'LOCATION: http://{addr}:49152/desc.xml\r\nNT: upnp:rootdevice\r\nNTS: ssdp:alive\r\nSERVER: Linux/4.9 UPnP/1.0 tv/1.0\r\n'
            'USN: uuid:2f402f80-da50-11e1-9b23-001788000001::upnp:rootdevice\r\n\r\n').encode(), ('239.255.255.250', 1900))
    elif kind == 'ssdp-search':
        mc('239.255.255.250', 1900).sendto(b'M-SEARCH * HTTP/1.1\r\nHOST: 239.255.255.250:1900\r\nMAN: "ssdp:discover"\r\nMX: 1\r\nST: ssdp:all\r\n\r\n', ('239.255.255.250', 1900))
    elif kind == 'mdns-answer':
        s = mc('224.0.0.251', 5353, 255); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind(('', 5353))
        rdata = name('broker._mqtt._tcp.local')
        ans = name('_mqtt._tcp.local') + struct.pack('>HHIH', 12, 1, 120, len(rdata)) + rdata
        srv = name('broker._mqtt._tcp.local') + struct.pack('>HHIH', 33, 0x8001, 120, 6 + len(name('broker.local'))) + struct.pack('>HHH', 0, 0, 1883) + name('broker.local')
        a = name('broker.local') + struct.pack('>HHIH', 1, 0x8001, 120, 4) + socket.inet_aton(addr)
        s.sendto(struct.pack('>HHHHHH', 0, 0x8400, 0, 3, 0, 0) + ans + srv + a, ('224.0.0.251', 5353)); s.close()
    elif kind == 'mdns-query':
        s = mc('224.0.0.251', 5353, 255)
        s.sendto(struct.pack('>HHHHHH', 0, 0, 1, 0, 0, 0) + name('_mqtt._tcp.local') + struct.pack('>HH', 12, 1), ('224.0.0.251', 5353))
    time.sleep(interval)
