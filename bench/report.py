#!/usr/bin/env python3
"""Turns the results of bench/sweep.sh into BENCHMARKS.md (on stdout).

  bench/report.py RESULTS_DIR N SAMPLE
"""
import datetime
import json
import os
import platform
import subprocess
import sys


def read_m(path):
    """wall user sys maxrss_kib status, as measure.py wrote them."""
    wall, user, sys_, rss, status = open(path).read().split()
    return {"wall": float(wall), "cpu": float(user) + float(sys_), "user": float(user),
            "sys": float(sys_), "rss_kib": int(rss), "status": int(status)}


def cpu_model():
    for line in open("/proc/cpuinfo"):
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown CPU"


def debian():
    try:
        return "Debian " + open("/etc/debian_version").read().strip()
    except OSError:
        return "unknown distribution"


# What stands behind each target when it is missed (see the profile notes in NOTES.md).
WHY = {
    "cpu": """**CPU per check.** The policy fetch is on OpenSSL directly with one `SSL_CTX`
for the process (`collectors/net/https_fetcher.cc`); what the gap holds besides the handshake:
the DNS lookups of a check, each on a c-ares channel of its own (its own sockets), a thread
launched per check for the MX phase, and the hand-offs between the check threads and the
resolver's event loop; system CPU is sockets, polls and thread switches. One channel per check
and no thread per check are the next steps.""",
    "stsresolver": """**STSResolver ratio.** postfix-mta-sts-resolver's library does less per
domain (the `_mta-sts` TXT lookup and the policy fetch: no MX, TLS-RPT or TLSA lookup, no MX
matching, no SSRF guard), in one asyncio process without thread hand-offs. Both pay one full TLS
handshake per domain, most of the work, so the ratio moves with our per-check overhead (above).""",
    "metrics100k": """**`/metrics` at 100,000.** Measured under load: once the first round ends,
the bench config (`min_interval: 1m`) re-checks the 90,000 policy-less names every minute (about
1,500 checks a second), so results keep arriving and every scrape renders the page afresh.
Rendering at most once per interval while a round runs is the next step.""",
    "cores": """**2 cores vs 1.** The servers (nginx, Knot DNS) run on both cores in both runs and
each sweep of the sample lasts about a second, so this is the noisiest figure of the table; not
profiled yet.""",
    "blackbox": """**blackbox_exporter ratio.** Only the exporter process's own CPU is counted for
it (curl, which drives it, is not), while ours includes starting the process, loading the CA
file and writing every report as JSON; and a blackbox "check" is four independent probes that
parse nothing (no policy grammar, no MX matching, no SSRF guard). Both sides pay one full TLS
handshake per domain, which is most of the work, so the ratio cannot go far above 1 until our
per-check overhead (above) shrinks.""",
    "plain": """**Plain `/metrics`.** The page is kept only gzip-compressed (0.7 MB instead of 12 MB
at 10,000 domains, to stay in the memory budget), so a scrape without `Accept-Encoding: gzip`
inflates it and sends 12 MB through loopback. Prometheus always asks for gzip, which is served
from the cache in about a millisecond.""",
    "rss_first": """**Memory at 10,000 domains, after the first round.** Over the budget before
any scrape. Not the bench world's doing: on 2026-12-02 the same release binary, run in turn on
the dnsmasq world and on the Knot world (10,000 domains, the daemon as here), peaked at 84.8 and
85.0 MiB, then 85.7 and 86.0 MiB; the run that met this target (60.3 MiB) was of an older revision. Not
investigated further with the bench change.""",
    "rss": """**Memory at 10,000 domains, after the scrapes.** The first scrape builds the immutable snapshot that readers share, a copy of every
domain's state besides the reports (the shared reports are not copied), plus one chunk of series and
the compressed page, and that pushes the peak over 64 MiB; a plain scrape adds the inflated 12 MB
text while it is sent. Sharing the unchanged per-domain state between snapshots (instead of
copying it) is the next step.""",
    "rss100k": """**Memory at 100,000 domains.** Before any scrape the daemon holds the reports,
the scheduler's entries and the configuration. While checks are still publishing, every scrape
renders afresh and builds a new snapshot (a copy of every domain's state) while the previous
one may still be held by a reader or the state writer: two or three copies of 100,000 domains'
state at the peak. Sharing unchanged per-domain state between snapshots, and rendering at most
once per interval during a round, are the next steps.""",
    "partial100k": """**100,000 domains: first round unfinished.** The round was not done within
the wait limit (`BENCH_BIG_WAIT`): the figures are for the domains checked by then (the others
have only their schedule and configuration in memory).""",
}


def main():
    r, n, sample = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    facts = {}
    for line in open(os.path.join(r, "facts")):
        k, _, v = line.strip().partition("=")
        facts[k] = v
    f = lambda k: float(facts[k])
    m = {name[:-2]: read_m(os.path.join(r, name)) for name in os.listdir(r) if name.endswith(".m")}

    mib = lambda kib: kib / 1024.0
    rows = []  # (what, value, target, verdict)

    missed = []

    def row(what, value, target="", ok=None, key=None):
        rows.append((what, value, target, "" if ok is None else ("met" if ok else "**missed**")))
        if ok is False and key:
            missed.append(key)

    gen_s = f("generation_ms") / 1000
    row(f"scale world: {n} domains and certificates generated", f"{gen_s:.1f} s", "< 120 s",
        gen_s < 120)
    if "world_ready_ms" in facts:
        row("  world answering (Knot DNS and nginx, for the last domain), from the start",
            f"{f('world_ready_ms') / 1000:.1f} s")
    if "world_big_ready_ms" in facts:
        wb = int(facts["world_big"])
        row(f"scale world alone: {wb:,} domains and certificates generated; answering",
            f"{f('world_big_generation_ms') / 1000:.1f} s; {f('world_big_ready_ms') / 1000:.1f} s")

    hs = f("s_time_handshakes")
    st = m["s_time"]
    hs_per_cpu = hs / st["cpu"]
    row("`openssl s_time -new`: full handshakes per CPU second (client)",
        f"{hs_per_cpu:.0f} ({hs:.0f} in {st['wall']:.1f} s wall, {st['cpu']:.2f} s CPU)")
    handshake_cpu = 1 / hs_per_cpu

    ca = m["check_all"]
    per_check = ca["cpu"] / n
    ratio = per_check / handshake_cpu
    row(f"`check --json`, all {n}: wall", f"{ca['wall']:.1f} s ({n / ca['wall']:.0f} checks/s)")
    row("  healthy results (enforced, no issue)", f"{facts['check_all_healthy']} of {n}",
        f"{n} of {n}", int(facts["check_all_healthy"]) == n)
    row("  CPU per check", f"{per_check * 1000:.2f} ms ({ca['user']:.1f} s user + {ca['sys']:.1f} s sys)")
    row("  CPU per check / CPU per handshake (user + sys)", f"{ratio:.2f}×")
    user_ratio = (ca["user"] / n) / (st["user"] / hs)
    row("  user CPU per check / user CPU per handshake", f"{user_ratio:.2f}×", "≤ 1.25×",
        user_ratio <= 1.25, "cpu")
    sys_ms = ca["sys"] / n * 1000
    row("  system CPU per check", f"{sys_ms:.2f} ms", "≤ 0.3 ms", sys_ms <= 0.3, "cpu")
    row("  peak RSS", f"{mib(ca['rss_kib']):.1f} MiB")

    dn_cpu = f("daemon_n_cpu_s")
    row(f"daemon, first round over {n}: start to ready",
        f"{f('daemon_n_ready_s'):.1f} s ({n / f('daemon_n_ready_s'):.0f} checks/s), "
        f"{dn_cpu / n * 1000:.2f} ms CPU per check (incl. start-up)")
    row(f"  domains enforced in /metrics", f"{facts.get('daemon_n_enforced', '?')} of {n}")
    hwm = mib(int(facts["daemon_n_hwm_kib"]))
    row(f"  peak RSS, {n} watched, after the first round", f"{hwm:.1f} MiB "
        f"(now {mib(int(facts['daemon_n_rss_kib'])):.1f} MiB, {facts['daemon_n_threads']} threads)",
        "≤ 48 MiB" if n == 10000 else "", hwm <= 48 if n == 10000 else None, "rss_first")
    gz = f("daemon_n_scrape_gzip_median_s")
    row(f"  `/metrics` with {n} watched, `Accept-Encoding: gzip` (as Prometheus): median of 10",
        f"{gz * 1000:.1f} ms (max {f('daemon_n_scrape_gzip_max_s') * 1000:.1f} ms, the first "
        "one renders)", "< 50 ms" if n == 10000 else "", gz < 0.05 if n == 10000 else None)
    ghwm = mib(int(facts["daemon_n_hwm_after_gzip_scrapes_kib"]))
    row("  peak RSS after the gzip scrapes", f"{ghwm:.1f} MiB", "≤ 48 MiB" if n == 10000 else "",
        ghwm <= 48 if n == 10000 else None, "rss")
    plain = f("daemon_n_scrape_median_s")
    row(f"  `/metrics` plain (no Accept-Encoding): median of 10",
        f"{plain * 1000:.1f} ms (max {f('daemon_n_scrape_max_s') * 1000:.1f} ms)",
        "< 50 ms" if n == 10000 else "", plain < 0.05 if n == 10000 else None, "plain")
    enc = facts.get("daemon_n_metrics_gzip_encoding") or "none"
    row(f"  `/metrics` size", f"{int(facts['daemon_n_metrics_bytes']) / 1e6:.2f} MB plain "
        f"({facts['daemon_n_metrics_lines']} lines), "
        f"{int(facts['daemon_n_metrics_gzip_bytes']) / 1e6:.2f} MB with Accept-Encoding: gzip "
        f"(Content-Encoding: {enc})")
    row("  peak RSS after the plain scrapes too",
        f"{mib(int(facts['daemon_n_hwm_after_scrapes_kib'])):.1f} MiB")

    big = int(facts["big"])
    hk = mib(int(facts["daemon_100k_hwm_kib"]))
    if facts.get("daemon_100k_ready") == "1":
        first = f"first round done in {f('daemon_100k_ready_s'):.1f} s"
    else:
        first = (f"first round not done after {f('daemon_100k_ready_s'):.0f} s: "
                 f"measured with {int(facts['daemon_100k_checked']):,} of {big:,} domains checked")
    row(f"daemon, {big:,} watched ({n} healthy + {big - n} NXDOMAIN)", first, "complete",
        facts.get("daemon_100k_ready") == "1")
    row("  peak RSS before any scrape", f"{hk:.1f} MiB "
        f"(now {mib(int(facts['daemon_100k_rss_kib'])):.1f} MiB)",
        "≤ 300 MiB" if big == 100000 else "", hk <= 300 if big == 100000 else None, "rss100k")
    # What one more watched domain costs: the peak RSS at `big` less the peak at n, over the
    # domains added (policy-less ones, whose reports are smaller), and the peak at n over n
    # (healthy ones, with the process's fixed part: libraries, threads, the CA store).
    extra_b = (int(facts["daemon_100k_hwm_kib"]) - int(facts["daemon_n_hwm_kib"])) * 1024 / max(big - n, 1)
    row("  one watched domain, in bytes (peak RSS)",
        f"{extra_b:,.0f} B per domain without a policy (RSS at {big:,} less RSS at {n}, over the "
        f"{big - n:,} added); at most {int(facts['daemon_n_hwm_kib']) * 1024 / n:,.0f} B per healthy "
        f"domain (RSS at {n} over {n}, the process's fixed part included)")
    row("  `/metrics` median of 10 scrapes (gzip; plain)",
        f"{f('daemon_100k_scrape_gzip_median_s') * 1000:.0f} ms; "
        f"{f('daemon_100k_scrape_median_s') * 1000:.0f} ms, "
        f"{int(facts['daemon_100k_metrics_bytes']) / 1e6:.1f} MB plain, "
        f"{int(facts['daemon_100k_metrics_gzip_bytes']) / 1e6:.1f} MB gzip",
        "≤ 250 ms (gzip)" if big == 100000 else "",
        f("daemon_100k_scrape_gzip_median_s") <= 0.25 if big == 100000 else None, "metrics100k")
    hk2 = mib(int(facts["daemon_100k_hwm_after_scrapes_kib"]))
    row("  peak RSS after the scrapes", f"{hk2:.1f} MiB", "≤ 300 MiB" if big == 100000 else "",
        hk2 <= 300 if big == 100000 else None, "rss100k")

    cs = m["check_sample"]
    ours_rate = sample / cs["cpu"]
    row(f"peers, same {sample}-domain sample: ours (`check --json`)",
        f"{ours_rate:.0f} checks per CPU s, {cs['wall']:.2f} s wall "
        f"({facts['check_sample_healthy']} of {sample} healthy)")
    bb_cpu = f("blackbox_cpu_s")
    bb_rate = sample / bb_cpu
    bbw = m["blackbox_driver"]["wall"]
    row("  prometheus-blackbox-exporter (1 HTTPS + 3 DNS probes a domain)",
        f"{bb_rate:.0f} checks per CPU s, {bbw:.2f} s wall "
        f"({facts['blackbox_healthy']} of {sample} with all 4 probes up)")
    row("  ours / blackbox_exporter, checks per CPU second", f"{ours_rate / bb_rate:.1f}×", "≥ 2×",
        ours_rate / bb_rate >= 2, "blackbox")
    row("  wall time, blackbox_exporter / ours", f"{bbw / cs['wall']:.1f}×")
    q = m["query"]
    q_rate = sample / q["cpu"]
    row("  mta-sts-query (one process a domain, 8 in parallel)",
        f"{q_rate:.1f} checks per CPU s, {q['wall']:.1f} s wall "
        f"({facts['query_healthy']} of {sample} policies fetched)")
    row("  ours / mta-sts-query, checks per CPU second", f"{ours_rate / q_rate:.0f}×", "≥ 10×",
        ours_rate / q_rate >= 10)
    row("  wall time, mta-sts-query / ours", f"{q['wall'] / cs['wall']:.0f}×")
    try:
        sr = json.load(open(os.path.join(r, "stsresolver.json")))
    except (OSError, ValueError):
        sr = None
    if sr:
        sr_cpu = sr["user_s"] + sr["sys_s"]
        sr_rate = sample / sr_cpu
        row(f"  postfix-mta-sts-resolver's `STSResolver` library (one asyncio process, "
            f"{sr['in_flight']} in flight)",
            f"{sr_rate:.0f} checks per CPU s ({sr['user_s']:.2f} s user + {sr['sys_s']:.2f} s sys, "
            f"start-up included; the resolutions alone {sr['resolve_cpu_s']:.2f} s), "
            f"{sr['wall_s']:.2f} s wall ({sr['valid']} of {sample} resolved to a policy, "
            f"{sr['enforce']} enforce; DNS {', '.join(sr['dns_servers']) or '?'})")
        row("  ours / STSResolver, checks per CPU second", f"{ours_rate / sr_rate:.1f}×", "≥ 2×",
            ours_rate / sr_rate >= 2, "stsresolver")
        row("  wall time, STSResolver / ours", f"{sr['wall_s'] / cs['wall']:.1f}×")
    else:
        row("  postfix-mta-sts-resolver's `STSResolver` library", "failed: see stsresolver.err")
    if "cores1_1" in m:
        med = lambda xs: sorted(xs)[len(xs) // 2]
        runs = [k[len("cores1_"):] for k in m if k.startswith("cores1_")]
        w2 = med([m["cores2_" + i]["wall"] for i in runs])
        w1 = med([m["cores1_" + i]["wall"] for i in runs])
        healthy1 = min(int(facts.get(f"cores1_{i}_healthy", 0)) for i in runs)
        healthy2 = min(int(facts.get(f"cores2_{i}_healthy", 0)) for i in runs)
        row(f"checks per second with 2 cores vs 1 core (`check --json` over the {sample}-domain "
            f"sample, median of {len(runs)} each; `taskset -c 0` for 1 core, the servers on both)",
            f"{w1 / w2:.2f}× ({sample / w2:.0f} vs {sample / w1:.0f} checks/s; "
            f"at least {healthy2} and {healthy1} of {sample} healthy)", "≥ 1.8×", w1 / w2 >= 1.8,
            "cores")

    load_before = open(os.path.join(r, "load-before")).read().strip()
    load_after = open(os.path.join(r, "load-after")).read().strip()
    kernel = platform.release()
    cores = os.cpu_count()
    # When the run ended (the report may be written again later from the same results).
    today = datetime.datetime.fromtimestamp(os.path.getmtime(os.path.join(r, "load-after")),
                                            datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    # The revision measured, written by run.sh when it built (the report may be written later).
    try:
        rev = open(os.path.join(r, "revision")).read().strip()
    except OSError:
        rev = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True,
                             text=True).stdout.strip() or "unknown"

    out = []
    out.append("# Benchmarks\n")
    out.append("Produced by `bench/run.sh " + f"{n} {sample}" + "` (as root), which wrote this file. "
               "All figures come from one run on one machine, so the ratios cancel most of its "
               "speed and noise.\n")
    out.append(f"**Machine:** {cpu_model()}, {cores} cores, Linux {kernel}, {debian()}; "
               f"{today}; revision {rev}.  ")
    out.append(f"Load before: `{load_before}`; after: `{load_after}`.\n")
    out.append("| measure | figure | target | |")
    out.append("|---|---|---|---|")
    for what, value, target, verdict in rows:
        out.append(f"| {what} | {value} | {target} | {verdict} |")
    out.append("")
    if facts.get("daemon_100k_ready") != "1":
        missed.append("partial100k")
    if missed:
        out.append("## Targets missed, and why\n")
        for key in dict.fromkeys(missed):
            out.append("- " + WHY[key].strip().replace("\n", " ") + "\n")
    out.append(open(os.path.join(os.path.dirname(__file__), "NOTES.md")).read()
               .replace("@N@", str(n)).replace("@SAMPLE@", str(sample)))
    # The TLS-RPT section comes from its own run (bench/tlsrpt.sh): kept as it last wrote it.
    tlsrpt = os.path.join(os.path.dirname(__file__), "TLSRPT.md")
    if os.path.exists(tlsrpt):
        out.append(open(tlsrpt).read())
    print("\n".join(out))


if __name__ == "__main__":
    main()
