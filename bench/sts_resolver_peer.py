#!/usr/bin/python3
"""postfix-mta-sts-resolver's own resolver library as a peer: one asyncio process resolving
every domain of DOMAIN_FILE with `postfix_mta_sts_resolver.resolver.STSResolver` (Debian 12:
1.1.2), IN_FLIGHT resolutions at a time (default 100). Prints one JSON object: how many
domains resolved to a valid policy (and how many of those enforce), the other outcomes, the
DNS servers the library's resolver uses, and the process's own CPU (getrusage RUSAGE_SELF,
interpreter start and imports included) and wall time, plus the CPU and wall of the
resolutions alone.

  /usr/bin/python3 bench/sts_resolver_peer.py DOMAIN_FILE [IN_FLIGHT]

Runs with Debian's python3 (the library and aiodns/aiohttp are Debian packages). It has no
setting for the DNS server or the CA: aiodns (pycares) reads /etc/resolv.conf, which
bench/scale-world.sh bind-mounts inside its namespace to point at the world's DNS, and the
policy fetch uses aiohttp's default SSL context, which honours SSL_CERT_FILE (the world's CA).
Each resolution is a TXT lookup of _mta-sts.<domain> and, for a valid record, an HTTPS fetch of
the policy (a new aiohttp session each time, as the library does) and its parsing; it looks at
neither the MX records nor TLS-RPT.
"""
import resource
import time

WALL0 = time.monotonic()

# pylint: disable=wrong-import-position  # the clock above starts before the imports
import asyncio
import json
import sys

from postfix_mta_sts_resolver.resolver import STSFetchResult, STSResolver

TIMEOUT_S = 30  # as our --check.timeout=30s in the same bench


def cpu_s(usage):
    return usage.ru_utime + usage.ru_stime


async def resolve_all(domains, in_flight):
    resolver = STSResolver(loop=asyncio.get_running_loop(), timeout=TIMEOUT_S)
    # Read-only look at which servers pycares took from /etc/resolv.conf, for the report.
    servers = list(getattr(resolver._resolver, "nameservers", None) or [])  # pylint: disable=protected-access
    gate = asyncio.Semaphore(in_flight)
    outcomes = {"valid": 0, "enforce": 0, "none": 0, "fetch_error": 0, "other": 0}

    async def one(domain):
        async with gate:
            try:
                status, policy = await resolver.resolve(domain)
            except Exception:  # pylint: disable=broad-except  # counted, never fatal
                outcomes["other"] += 1
                return
        if status is STSFetchResult.VALID:
            outcomes["valid"] += 1
            if policy[1].get("mode") == "enforce":
                outcomes["enforce"] += 1
        elif status is STSFetchResult.NONE:
            outcomes["none"] += 1
        elif status is STSFetchResult.FETCH_ERROR:
            outcomes["fetch_error"] += 1
        else:
            outcomes["other"] += 1

    await asyncio.gather(*(one(d) for d in domains))
    return servers, outcomes


def main():
    domains = [line.strip() for line in open(sys.argv[1]) if line.strip()]
    in_flight = int(sys.argv[2]) if len(sys.argv) > 2 else 100
    before = resource.getrusage(resource.RUSAGE_SELF)
    t0 = time.monotonic()
    servers, outcomes = asyncio.run(resolve_all(domains, in_flight))
    t1 = time.monotonic()
    after = resource.getrusage(resource.RUSAGE_SELF)
    print(json.dumps({
        "domains": len(domains),
        "in_flight": in_flight,
        "dns_servers": servers,
        **outcomes,
        "wall_s": round(t1 - WALL0, 3),
        "user_s": after.ru_utime,
        "sys_s": after.ru_stime,
        "resolve_wall_s": round(t1 - t0, 3),
        "resolve_cpu_s": round(cpu_s(after) - cpu_s(before), 3),
        "maxrss_kib": after.ru_maxrss,
    }))
    return 0 if outcomes["valid"] else 1


if __name__ == "__main__":
    sys.exit(main())
