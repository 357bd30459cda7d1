#!/usr/bin/env python3
"""Parsing and tables for hits.sh and sched.sh (standard library only).

  benchlib.py wrk FILE TARGET ROUND           one wrk --latency output -> a JSON line
  benchlib.py hits-table RESULTS.jsonl       medians per target, smproxy/nginx ratios
  benchlib.py sizes-table RESULTS.jsonl      medians per (threads, cache size)
  benchlib.py sched-storm FAKELOG LOADGEN RATE        phase (a) -> JSON
  benchlib.py sched-burst FAKELOG LOADGEN ID LATENCY  phase (b) -> JSON
  benchlib.py sched-quiet FAKELOG NOISY QUIET         phase (c) -> JSON
  benchlib.py sched-table RESULTS.json LATENCY        the final table
"""
import json
import re
import statistics
import sys


def to_ms(v):
    m = re.fullmatch(r"([0-9.]+)(us|ms|s|m)", v)
    if not m:
        raise ValueError(v)
    x = float(m.group(1))
    return {"us": x / 1000, "ms": x, "s": x * 1000, "m": x * 60000}[m.group(2)]


def parse_wrk(path, target, rnd):
    text = open(path).read()
    out = {"target": target, "round": int(rnd)}
    m = re.search(r"Requests/sec:\s+([0-9.]+)", text)
    out["rps"] = float(m.group(1)) if m else 0.0
    for pct in ("50", "99"):
        m = re.search(r"^\s+%s%%\s+(\S+)" % pct, text, re.M)
        out["p%s_ms" % pct] = to_ms(m.group(1)) if m else None
    m = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", text)
    out["non2xx"] = int(m.group(1)) if m else 0
    m = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", text)
    out["socket_errors"] = sum(int(x) for x in m.groups()) if m else 0
    m = re.search(r"(\d+) requests in", text)
    out["requests"] = int(m.group(1)) if m else 0
    print(json.dumps(out))


def load_jsonl(path):
    return [json.loads(l) for l in open(path) if l.strip()]


def med(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else float("nan")


def summarize(rows, key):
    groups = {}
    for r in rows:
        groups.setdefault(r[key], []).append(r)
    res = {}
    for k, rs in groups.items():
        res[k] = {
            "n": len(rs),
            "rps": med([r["rps"] for r in rs]),
            "rps_all": [round(r["rps"]) for r in rs],
            "p50": med([r["p50_ms"] for r in rs]),
            "p99": med([r["p99_ms"] for r in rs]),
            "errors": sum(r["non2xx"] + r["socket_errors"] for r in rs),
        }
    return res


def hits_table(path):
    rows = load_jsonl(path)
    s = summarize(rows, "target")
    print("| target | rounds | req/s (median) | req/s (each round) | p50 ms | p99 ms | errors |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for k in sorted(s):
        v = s[k]
        print("| %s | %d | %.0f | %s | %.3f | %.3f | %d |" % (
            k, v["n"], v["rps"], " ".join(str(x) for x in v["rps_all"]),
            v["p50"], v["p99"], v["errors"]))
    sp = {k: v for k, v in s.items() if k.startswith("smproxy")}
    ng = {k: v for k, v in s.items() if k.startswith("nginx")}
    if not sp or not ng:
        return
    best_ng = max(ng, key=lambda k: ng[k]["rps"])
    # Per-round ratios (same round = same machine state), then their median.
    by_round = {}
    for r in rows:
        by_round.setdefault(r["round"], {})[r["target"]] = r
    print()
    print("best nginx (median req/s): %s" % best_ng)
    print()
    print("| smproxy target | req/s ratio vs %s (median of per-round ratios) | p99 ms | p99 <= 2 ms | req/s >= 1.0x |" % best_ng)
    print("| --- | --- | --- | --- | --- |")
    for k in sorted(sp):
        ratios = [rr[k]["rps"] / rr[best_ng]["rps"] for rr in by_round.values()
                  if k in rr and best_ng in rr and rr[best_ng]["rps"] > 0]
        ratio = med(ratios)
        print("| %s | %.2fx (%s) | %.3f | %s | %s |" % (
            k, ratio, " ".join("%.2f" % x for x in ratios), sp[k]["p99"],
            "yes" if sp[k]["p99"] <= 2.0 else "NO",
            "yes" if ratio >= 1.0 else "NO"))


def sizes_table(path):
    rows = load_jsonl(path)
    s = summarize(rows, "target")
    print("| smproxy | cached secrets | rounds | req/s (median) | req/s (each round) | p50 ms | p99 ms | errors |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")

    def order(k):
        t, n = k.split("/")
        return (t, int(n))
    for k in sorted(s, key=order):
        v = s[k]
        t, n = k.split("/")
        print("| %s | %s | %d | %.0f | %s | %.3f | %.3f | %d |" % (
            t, n, v["n"], v["rps"], " ".join(str(x) for x in v["rps_all"]),
            v["p50"], v["p99"], v["errors"]))
    by_t = {}
    for k in s:
        t, n = k.split("/")
        by_t.setdefault(t, {})[int(n)] = s[k]
    print()
    for t, d in sorted(by_t.items()):
        if len(d) < 2:
            continue
        lo, hi = min(d), max(d)
        print("%s: %d -> %d cached: req/s x%.2f, p50 x%.2f, p99 x%.2f" % (
            t, lo, hi, d[hi]["rps"] / d[lo]["rps"], d[hi]["p50"] / d[lo]["p50"],
            d[hi]["p99"] / d[lo]["p99"]))


# ---- scheduler benchmark ----

def sm_calls(fakelog, path_filter=None):
    d = json.load(open(fakelog))
    reqs = [r for r in d.get("requests", []) if r.get("kind") == "sm"]
    if path_filter:
        reqs = [r for r in reqs if path_filter(r["path"])]
    return d, sorted(r["t_us"] for r in reqs), reqs


def window_fill(times_us, rate, window_us=1000000):
    """Mean fill of the rolling windows [t, t+1 s) for t from the first call
    to the last call minus 1 s: the share of the quota the calls used while
    work was waiting.  100 % = every such window held `rate` calls."""
    if len(times_us) < 2:
        return None
    a, b = times_us[0], times_us[-1] - window_us
    if b <= a:
        return None
    total = 0
    for c in times_us:
        # call c lies in [t, t+w) for t in (c-w, c]; overlap with [a, b]
        lo, hi = max(a, c - window_us), min(b, c)
        if hi > lo:
            total += hi - lo
    return total / ((b - a) * rate)


def over_limit(times_us, rate, window_us=1000000):
    """Calls that found `rate` others in the rolling window before them
    (the fake's own rule: window (t - 1 s, t]), and the worst such
    excess with the time gaps around it."""
    over = [i for i in range(rate, len(times_us))
            if times_us[i] - times_us[i - rate] < window_us]
    return over


def storm(fakelog, loadgen, rate):
    rate = int(rate)
    d, ts, reqs = sm_calls(fakelog)
    lg = json.load(open(loadgen))
    span_s = (ts[-1] - ts[0]) / 1e6 if len(ts) > 1 else 0
    over = over_limit(ts, rate)
    out = {
        "upstream_calls": len(ts),
        "upstream_429": d.get("count_429", 0),
        "max_in_window": d.get("max_in_window", 0),
        "calls_over_limit": len(over),
        "first_over_limit_s": round((ts[over[0]] - ts[0]) / 1e6, 3) if over else None,
        "busy_s": round(span_s, 3),
        "utilisation_fill": window_fill(ts, rate),
        "utilisation": ((len(ts) - 1) / span_s / rate) if span_s > 0 else None,
        "client_ok": lg["ok"],
        "client_errors": lg["errors"],
        "client_status": lg["status"],
        "total_s": lg["elapsed_ms"] / 1000.0,
        "lat_p50_ms": lg["lat_ms"]["p50"],
        "lat_p99_ms": lg["lat_ms"]["p99"],
    }
    print(json.dumps(out))


def burst(fakelog, loadgen, sid, latency_ms, cached=None):
    d, ts, reqs = sm_calls(fakelog, lambda p: p.endswith("/" + sid))
    lg = json.load(open(loadgen))
    ref = json.load(open(cached)) if cached else None
    out = {
        "upstream_calls": len(ts),
        "upstream_429": d.get("count_429", 0),
        "waiters": lg["count"],
        "client_ok": lg["ok"],
        "client_errors": lg["errors"],
        "cache": lg["cache"],
        "lat_p50_ms": lg["lat_ms"]["p50"],
        "lat_p99_ms": lg["lat_ms"]["p99"],
        "lat_max_ms": lg["lat_ms"]["max"],
        "done_p50_ms": lg.get("done_after_ms", {}).get("p50"),
        "done_p99_ms": lg.get("done_after_ms", {}).get("p99"),
        "done_max_ms": lg.get("done_after_ms", {}).get("max"),
        "cached_done_max_ms": ref.get("done_after_ms", {}).get("max") if ref else None,
        "cached_min_ms": ref["lat_ms"]["min"] if ref else None,
        "upstream_latency_ms": float(latency_ms),
        "cached_p50_ms": ref["lat_ms"]["p50"] if ref else None,
        "cached_p99_ms": ref["lat_ms"]["p99"] if ref else None,
    }
    print(json.dumps(out))


def quiet(fakelog, noisy, quietf):
    d, ts, reqs = sm_calls(fakelog)
    n = json.load(open(noisy))
    q = json.load(open(quietf))
    out = {
        "quiet_done_s": q["elapsed_ms"] / 1000.0 if q["ok"] == q["count"] else None,
        "quiet_elapsed_s": q["elapsed_ms"] / 1000.0,
        "quiet_ok": q["ok"],
        "quiet_count": q["count"],
        "quiet_status": q["status"],
        "quiet_p50_ms": q["lat_ms"]["p50"],
        "quiet_max_ms": q["lat_ms"]["max"],
        "quiet_started_after_noisy_s": (q["start_wall_ms"] - n["start_wall_ms"]) / 1000.0,
        "noisy_ok": n["ok"],
        "noisy_errors": n["errors"],
        "noisy_total_s": n["elapsed_ms"] / 1000.0,
        "upstream_calls": len(ts),
        "upstream_429": d.get("count_429", 0),
        "max_in_window": d.get("max_in_window", 0),
        "calls_over_limit": len(over_limit(ts, 20)),
    }
    print(json.dumps(out))


def fmt_pct(x):
    return "n/a" if x is None else "%.1f %%" % (100 * x)


def sched_table(path, latency_ms):
    r = json.load(open(path))
    lat = float(latency_ms)
    sp, ng = r["smproxy"], r["nginx"]
    n_storm = max(s.get("storm", {}).get("client_ok", 0) + s.get("storm", {}).get("client_errors", 0)
                  for s in (sp, ng))

    def g(sysd, ph, k):
        return sysd.get(ph, {}).get(k)
    rows = [
        ("(a) quota utilisation: mean calls per rolling 1 s window in the busy period / 20",
         lambda s: fmt_pct(g(s, "storm", "utilisation_fill")), ">= 98 %"),
        ("(a) (calls - 1) / busy period / 20 (a burst pattern gains one window)",
         lambda s: fmt_pct(g(s, "storm", "utilisation")), "(info)"),
        ("(a) upstream calls / busy period s",
         lambda s: "%s / %s" % (g(s, "storm", "upstream_calls"), g(s, "storm", "busy_s")),
         "%s / ~%.0f" % (n_storm, n_storm / 20.0)),
        ("(a) most upstream calls in any rolling 1 s",
         lambda s: str(g(s, "storm", "max_in_window")), "<= 20"),
        ("(a) calls that found 20 others in the rolling 1 s before them",
         lambda s: str(g(s, "storm", "calls_over_limit")), "0"),
        ("(a) upstream 429s", lambda s: str(g(s, "storm", "upstream_429")), "0"),
        ("(a) client errors", lambda s: "%s %s" % (g(s, "storm", "client_errors"),
                                                   json.dumps(g(s, "storm", "client_status"))), "0"),
        ("(a) total time s", lambda s: "%.2f" % g(s, "storm", "total_s"),
         "~%.0f (%d at 20/s)" % (n_storm / 20.0, n_storm)),
        ("(b) upstream calls for the one secret",
         lambda s: str(g(s, "burst", "upstream_calls")), "1"),
        ("(b) waiter latency p50 / p99 / max ms (per request, libcurl)",
         lambda s: "%.1f / %.1f / %.1f" % (g(s, "burst", "lat_p50_ms"), g(s, "burst", "lat_p99_ms"),
                                           g(s, "burst", "lat_max_ms")),
         "p99 <= %.0f (upstream %.0f + 5)" % (lat + 5, lat)),
        ("(b) answered after p50 / p99 / max ms (from the burst's start)",
         lambda s: "%.1f / %.1f / %.1f" % (g(s, "burst", "done_p50_ms"), g(s, "burst", "done_p99_ms"),
                                           g(s, "burst", "done_max_ms")),
         "(info)"),
        ("(b) client errors", lambda s: str(g(s, "burst", "client_errors")), "0"),
        ("(b) same burst once cached: latency min / p50 / p99 ms; all answered after ms",
         lambda s: "%.1f / %.1f / %.1f; %.1f" % (
             g(s, "burst", "cached_min_ms"), g(s, "burst", "cached_p50_ms"),
             g(s, "burst", "cached_p99_ms"), g(s, "burst", "cached_done_max_ms")),
         "(info)"),
        ("(c) quiet client's 10 misses done after s",
         lambda s: "%.2f" % g(s, "quiet", "quiet_elapsed_s") +
         ("" if g(s, "quiet", "quiet_ok") == g(s, "quiet", "quiet_count")
          else " (%s/%s ok)" % (g(s, "quiet", "quiet_ok"), g(s, "quiet", "quiet_count"))),
         "<= 2"),
        ("(c) noisy client: ok / total time s",
         lambda s: "%s / %.1f" % (g(s, "quiet", "noisy_ok"), g(s, "quiet", "noisy_total_s")), "(info)"),
        ("(c) most upstream calls in any rolling 1 s",
         lambda s: str(g(s, "quiet", "max_in_window")), "<= 20"),
        ("(c) calls that found 20 others in the rolling 1 s before them",
         lambda s: str(g(s, "quiet", "calls_over_limit")), "0"),
        ("(c) upstream 429s", lambda s: str(g(s, "quiet", "upstream_429")), "0"),
    ]
    print("| metric | smproxy | nginx | target |")
    print("| --- | --- | --- | --- |")
    for name, f, tgt in rows:
        vals = []
        for s in (sp, ng):
            try:
                vals.append(f(s))
            except (TypeError, KeyError):
                vals.append("n/a")
        print("| %s | %s | %s | %s |" % (name, vals[0], vals[1], tgt))


def main(argv):
    cmd, args = argv[1], argv[2:]
    {
        "wrk": parse_wrk,
        "hits-table": hits_table,
        "sizes-table": sizes_table,
        "sched-storm": storm,
        "sched-burst": burst,
        "sched-quiet": quiet,
        "sched-table": sched_table,
    }[cmd](*args)


if __name__ == "__main__":
    main(sys.argv)
