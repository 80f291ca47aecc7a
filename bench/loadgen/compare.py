"""--processes 1,2: the runs side by side, with the cluster targets beside the figures:
alert -> offer p99 <= 15 ms on N > 1 processes, and positions absorbed (the capacity
phase's closed loop, all processes together) >= 1.7 x one process."""

from __future__ import annotations

from typing import Any

P99_MS = 15.0  # alert -> offer p99 on N > 1 processes
RATIO = 1.7  # capacity(N) / capacity(1)
PHASES = ("steady", "burst", "capacity", "storm")


def comparison(products: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """The compared figures per process count (JSON), and the verdicts for N > 1."""
    base = (products.get("1") or {}).get("capacity", {}).get("acked_per_s")
    out: dict[str, Any] = {"targets": {"alert_to_offer_p99_ms": P99_MS, "capacity_ratio": RATIO}}
    for n, prod in products.items():
        steady, burst = prod.get("steady") or {}, prod.get("burst") or {}
        cap, storm = prod.get("capacity") or {}, prod.get("storm") or {}
        s = steady.get("alert_to_offer_ms") or {}
        rate = cap.get("acked_per_s")
        ratio = round(rate / base, 2) if rate is not None and base else None
        fig: dict[str, Any] = {
            "alert_to_offer_ms": {k: s.get(k) for k in ("n", "p50", "p99", "p99.9", "max")},
            "alerts_offered_of_sent": _of(steady, "alerts_offered", "alerts_sent"),
            "server_share_mean_ms": _server(steady).get("alert_stored_and_offered_mean_ms"),
            "alert_ack_ms": {k: (steady.get("alert_ack_ms") or {}).get(k) for k in ("p50", "p99")},
            "burst_p99_ms": (burst.get("alert_to_offer_ms") or {}).get("p99"),
            "burst_offered_of_sent": _of(burst, "alerts_offered", "alerts_sent"),
            "steady_positions_acked_per_s": steady.get("positions_acked_per_s"),
            "capacity_acked_per_s": rate,
            "capacity_ratio": ratio,
            "capacity_failed": cap.get("failed"),
            "capacity_ceiling_per_s": cap.get("ceiling_per_s"),
            "capacity_server_cpu_pct": cap.get("server_cpu_pct"),
            "capacity_server_cpu_pct_by_process": [b["cpu_pct"] for b in cap.get("by_process", [])],
            "capacity_loader_cpu_pct": cap.get("loader_cpu_pct"),
            "capacity_loader_lag_p99_ms": (cap.get("loader_loop_lag_ms") or {}).get("p99"),
            "capacity_loadavg": [cap.get("loadavg_start"), cap.get("loadavg_end")],
            "storm_resync_s": storm.get("resync_s"),
            "storm_failures": storm.get("failures"),
            "storm_events_missed": storm.get("events_missed"),
            "loop_stall_longest": {
                ph: _server(prod.get(ph)).get("loop_stall_longest") for ph in PHASES if prod.get(ph)
            },
            "rss_per_connection_kb": prod.get("rss_per_connection_kb"),
            "server_log_tracebacks": prod.get("server_log_tracebacks"),
            "balancer_downs": prod.get("balancer_downs"),
        }
        if int(n) > 1:
            p99 = s.get("p99")
            fig["p99_ok"] = None if p99 is None else p99 <= P99_MS
            fig["ratio_ok"] = None if ratio is None else ratio >= RATIO
        out[n] = fig
    return out


def _server(phase: dict[str, Any] | None) -> dict[str, Any]:
    return (phase or {}).get("server") or {}


def _of(phase: dict[str, Any], a: str, b: str) -> str | None:
    return f"{phase[a]} / {phase[b]}" if a in phase and b in phase else None


def _verdict(ok: bool | None) -> str:
    return "" if ok is None else (" ok" if ok else " MISS")


def _g(v: Any, unit: str = "") -> str:
    if v is None:
        return "n/a"
    return (f"{v:,g}" if isinstance(v, int | float) else str(v)) + unit


def _column(f: dict[str, Any], n: int) -> list[tuple[str, str, str]]:
    """(figure, target, this count's text), in the table's order."""
    s, ack = f["alert_to_offer_ms"], f["alert_ack_ms"]
    each = f"; {f['capacity_server_cpu_pct_by_process']}" if n > 1 else ""
    load = " -> ".join(str((x or [None])[0]) for x in f["capacity_loadavg"])
    stalls = ", ".join(f"{k} {v}" for k, v in f["loop_stall_longest"].items()) or "n/a"
    return [
        ("alert -> offer p50 / p99 / p99.9", f"p99 <= {P99_MS:g} ms (N > 1)",
         f"{_g(s['p50'])} / {_g(s['p99'])} / {_g(s['p99.9'])} ms (n={s['n']})"
         + _verdict(f.get("p99_ok"))),
        ("  offered / sent; max", "all",
         f"{f['alerts_offered_of_sent']}; {_g(s['max'], ' ms')}"),
        ("  the servers' own share, mean", "", _g(f["server_share_mean_ms"], " ms")),
        ("alert -> ack p50 / p99", "", f"{_g(ack['p50'])} / {_g(ack['p99'], ' ms')}"),
        ("burst: offered / sent; p99", "",
         f"{f['burst_offered_of_sent']}; {_g(f['burst_p99_ms'], ' ms')}"),
        ("positions absorbed/s, closed loop", "all processes",
         f"{_g(f['capacity_acked_per_s'], '/s')}, {_g(f['capacity_failed'])} not acked "
         f"(ceiling {_g(f['capacity_ceiling_per_s'], '/s')})"),
        ("  x one process", f">= {RATIO:g} (N > 1)",
         _g(f["capacity_ratio"]) + _verdict(f.get("ratio_ok"))),
        ("  server CPU % (sum; each)", "100 = a core", _g(f["capacity_server_cpu_pct"]) + each),
        ("  loader CPU %; its loop lag p99", "lag small",
         f"{_g(f['capacity_loader_cpu_pct'])}; {_g(f['capacity_loader_lag_p99_ms'], ' ms')}"),
        ("  load average (1 min) start -> end", "", load),
        ("positions absorbed/s, steady", "", _g(f["steady_positions_acked_per_s"], "/s")),
        ("reconnect storm: all resynced in", "",
         f"{_g(f['storm_resync_s'], ' s')}; {_g(f['storm_failures'])} failures, "
         f"{_g(f['storm_events_missed'])} missed"),
        ("longest loop stall (worst process)", "", stalls),
        ("memory per connection", "", _g(f["rss_per_connection_kb"], " KB")),
        ("server log Tracebacks", "0", _g(f["server_log_tracebacks"])),
        ("processes taken out by HAProxy", "0", "" if n == 1 else _g(f["balancer_downs"])),
    ]  # fmt: skip


def cluster_table(result: dict[str, Any]) -> str:
    c = result["comparison"]
    counts = [n for n in c if n != "targets"]
    columns = [_column(c[n], int(n)) for n in counts]
    rows = [[label, target, *(col[i][2] for col in columns)]
            for i, (label, target, _) in enumerate(columns[0])]  # fmt: skip
    head = ["figure", "target", *(f"{n} process" + ("es" if int(n) > 1 else "") for n in counts)]
    widths = [max(len(r[i]) for r in [head, *rows]) for i in range(len(head))]
    lines = [" | ".join(x.ljust(w) for x, w in zip(r, widths, strict=True)).rstrip()
             for r in [head, *rows]]  # fmt: skip
    lines.insert(1, "-+-".join("-" * w for w in widths))
    lag = result.get("loader_loop_lag_ms") or {}
    cpus = result.get("machine", {}).get("cpu_count")
    lines.append(
        f"loader loop lag, whole run: p99 {lag.get('p99')} / max {lag.get('max')} ms; load "
        f"average {result.get('loadavg_start')} -> {result.get('loadavg_end')}; {cpus} CPUs "
        "shared by the loader, the servers, PostgreSQL, Redis and HAProxy"
    )
    return "\n".join(lines)
