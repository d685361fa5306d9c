#!/usr/bin/env python3
"""Hostile and broken peers for the test world: a DNS server and HTTPS servers that misbehave
on purpose, one behaviour per name (DNS) or per address (HTTPS). It is a test peer, not part of
the product; with-world.sh starts it when MTASTS_WORLD_FAULTS=1 and dnsmasq forwards the zones
dnsfault.test and httpfault.test to it.

DNS (UDP and TCP on --dns, UDP only on --dns-udp-only), keyed by the domain D = LABEL.ZONE,
answering for D, _mta-sts.D, _smtp._tls.D, mx1.D and mta-sts.D:

  timeout.dnsfault.test    never answers (UDP or TCP)
  servfail.dnsfault.test   SERVFAIL for every name
  tc.dnsfault.test         over UDP: an empty answer with the TC bit set; over TCP: all good
  tc-notcp.dnsfault.test   the same, but dnsmasq forwards it to the UDP-only address, so the
                           TCP retry is refused
  huge.dnsfault.test       _mta-sts.D carries the STS record among filler TXT records, more
                           than 4 KiB in all: too big for UDP (TC), answered over TCP
  BEHAVIOUR.httpfault.test all good, with mta-sts.D pointing at the HTTPS peer of BEHAVIOUR
  many-rst.httpfault.test  mta-sts.D has 3,500 A records (198.18.0.1 up) and 2,000 AAAA records
                           (2001:db8:5353::1 up), too many for UDP (TC), whole over TCP;
                           with-world.sh routes both ranges to lo, where nothing listens on
                           443, so every connection attempt is answered with a RST

HTTPS (port 443, one address per behaviour, certificate from the world CA):

  ok        a valid policy, promptly
  hang      accepts TCP and never says a word (no TLS handshake)
  hang-tls  completes the TLS handshake, reads the request, never answers
  drip      sends a valid response one byte a second
  reset     sends the head and part of the body, then a TCP RST
  endless   200 text/plain with no length, and a body that never ends
  badchunk  Transfer-Encoding: chunked with a chunk size that is not hexadecimal
  tls10     offers only TLS 1.0 (and serves a valid policy to whoever speaks it)
  headerflood  "HTTP/1.1 200 OK", then "a:b" header lines without end: 32 MiB, or until the
               client closes
  bigheader    a valid policy whose head carries one 1 MiB header line
  chunkline    Transfer-Encoding: chunked, then a chunk-size line that never ends ("000..."):
               32 MiB, or until the client closes

SIGUSR1 toggles "chaos": while on, every DNS name of dnsfault.test and httpfault.test answers
SERVFAIL and every HTTPS behaviour hangs. The soak script uses it to switch faults on and off.
"""
import argparse
import warnings
import asyncio
import os
import signal
import socket
import ssl
import struct
import sys

warnings.filterwarnings("ignore", category=DeprecationWarning)  # TLS 1.0 is the point
HTTP_BEHAVIOURS = ["ok", "hang", "hang-tls", "drip", "reset", "endless", "badchunk", "tls10",
                   "headerflood", "bigheader", "chunkline"]
# many-rst.httpfault.test: thousands of policy host addresses, all answering RST.
MANY_V4 = [socket.inet_aton(f"198.18.{i >> 8}.{i & 255}") for i in range(1, 3501)]
MANY_V6 = [socket.inet_pton(socket.AF_INET6, f"2001:db8:5353::{i:x}") for i in range(1, 2001)]
FLOOD_BYTES = 32 << 20  # what the flooding peers send at most (the review's attack was 21 MB)
STS_TXT = "v=STSv1; id=20240101T000000;"

T_A, T_MX, T_TXT, T_AAAA, T_OPT = 1, 15, 16, 28, 41
RCODE_NOERROR, RCODE_SERVFAIL, RCODE_NXDOMAIN, RCODE_REFUSED = 0, 2, 3, 5

chaos = False


def log(*args):
    print("fault-peer:", *args, file=sys.stderr, flush=True)


def policy_for(domain):
    return f"version: STSv1\nmode: enforce\nmx: mx1.{domain}\nmax_age: 604800\n".encode()


# ------------------------------------------------------------------------------------------
# DNS
# ------------------------------------------------------------------------------------------
def parse_query(msg):
    """(id, flags, qname lower-case without dot, qtype, qclass, question bytes, edns size)."""
    if len(msg) < 12:
        return None
    qid, flags, qd, _an, _ns, ar = struct.unpack("!HHHHHH", msg[:12])
    if qd != 1:
        return None
    pos, labels = 12, []
    while True:
        if pos >= len(msg):
            return None
        n = msg[pos]
        pos += 1
        if n == 0:
            break
        if n & 0xC0 or pos + n > len(msg):
            return None
        labels.append(msg[pos:pos + n].decode("ascii", "replace").lower())
        pos += n
    if pos + 4 > len(msg):
        return None
    qtype, qclass = struct.unpack("!HH", msg[pos:pos + 4])
    question = msg[12:pos + 4]
    pos += 4
    edns = None
    if ar >= 1 and pos + 11 <= len(msg) and msg[pos] == 0:
        rtype, size = struct.unpack("!HH", msg[pos + 1:pos + 5])
        if rtype == T_OPT:
            edns = max(512, size)
    return qid, flags, ".".join(labels), qtype, qclass, question, edns


def rr(rtype, rdata, ttl=2):
    # The owner is always the question name: a compression pointer to offset 12.
    return struct.pack("!HHHIH", 0xC00C, rtype, 1, ttl, len(rdata)) + rdata


def txt_rdata(text):
    data = text.encode()
    out = b""
    for i in range(0, len(data), 255):
        chunk = data[i:i + 255]
        out += bytes([len(chunk)]) + chunk
    return out


def name_wire(name):
    return b"".join(bytes([len(p)]) + p.encode() for p in name.split(".")) + b"\0"


class Zones:
    def __init__(self, http_addrs):
        self.http_addrs = http_addrs  # behaviour -> IPv4 address

    def split(self, qname):
        """(behaviour label, zone, domain, prefix) for a name in our zones, else None."""
        for zone in ("dnsfault.test", "httpfault.test"):
            if qname == zone or not qname.endswith("." + zone):
                continue
            rest = qname[: -len(zone) - 1].split(".")
            label = rest[-1]
            return label, zone, f"{label}.{zone}", ".".join(rest[:-1])
        return None

    def answer(self, qname, qtype, transport):
        """(rcode, [answer RRs], truncate?) or None to stay silent."""
        where = self.split(qname)
        if where is None:
            return RCODE_REFUSED, [], False
        label, zone, domain, prefix = where
        if chaos:
            return RCODE_SERVFAIL, [], False
        if zone == "dnsfault.test":
            if label == "timeout":
                return None
            if label == "servfail":
                return RCODE_SERVFAIL, [], False
            if label in ("tc", "tc-notcp") and transport == "udp":
                return RCODE_NOERROR, [], True
            if label not in ("tc", "tc-notcp", "huge"):
                return RCODE_NXDOMAIN, [], False
            policy_ip = self.http_addrs["ok"]
        elif label == "many-rst":
            policy_ip = None
        else:
            if label not in self.http_addrs:
                return RCODE_NXDOMAIN, [], False
            policy_ip = self.http_addrs[label]
        records = {}
        if prefix == "_mta-sts":
            txts = [STS_TXT]
            if label == "huge":
                # 40 filler records of ~150 bytes: about 6 KiB, several strings each.
                txts += [f"filler-{i:02d} " + "x" * 140 for i in range(40)]
            records[T_TXT] = [rr(T_TXT, txt_rdata(t)) for t in txts]
        elif prefix == "_smtp._tls":
            records[T_TXT] = [rr(T_TXT, txt_rdata(f"v=TLSRPTv1; rua=mailto:tlsrpt@{domain}"))]
        elif prefix == "":
            records[T_MX] = [rr(T_MX, struct.pack("!H", 10) + name_wire(f"mx1.{domain}"))]
        elif prefix == "mta-sts" and policy_ip is None:
            records[T_A] = [rr(T_A, a) for a in MANY_V4]
            records[T_AAAA] = [rr(T_AAAA, a) for a in MANY_V6]
        elif prefix == "mta-sts":
            records[T_A] = [rr(T_A, socket.inet_aton(policy_ip))]
        elif prefix == "mx1":
            records[T_A] = [rr(T_A, socket.inet_aton("203.0.113.25"))]
        else:
            return RCODE_NXDOMAIN, [], False
        return RCODE_NOERROR, records.get(qtype, []), False

    def respond(self, msg, transport):
        q = parse_query(msg)
        if q is None:
            return None
        qid, flags, qname, qtype, _qclass, question, edns = q
        result = self.answer(qname, qtype, transport)
        if result is None:
            return None
        rcode, answers, truncate = result
        limit = (edns or 512) if transport == "udp" else 65535
        rd = flags & 0x0100
        def build(ans, tc):
            hflags = 0x8000 | 0x0400 | rd | (0x0200 if tc else 0) | rcode  # QR AA RD TC
            return struct.pack("!HHHHHH", qid, hflags, 1, len(ans), 0, 0) + question + b"".join(ans)
        out = build(answers, truncate)
        if len(out) > limit:
            out = build([], True)
        return out


class UdpDns(asyncio.DatagramProtocol):
    def __init__(self, zones):
        self.zones = zones

    def connection_made(self, transport):
        self.transport = transport

    def datagram_received(self, data, addr):
        out = self.zones.respond(data, "udp")
        if out is not None:
            self.transport.sendto(out, addr)


async def tcp_dns(zones, reader, writer):
    try:
        while True:
            head = await reader.readexactly(2)
            msg = await reader.readexactly(struct.unpack("!H", head)[0])
            out = zones.respond(msg, "tcp")
            if out is None:
                await asyncio.sleep(3600)  # stay silent, keep the connection
                return
            writer.write(struct.pack("!H", len(out)) + out)
            await writer.drain()
    except (asyncio.IncompleteReadError, ConnectionError, OSError):
        pass
    finally:
        writer.close()


# ------------------------------------------------------------------------------------------
# HTTPS
# ------------------------------------------------------------------------------------------
def tls_context(cert, key, tls10=False):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    if tls10:
        # Debian's OpenSSL 3 refuses TLS 1.0 even server-side unless the security level is 0.
        ctx.set_ciphers("DEFAULT:@SECLEVEL=0")
        ctx.minimum_version = ssl.TLSVersion.TLSv1
        ctx.maximum_version = ssl.TLSVersion.TLSv1
    return ctx


async def read_request(reader):
    """The request head's Host header (without port), or None when the client went away."""
    try:
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 30)
    except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, asyncio.TimeoutError,
            ConnectionError, OSError, ssl.SSLError):
        return None
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"host":
            return value.strip().decode("ascii", "replace").split(":")[0]
    return ""


def domain_of(host):
    return host[len("mta-sts."):] if host.startswith("mta-sts.") else host


async def flood(writer, block):
    """Sends `block` again and again: FLOOD_BYTES in all, or until the client has gone."""
    sent = 0
    while sent < FLOOD_BYTES and not writer.is_closing():
        writer.write(block)
        await writer.drain()
        sent += len(block)
        await asyncio.sleep(0)  # yield to the other peers


async def https_client(behaviour, reader, writer):
    try:
        if behaviour == "hang" or chaos:
            await reader.read()  # until the client gives up; never a byte back
            return
        host = await read_request(reader)
        if host is None:
            return
        body = policy_for(domain_of(host))
        ok_head = (b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nConnection: close\r\n"
                   b"Content-Length: %d\r\n\r\n" % len(body))
        if behaviour in ("ok", "tls10"):
            writer.write(ok_head + body)
        elif behaviour == "hang-tls":
            await reader.read()
            return
        elif behaviour == "drip":
            for i in range(len(ok_head + body)):
                if writer.is_closing():  # the client gave up
                    return
                writer.write((ok_head + body)[i:i + 1])
                await writer.drain()
                await asyncio.sleep(1)
        elif behaviour == "reset":
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"
                         b"Content-Length: 4000\r\n\r\n" + body)
            await writer.drain()
            await asyncio.sleep(0.2)
            sock = writer.get_extra_info("socket")
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            writer.transport.abort()
            return
        elif behaviour == "endless":
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nConnection: close\r\n\r\n"
                         + body)
            line = b"x-filler: " + b"a" * 1013 + b"\n"
            # Until the client gives up. An SSL transport drops writes after the peer has gone
            # without drain() raising, so ask the transport, and yield to the other peers.
            while not writer.is_closing():
                writer.write(line * 16)
                await writer.drain()
                await asyncio.sleep(0)
        elif behaviour == "headerflood":
            writer.write(b"HTTP/1.1 200 OK\r\n")
            await flood(writer, b"a:b\r\n" * 13107)
        elif behaviour == "bigheader":
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nX-Big: " + b"a" * (1 << 20)
                         + b"\r\nConnection: close\r\nContent-Length: %d\r\n\r\n" % len(body) + body)
        elif behaviour == "chunkline":
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"
                         b"Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n")
            await flood(writer, b"0" * 65536)
        elif behaviour == "badchunk":
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"
                         b"Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
                         b"zz\r\n" + body + b"\r\n0\r\n\r\n")
        await writer.drain()
    except (ConnectionError, OSError, ssl.SSLError, asyncio.IncompleteReadError):
        pass
    finally:
        try:
            writer.close()
        except (ConnectionError, OSError, ssl.SSLError):
            pass


async def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--dns", required=True, help="address for DNS over UDP and TCP")
    parser.add_argument("--dns-udp-only", required=True, help="address for DNS over UDP only")
    parser.add_argument("--https", required=True,
                        help="comma-separated addresses, one per behaviour in this order: "
                        + ",".join(HTTP_BEHAVIOURS))
    parser.add_argument("--cert", required=True)
    parser.add_argument("--key", required=True)
    parser.add_argument("--ready-file", required=True)
    args = parser.parse_args()

    addrs = args.https.split(",")
    if len(addrs) != len(HTTP_BEHAVIOURS):
        sys.exit(f"fault-peer: --https needs {len(HTTP_BEHAVIOURS)} addresses, got {len(addrs)}")
    http_addrs = dict(zip(HTTP_BEHAVIOURS, addrs))
    zones = Zones(http_addrs)
    loop = asyncio.get_running_loop()

    def toggle():
        global chaos
        chaos = not chaos
        log("chaos", "on" if chaos else "off")

    loop.add_signal_handler(signal.SIGUSR1, toggle)
    stop = loop.create_future()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, lambda: stop.done() or stop.set_result(None))

    for addr in (args.dns, args.dns_udp_only):
        await loop.create_datagram_endpoint(lambda: UdpDns(zones), local_addr=(addr, 53))
    servers = [await asyncio.start_server(lambda r, w: tcp_dns(zones, r, w), args.dns, 53)]
    good = tls_context(args.cert, args.key)
    old = tls_context(args.cert, args.key, tls10=True)
    for behaviour, addr in http_addrs.items():
        ctx = None if behaviour == "hang" else (old if behaviour == "tls10" else good)
        servers.append(await asyncio.start_server(
            lambda r, w, b=behaviour: https_client(b, r, w), addr, 443, ssl=ctx,
            ssl_handshake_timeout=30 if ctx else None))
    with open(args.ready_file, "w") as f:
        f.write(f"{os.getpid()}\n")
    log("ready: dns", args.dns, "udp-only", args.dns_udp_only, "https", http_addrs)
    await stop
    for s in servers:
        s.close()


if __name__ == "__main__":
    asyncio.run(main())
