"""The printed table: figure | target | measured | echo, and a verdict where one applies."""

from __future__ import annotations

from typing import Any

PHASES = ("setup", "steady", "burst", "capacity", "storm")


def _ms(s: dict[str, Any] | None, *keys: str) -> str:
    if not s or not s.get("n"):
        return "n/a"
    return " / ".join(f"{s[k]:g}" for k in keys) + f" ms (n={s['n']})"


def _ok(good: bool | None) -> str:
    return "" if good is None else ("ok" if good else "MISS")


def _le(value: Any, limit: float) -> bool | None:
    return None if value is None else value <= limit


def _stall_ms(text: str | None) -> float | None:
    if text in (None, "none"):
        return 0.0 if text == "none" else None
    return float("inf") if text.startswith(">") else float(text.split()[1])


def _by_phase(side: dict[str, Any], key: str) -> dict[str, Any]:
    """One server figure of each phase that ran (None where /metrics was not read)."""
    return {ph: (side.get(ph) or {}).get("server", {}).get(key) for ph in PHASES if side.get(ph)}


def _gc_text(gcs: dict[str, dict[str, Any]]) -> str:
    return ", ".join(
        f"{k} {g.get('gc_full_collections')}; {g.get('gc_pause_longest')}"
        for k, g in gcs.items()
        if "gc_full_collections" in g
    )


def table(r: dict[str, Any]) -> str:
    echo, prod = r.get("echo") or {}, r.get("product") or {}
    steady, burst = prod.get("steady") or {}, prod.get("burst") or {}
    cap, storm = prod.get("capacity") or {}, prod.get("storm") or {}
    rows: list[tuple[str, str, str, str, str]] = []
    s = steady.get("alert_to_offer_ms")
    e = echo.get("echo_ms")
    rows.append((
        "alert -> offer p50 / p99 / p99.9", "<= 3 / 10 / 25 ms",
        _ms(s, "p50", "p99", "p99.9"), _ms(e, "p50", "p99", "p99.9"),
        _ok(None if not s or not s["n"] else
            s["p50"] <= 3 and s["p99"] <= 10 and s["p99.9"] <= 25),
    ))  # fmt: skip
    if s and s.get("n"):
        rows.append(("  alerts offered / sent, max", "all",
                     f"{steady['alerts_offered']} / {steady['alerts_sent']}, max {s['max']:g} ms",
                     "", _ok(steady["no_offer"] == 0)))  # fmt: skip
        if s["n"] < 1000:
            rows.append(("  (p99 needs >= 1,000 samples)", "", f"only {s['n']}", "", ""))
    ratio = None
    if s and s.get("n") and e and e.get("n"):
        ratio = round(s["p99"] / e["p99"], 2)
    rows.append(("p99(product) / p99(echo)", "<= 3", "n/a" if ratio is None else f"{ratio:g}", "",
                 _ok(_le(ratio, 3))))  # fmt: skip
    rows.append(("alert -> ack p50 / p99", "", _ms(steady.get("alert_ack_ms"), "p50", "p99"),
                 "", ""))  # fmt: skip
    b = burst.get("alert_to_offer_ms")
    if burst:
        rows.append(("burst: offered / sent; p99, max", "all; p99 <= 250 ms",
                     f"{burst['alerts_offered']} / {burst['alerts_sent']}; "
                     + (f"{b['p99']:g}, {b['max']:g} ms" if b and b["n"] else "n/a"), "",
                     _ok(burst["no_offer"] == 0 and bool(b and b["n"])
                         and b["p99"] <= 250)))  # fmt: skip
    if cap:
        cerr = cap.get("errors") or {}
        errs = sum(v for k, v in cerr.items() if k.startswith("error:"))
        limited = sum(v for k, v in cerr.items() if "rate_limited" in k)
        rows.append(("positions, closed loop (acked/s)", ">= 10,000/s, all acked",
                     f"{cap['acked_per_s']:g}/s ({cap['clients']} clients), {cap['failed']} "
                     f"not acked, {errs} error frames ({limited} rate_limited), "
                     f"{cerr.get('socket lost', 0)} sockets lost",
                     f"{echo['capacity_per_s']:g}/s" if echo.get("capacity_per_s") else "",
                     _ok(cap["acked_per_s"] >= 10_000 and cap["failed"] == 0)))  # fmt: skip
        ceiling = (
            f"{cap['clients']} x {cap['rate_per_s_per_socket']:g}/s = {cap['ceiling_per_s']:,}/s"
        )
        rows.append(("  ceiling set by realtime.rate_per_s", "", ceiling, "", ""))
    if storm:
        rows.append(("reconnect storm: all resynced in", "<= 5 s",
                     f"{storm['resync_s']} s" if storm["resync_s"] is not None
                     else f"not all ({storm['resynced']} by {storm['last_resynced_s']} s)",
                     f"{echo['reconnect_s']} s" if "reconnect_s" in echo else "",
                     _ok(storm["resync_s"] is not None and storm["resync_s"] <= 5)))  # fmt: skip
        rows.append(("  failures; 1013 refusals honoured", "0", f"{storm['failures']}; "
                     f"{storm['refusals_1013']}", "", _ok(storm["failures"] == 0)))  # fmt: skip
        none = storm["offers_in_window"] == 0
        rows.append(("  events missed (offers in window)", "0",
                     f"{storm['events_missed']} ({storm['offers_in_window']})"
                     + (": nothing to miss" if none else ""), "",
                     _ok(None if none else storm["events_missed"] == 0)))  # fmt: skip
        rows.append(("  storm alerts offered / acked / sent", "", f"{storm['alerts_offered']} / "
                     f"{storm['alerts_sent'] - storm['no_ack']} / {storm['alerts_sent']}", "",
                     ""))  # fmt: skip
        serr = {k: v for k, v in (storm.get("errors") or {}).items() if "socket lost" not in k}
        if serr:
            rows.append(("  storm errors", "", ", ".join(f"{k} {v}" for k, v in serr.items()),
                         "", ""))  # fmt: skip
    if "rss_per_connection_kb" in prod:
        rows.append(("memory per connection", "<= 65 KB", f"{prod['rss_per_connection_kb']:g} KB",
                     f"{echo['rss_per_connection_kb']:g} KB" if echo else "",
                     _ok(prod["rss_per_connection_kb"] <= 65)))  # fmt: skip
    stalls = _by_phase(prod, "loop_stall_longest")
    worst = [v for k, v in ((k, _stall_ms(x)) for k, x in stalls.items())
             if v is not None and k != "setup"]  # the verdict: the measured phases  # fmt: skip
    echo_stalls = _by_phase(echo, "loop_stall_longest")
    rows.append(("longest event-loop stall", "<= 20 ms",
                 "n/a (no /metrics)" if not worst else
                 ", ".join(f"{k} {v}" for k, v in stalls.items()),
                 ", ".join(f"{k} {v}" for k, v in echo_stalls.items() if v),
                 _ok(max(worst) <= 20 if worst else None)))  # fmt: skip
    gcs = {ph: (prod.get(ph) or {}).get("server", {}) for ph in PHASES if prod.get(ph)}
    echo_gcs = {ph: (echo.get(ph) or {}).get("server", {}) for ph in PHASES if echo.get(ph)}
    if any("gc_full_collections" in g for g in gcs.values()):
        rows.append(("gen-2 GCs; longest GC pause", "", _gc_text(gcs), _gc_text(echo_gcs), ""))
    lgc = {ph: (prod.get(ph) or {}).get("loader_gc") for ph in PHASES if prod.get(ph)}
    if any(lgc.values()):
        pauses = ", ".join(f"{k} {g['full']}; {g['longest_ms']} ms" for k, g in lgc.items() if g)
        rows.append(("loader: full GCs; longest GC pause", "", pauses, "", ""))
    lag = r.get("loader_loop_lag_ms") or {}
    rows.append(("loader loop lag p99 / max", "small", f"{lag.get('p99')} / {lag.get('max')} ms",
                 "", ""))  # fmt: skip
    rows.append(("load average start -> end", "", f"{r.get('loadavg_start')} -> "
                 f"{r.get('loadavg_end')}", "", ""))  # fmt: skip
    rows.append(("server log Tracebacks", "0", str(prod.get("server_log_tracebacks", "n/a")),
                 str(echo.get("server_log_tracebacks", "")), ""))  # fmt: skip
    head = ("figure", "target", "measured", "echo", "")
    widths = [max(len(x[i]) for x in [head, *rows]) for i in range(5)]
    lines = [" | ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip()
             for row in [head, *rows]]  # fmt: skip
    lines.insert(1, "-+-".join("-" * w for w in widths))
    m = r.get("machine", {})
    lines.insert(0, f"load_bench {r.get('git')} | {m.get('cpu_count')} CPUs, Python "
                 f"{m.get('python')} | {r.get('db')} | {r.get('wall_s')} s")  # fmt: skip
    return "\n".join(lines)
