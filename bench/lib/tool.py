#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# Helpers for bench/run: seed many apis, time a start until ready, time an admin write until the
# proxy sees it, and turn the per-run TSV into the table and the JSON results file.
# Standard library only; every socket is on loopback and every wait is bounded.
import http.client
import json
import os
import socket
import sqlite3
import statistics
import subprocess
import sys
import time
import urllib.parse
import uuid


def form(conn, method, path, fields):
    body = urllib.parse.urlencode(fields)
    conn.request(method, path, body, {"Content-Type": "application/x-www-form-urlencoded"})
    r = conn.getresponse()
    data = r.read()
    return r.status, data


def filler(i):
    """The i-th filler api: a third exact hosts, a third /svc paths, a third paths under /bench/."""
    k = i % 3
    if k == 0:
        return {"request_host": "h%d.bench.test" % i}
    if k == 1:
        return {"request_path": "/svc%d/v1" % i}
    return {"request_path": "/bench/v%d" % i}


def cmd_admin_bulk(args):
    """admin-bulk PORT COUNT UPSTREAM_URL: create COUNT filler apis through the Admin API."""
    port, count, upstream = int(args[0]), int(args[1]), args[2]
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    t0 = time.monotonic()
    for i in range(count):
        fields = {"name": "filler-%d" % i, "upstream_url": upstream}
        fields.update(filler(i))
        st, data = form(conn, "POST", "/apis", fields)
        if st != 201:
            sys.stderr.write("admin-bulk: api %d: %d %s\n" % (i, st, data[:200]))
            return 1
        if i and i % 1000 == 0:
            sys.stderr.write("[bench]   %d apis, %.1f s\n" % (i, time.monotonic() - t0))
    print("%.3f" % (time.monotonic() - t0))
    return 0


def cmd_db_seed(args):
    """db-seed DB COUNT: copy the two template apis (tpl-path, tpl-host, created through the Admin
    API while the node ran) into COUNT filler rows, in one transaction, with the node stopped."""
    db, count = args[0], int(args[1])
    c = sqlite3.connect(db)
    cols = [r[1] for r in c.execute("PRAGMA table_info(apis)")]
    rows = {}
    for row in c.execute("SELECT * FROM apis WHERE name IN ('tpl-path', 'tpl-host')"):
        rows[row[cols.index("name")]] = dict(zip(cols, row))
    if set(rows) != {"tpl-path", "tpl-host"}:
        sys.stderr.write("db-seed: template apis not found\n")
        return 1
    t0 = time.monotonic()
    ins = [col for col in cols if col != "seq"]
    sql = "INSERT INTO apis (%s) VALUES (%s)" % (", ".join(ins), ", ".join("?" * len(ins)))
    with c:
        for i in range(count):
            f = filler(i)
            tpl = rows["tpl-host" if "request_host" in f else "tpl-path"]
            doc = json.loads(tpl["doc"])
            row = dict(tpl)
            row["id"] = doc["id"] = str(uuid.uuid4())
            row["name"] = doc["name"] = "filler-%d" % i
            for key in ("request_host", "request_path"):
                if key in f:
                    row[key] = doc[key] = f[key]
            row["doc"] = json.dumps(doc, separators=(",", ":"))
            c.execute(sql, [row[col] for col in ins])
    c.close()
    print("%.3f" % (time.monotonic() - t0))
    return 0


def route_filler(i):
    """The i-th filler Kong 3 route, as (kind, value): a third exact hosts, a third /svcN/v1
    prefixes, the last third /bench/vN prefixes (siblings of the match) and, for i % 9 == 2 below
    9,000, 1,000 regex paths. The regexes' literal prefixes vary; a quarter share /bench (/bench/v,
    which /bench/ok does not start with) and 10 of them (j % 100 == 99) have the literal prefix
    /bench/, so the router runs them, and sees them fail, on every /bench/ok request."""
    k = i % 3
    if k == 0:
        return "host", "h%d.bench.test" % i
    if k == 1:
        return "path", "/svc%d/v1" % i
    if i % 9 == 2 and i < 9000:
        j = i // 9
        if j % 100 == 99:
            return "regex", "~/bench/[a-z]+/%d$" % j
        return "regex", ("~/bench/v[0-9]+/item/%d" % j, "~/api/%d/users/[0-9]+$" % j,
                         "~/svc%d/v[12]/orders/(?<id>[0-9]+)" % j,
                         "~/static/%d/[a-z]+\\.png" % j)[j % 4]
    return "path", "/bench/v%d" % i


def cmd_routes_seed(args):
    """routes-seed DB TOTAL: copy the three template routes (tpl-host, tpl-path, tpl-regex, made
    through the Admin API while the node ran) into filler rows until the routes table holds TOTAL
    rows, in one transaction, with the node stopped. Prints the rows added and the seconds."""
    db, total = args[0], int(args[1])
    c = sqlite3.connect(db)
    cols = [r[1] for r in c.execute("PRAGMA table_info(routes)")]
    tpl = {}
    for row in c.execute("SELECT * FROM routes WHERE name IN ('tpl-host', 'tpl-path', 'tpl-regex')"):
        tpl[row[cols.index("name")]] = dict(zip(cols, row))
    if set(tpl) != {"tpl-host", "tpl-path", "tpl-regex"}:
        sys.stderr.write("routes-seed: template routes not found\n")
        return 1
    have = c.execute("SELECT count(*) FROM routes").fetchone()[0]
    start = c.execute("SELECT count(*) FROM routes WHERE name LIKE 'filler-%'").fetchone()[0]
    t0 = time.monotonic()
    ins = [col for col in cols if col != "seq"]
    sql = "INSERT INTO routes (%s) VALUES (%s)" % (", ".join(ins), ", ".join("?" * len(ins)))
    add = max(0, total - have)
    with c:
        for i in range(start, start + add):
            kind, value = route_filler(i)
            row = dict(tpl["tpl-" + kind])
            doc = json.loads(row["doc"])
            row["id"] = doc["id"] = str(uuid.uuid4())
            row["name"] = doc["name"] = "filler-%d" % i
            if kind == "host":
                doc["hosts"] = [value]
            else:
                doc["paths"] = [value]
            row["doc"] = json.dumps(doc, separators=(",", ":"))
            c.execute(sql, [row[col] for col in ins])
    c.close()
    print("%d %.3f" % (add, time.monotonic() - t0))
    return 0


def pct(xs, p):
    """Nearest-rank percentile (p99 of 20 samples is the largest)."""
    s = sorted(xs)
    k = max(0, min(len(s) - 1, int(-(-p * len(s) // 100)) - 1))
    return s[k]


def cmd_route_writes(args):
    """route-writes ADMIN_PORT SERVICE N TAG: POST N routes (paths /wr/TAG/k) to /routes, then
    PATCH each one's paths, one keep-alive connection, each timed until its 2xx. Prints JSON."""
    port, svc, n, tag = int(args[0]), args[1], int(args[2]), args[3]
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    hdr = {"Content-Type": "application/json"}
    posts, patches, ids = [], [], []
    for k in range(n):
        body = json.dumps({"name": "wr-%s-%d" % (tag, k), "paths": ["/wr/%s/%d" % (tag, k)],
                           "service": {"name": svc}})
        t0 = time.monotonic()
        conn.request("POST", "/routes", body, hdr)
        r = conn.getresponse()
        data = r.read()
        posts.append((time.monotonic() - t0) * 1000)
        if r.status != 201:
            sys.stderr.write("route-writes: POST answered %d %s\n" % (r.status, data[:200]))
            return 1
        ids.append(json.loads(data)["id"])
    for k, rid in enumerate(ids):
        body = json.dumps({"paths": ["/wr/%s/%d/p" % (tag, k)]})
        t0 = time.monotonic()
        conn.request("PATCH", "/routes/" + rid, body, hdr)
        r = conn.getresponse()
        data = r.read()
        patches.append((time.monotonic() - t0) * 1000)
        if r.status != 200:
            sys.stderr.write("route-writes: PATCH answered %d %s\n" % (r.status, data[:200]))
            return 1

    def summary(xs):
        return {"median": round(statistics.median(xs), 1), "p99": round(pct(xs, 99), 1),
                "min": round(min(xs), 1)}

    print(json.dumps({"writes": n, "post_ms": summary(posts), "patch_ms": summary(patches)}))
    return 0


def http_get(port, path, timeout=1.0, headers=None):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request("GET", path, headers=headers or {})
        r = conn.getresponse()
        return r.status, r.read()
    finally:
        conn.close()


def cmd_ready(args):
    """ready PIDFILE PORT PATH BODY TIMEOUT_S CMD...: start CMD in its own session, write its pid,
    poll GET PATH on PORT until it answers 200 BODY; print the milliseconds from spawn to that."""
    pidfile, port, path, body, tmo = args[0], int(args[1]), args[2], args[3].encode(), float(args[4])
    cmd = args[5:]
    log = open(pidfile + ".log", "wb")
    t0 = time.monotonic()
    p = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                         start_new_session=True)
    with open(pidfile, "w") as f:
        f.write("%d\n" % p.pid)
    while time.monotonic() - t0 < tmo:
        try:
            st, data = http_get(port, path, timeout=0.5)
            if st == 200 and data == body:
                print("%.1f" % ((time.monotonic() - t0) * 1000))
                return 0
        except OSError:
            pass
        if p.poll() is not None:
            sys.stderr.write("ready: process exited with %s\n" % p.returncode)
            return 1
        time.sleep(0.0005)
    sys.stderr.write("ready: not ready after %.0f s\n" % tmo)
    return 1


def cmd_switch(args):
    """switch ADMIN_PORT API PROXY_PORT PATH URL_A BODY_A URL_B BODY_B N: PATCH the api's
    upstream_url back and forth N times; after each 2xx, GET PATH on the proxy at once (kept-alive
    connection) until the new body shows. Prints JSON: write ms and visibility figures."""
    aport, api, pport, path = int(args[0]), args[1], int(args[2]), args[3]
    targets = [(args[4], args[5].encode()), (args[6], args[7].encode())]
    n = int(args[8])
    admin = http.client.HTTPConnection("127.0.0.1", aport, timeout=30)
    proxy = http.client.HTTPConnection("127.0.0.1", pport, timeout=5)
    writes, visible, stale_total, first_stale = [], [], 0, 0
    for i in range(n):
        url, want = targets[i % 2]
        t0 = time.monotonic()
        st, data = form(admin, "PATCH", "/apis/" + api, {"upstream_url": url})
        t1 = time.monotonic()
        if st // 100 != 2:
            sys.stderr.write("switch: PATCH answered %d %s\n" % (st, data[:200]))
            return 1
        writes.append((t1 - t0) * 1000)
        stale = 0
        while True:
            proxy.request("GET", path)
            r = proxy.getresponse()
            got = r.read()
            if got == want:
                break
            stale += 1
            if time.monotonic() - t1 > 5:
                sys.stderr.write("switch: change not visible after 5 s\n")
                return 1
        visible.append((time.monotonic() - t1) * 1000)
        stale_total += stale
        first_stale += 1 if stale else 0
    if n % 2:
        # leave the api on its first upstream (URL_B) for whatever is measured next
        st, data = form(admin, "PATCH", "/apis/" + api, {"upstream_url": targets[1][0]})
    out = {
        "changes": n,
        "admin_write_ms_median": round(statistics.median(writes), 3),
        "admin_write_ms_max": round(max(writes), 3),
        "visible_after_2xx_ms_median": round(statistics.median(visible), 3),
        "visible_after_2xx_ms_max": round(max(visible), 3),
        "first_request_stale": first_stale,
        "stale_responses": stale_total,
    }
    print(json.dumps(out))
    return 0


def median(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


def num(s):
    try:
        v = float(s)
        return None if v != v else v
    except ValueError:
        return None


def fmt(v, spec, dash="-"):
    return dash if v is None else format(v, spec)


def base_of(row):
    """The nginx row a row is compared with: same transport and body size."""
    if row.endswith("-tls"):
        return "nginx-tls"
    if row.endswith("-64k"):
        return "nginx-64k"
    return "nginx"


def read_tsv_pairs(path):
    out = {}
    with open(path) as f:
        for line in f:
            if "\t" in line:
                k, v = line.rstrip("\n").split("\t", 1)
                out[k] = v
    return out


def cmd_report(args):
    """report RUNS_TSV ENV_TSV NOTES_TSV EXTRAS_JSON OUT_JSON: print the table, write the JSON."""
    tsv, env_path, notes_path, extras_path, out_path = args
    env = read_tsv_pairs(env_path)
    meta = {"env": {k: env[k] for k in env if k not in
                    ("rounds", "duration_s", "warmup_s", "connections", "quick")},
            "rounds": int(env.get("rounds", "0")), "duration_s": int(env.get("duration_s", "0")),
            "warmup_s": int(env.get("warmup_s", "0")),
            "connections": int(env.get("connections", "0")), "quick": env.get("quick") == "1",
            "notes": read_tsv_pairs(notes_path)}
    extras = json.load(open(extras_path)) if os.path.exists(extras_path) else {}
    runs = {}
    order = []
    with open(tsv) as f:
        head = f.readline().rstrip("\n").split("\t")
        for line in f:
            rec = dict(zip(head, line.rstrip("\n").split("\t")))
            t = rec["target"]
            if t not in runs:
                runs[t] = []
                order.append(t)
            runs[t].append(rec)
    rows = {}
    for t in order:
        rs = runs[t]
        ok = [r for r in rs if r["rps"] not in ("", "0")]
        rps = median([num(r["rps"]) for r in ok])
        busy = median([num(r["proxy_busy"]) for r in ok])
        procus = median([num(r["proc_us_per_req"]) for r in ok])
        row = {
            "rps": round(rps) if rps is not None else None,
            "p50_ms": median([num(r["p50_ms"]) for r in ok]),
            "p99_ms": median([num(r["p99_ms"]) for r in ok]),
            "p999_ms": median([num(r["p999_ms"]) for r in ok]),
            "errors": sum(int(num(r["errors"]) or 0) + int(num(r["non2xx"]) or 0) for r in rs)
            + (len(rs) - len(ok)),
            "load_cpu_busy_pct": median([num(r["load_busy"]) for r in ok]),
            "proxy_cpu_busy_pct": busy,
            "proxy_core_us_per_req": round(busy / 100 * 1e6 / rps, 2) if busy is not None and rps else None,
            "proxy_process_us_per_req": round(procus, 2) if procus is not None else None,
            "upstream_new_conns_max": max([int(num(r["up_conns"]) or 0) for r in ok], default=None),
            "rounds": len(rs),
            "base": base_of(t),
            "rps_runs": [round(num(r["rps"]) or 0) for r in rs],
        }
        rows[t] = row
    for t, row in rows.items():
        b = row["base"]
        if b and b in rows and rows[b]["rps"] and row["rps"] is not None:
            row["ratio"] = round(row["rps"] / rows[b]["rps"], 3)
            bp = rows[b]["p99_ms"]
            row["p99_ratio"] = round(row["p99_ms"] / bp, 2) if bp and row["p99_ms"] else None
            bc = rows[b]["proxy_core_us_per_req"]
            c = row["proxy_core_us_per_req"]
            row["cpu_ratio"] = round(c / bc, 2) if bc and c else None
        else:
            row["ratio"] = row["p99_ratio"] = row["cpu_ratio"] = None

    if rows.get("torii-10k", {}).get("rps") and rows.get("torii", {}).get("rps"):
        extras["torii_10k_vs_torii"] = round(rows["torii-10k"]["rps"] / rows["torii"]["rps"], 3)
    if rows.get("torii-route", {}).get("rps") and rows.get("torii", {}).get("rps"):
        extras["torii_route_vs_torii"] = round(rows["torii-route"]["rps"] / rows["torii"]["rps"], 3)
    if rows.get("torii-10k-routes", {}).get("rps") and rows.get("torii-route", {}).get("rps"):
        extras["torii_10k_routes_vs_torii_route"] = round(
            rows["torii-10k-routes"]["rps"] / rows["torii-route"]["rps"], 3)
    for num, den, key in (("torii-lb4", "torii-lb1", "torii_lb4_vs_lb1"),
                          ("torii-lb4-active", "torii-lb4", "torii_lb4_active_vs_lb4")):
        if rows.get(num, {}).get("rps") and rows.get(den, {}).get("rps"):
            extras[key] = round(rows[num]["rps"] / rows[den]["rps"], 3)
    env = meta["env"]
    print()
    for k in ("date", "cpu", "kernel", "nginx", "wrk", "torii", "layout", "load", "tls"):
        if k in env:
            print("%-8s %s" % (k + ":", env[k]))
    print()
    hdr = "%-19s %9s %7s %7s %7s %6s %6s %8s %6s %6s %8s %7s" % (
        "row", "req/s", "p50ms", "p99ms", "p99.9ms", "errors", "ratio", "base", "cpuL%",
        "cpuP%", "us/req", "upConn")
    print(hdr)
    for t in order:
        r = rows[t]
        print("%-19s %9s %7s %7s %7s %6d %6s %8s %6s %6s %8s %7s" % (
            t, fmt(r["rps"], ",d"), fmt(r["p50_ms"], ".3f"), fmt(r["p99_ms"], ".3f"),
            fmt(r["p999_ms"], ".3f"), r["errors"], fmt(r["ratio"], ".2f"), r["base"] or "-",
            fmt(r["load_cpu_busy_pct"], ".0f"), fmt(r["proxy_cpu_busy_pct"], ".0f"),
            fmt(r["proxy_core_us_per_req"], ".2f"), fmt(r["upstream_new_conns_max"], "d")))
    print("(medians over %s round(s); errors = socket errors + non-2xx summed over rounds;"
          " ratio = req/s / base row's req/s;" % meta["rounds"])
    print(" cpuL%/cpuP% = busy share of the wrk+upstream CPU / of the proxy CPU;"
          " us/req = proxy CPU busy share / req/s)")
    # the direct row leaves the proxy CPU idle: busy time there means other work on the machine
    quiet = [num(r["proxy_busy"]) for r in runs.get("direct", []) if num(r["proxy_busy"]) is not None]
    if quiet and max(quiet) > 10:
        meta["notes"]["noise"] = ("the proxy CPU was up to %.0f%% busy during the direct row, "
                                  "where it should idle: other work ran on the machine, every row "
                                  "is affected; re-run on a quiet machine" % max(quiet))
    for t, note in meta.get("notes", {}).items():
        print("note: %s: %s" % (t, note))
    if extras:
        print()
        print("other measurements:")
        for k, v in extras.items():
            print("  %-34s %s" % (k, json.dumps(v) if isinstance(v, (dict, list)) else v))
    result = {"meta": meta, "rows": rows, "other": extras}
    with open(out_path, "w") as f:
        json.dump(result, f, indent=1, sort_keys=False)
        f.write("\n")
    return 0


def main():
    if len(sys.argv) < 2:
        sys.stderr.write("usage: tool.py admin-bulk|db-seed|routes-seed|route-writes|ready|switch|report ARGS...\n")
        return 2
    cmds = {"admin-bulk": cmd_admin_bulk, "db-seed": cmd_db_seed, "routes-seed": cmd_routes_seed,
            "route-writes": cmd_route_writes, "ready": cmd_ready, "switch": cmd_switch,
            "report": cmd_report}
    fn = cmds.get(sys.argv[1])
    if fn is None:
        sys.stderr.write("unknown command %s\n" % sys.argv[1])
        return 2
    return fn(sys.argv[2:])


if __name__ == "__main__":
    sys.exit(main())
