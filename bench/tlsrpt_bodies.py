#!/usr/bin/env python3
"""Writes COUNT small gzip TLS-RPT reports (RFC 8460) for example.com into DIR, report-ids
FIRST..FIRST+COUNT-1, and a curl config (DIR/curl-FIRST.cfg) that POSTs each one once to URL.

    bench/tlsrpt_bodies.py DIR URL FIRST COUNT
"""
import gzip
import json
import os
import sys
import time


def main():
    out, url, first, count = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    os.makedirs(out, exist_ok=True)
    now = int(time.time())
    day = lambda t: time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))
    lines = []
    for i in range(first, first + count):
        report = {
            "organization-name": "Bench Reporter %d" % (i % 50),
            "date-range": {"start-datetime": day(now - 86400), "end-datetime": day(now - 3600)},
            "contact-info": "tlsrpt@bench.example",
            "report-id": "bench-%d" % i,
            "policies": [{
                "policy": {"policy-type": "sts",
                           "policy-string": ["version: STSv1", "mode: enforce",
                                             "mx: mx1.example.com", "max_age: 604800"],
                           "policy-domain": "example.com"},
                "summary": {"total-successful-session-count": 100 + i % 7,
                            "total-failure-session-count": i % 3},
                "failure-details": [{"result-type": "certificate-expired",
                                     "receiving-mx-hostname": "mx1.example.com",
                                     "failed-session-count": i % 3}] if i % 3 else [],
            }],
        }
        path = os.path.join(out, "%d.json.gz" % i)
        with open(path, "wb") as f:
            f.write(gzip.compress(json.dumps(report).encode(), mtime=0))
        lines.append('url = "%s"\nheader = "Content-Type: application/tlsrpt+gzip"\n'
                     'data-binary = "@%s"\noutput = "/dev/null"\nwrite-out = "%%{http_code}\\n"\n'
                     % (url, path))
    with open(os.path.join(out, "curl-%d.cfg" % first), "w") as f:
        f.write("next\n".join(lines))


if __name__ == "__main__":
    main()
