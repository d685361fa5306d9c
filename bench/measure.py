#!/usr/bin/env python3
"""Runs CMD and prints one line "wall_s user_s sys_s maxrss_kib status" on stderr's last line
(or into OUT with --out OUT): wall-clock time, CPU of CMD and every descendant it waited for
(getrusage RUSAGE_CHILDREN), the largest peak RSS among them.

  bench/measure.py [--out FILE] CMD [ARGS...]
"""
import resource
import subprocess
import sys
import time


def main() -> int:
    args = sys.argv[1:]
    out = None
    if args[:1] == ["--out"]:
        out, args = args[1], args[2:]
    start = time.monotonic()
    status = subprocess.call(args)
    wall = time.monotonic() - start
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    line = f"{wall:.3f} {r.ru_utime:.3f} {r.ru_stime:.3f} {r.ru_maxrss} {status}\n"
    if out:
        with open(out, "w") as f:
            f.write(line)
    else:
        sys.stderr.write(line)
    return status


if __name__ == "__main__":
    sys.exit(main())
