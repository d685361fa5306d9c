#!/usr/bin/env python3
"""Runs CMD and prints one line "wall_s user_s sys_s maxrss_kib status" on stderr's last line
(or into OUT with --out OUT): wall-clock time, CPU of CMD and every descendant it waited for
(getrusage RUSAGE_CHILDREN, less what had been counted there before CMD started: a python3
that is a wrapper script, pyenv's shim for one, leaves the CPU of its helper processes in this
process's children total), the largest peak RSS among them.

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
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.monotonic()
    status = subprocess.call(args)
    wall = time.monotonic() - start
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    user = r.ru_utime - before.ru_utime
    sys_s = r.ru_stime - before.ru_stime
    line = f"{wall:.3f} {user:.3f} {sys_s:.3f} {r.ru_maxrss} {status}\n"
    if out:
        with open(out, "w") as f:
            f.write(line)
    else:
        sys.stderr.write(line)
    return status


if __name__ == "__main__":
    sys.exit(main())
