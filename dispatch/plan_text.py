"""A plan as text for the terminal: deployments in the operation's local time, then
its figures against their targets."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from schemas.operations import FiguresView, PlanView


def figure_lines(f: FiguresView) -> list[str]:
    def mark(ok: bool) -> str:
        return "ok" if ok else "MISSED TARGET"

    return [
        f"  M1 offender's best value  {f.m1_offender_value:.4f} against optimum "
        f"{f.m1_optimum:.4f} (ratio {f.m1_ratio:.3f}); coverage off target by "
        f"{f.m1_coverage_error:.1%}",
        f"  M2 entropy ratio          {f.m2_entropy_ratio:.3f}  (target >= 0.95: "
        f"{mark(f.m2_entropy_ratio >= 0.95)})",
        f"  M3 predictability         {f.m3_predictability:.3f}  (target <= 1.10: "
        f"{mark(f.m3_predictability <= 1.10)}; best predictor: {f.m3_best_predictor})",
        f"  M4 gap regularity         {f.m4_gap_regularity:.3f}  (near 1 is good; near 0 is a "
        "fixed rota)",
        f"  M5 recent-place safety    {f.m5_recent_place:.3f}  (near 1 is good; near 0: the "
        "places used within the last place gap are certainly empty)" + _safe_rates(f),
    ]


def _safe_rates(f: FiguresView) -> str:
    d = f.details
    if "m5_safe" not in d:
        return ""
    return (
        f"\n                            an offender there is safe {d['m5_safe']:.1%} of the "
        f"time, against {d['m5_chance_safe']:.1%} by chance"
    )


def share_lines(f: FiguresView, names: dict[str, str]) -> list[str]:
    """Deployments per officer and per crew, busiest first."""
    out = []
    for kind, shares in (("officers", f.officer_shares), ("crews", f.crew_shares)):
        if shares:
            each = sorted(shares.items(), key=lambda item: (-item[1], names.get(item[0], item[0])))
            out.append(f"  {kind + ':':<10}" + ", ".join(f"{names.get(i, i)} {n}" for i, n in each))
    return out


def format_plan(plan: PlanView, names: dict[str, str] | None = None) -> str:
    """`names` maps officer and crew ids to what to print (display names, callsigns)."""
    names = names or {}
    op = plan.operation
    zone = ZoneInfo(op.timezone)
    lines = [
        f"Operation {op.name} ({op.state}) - {op.area or 'no area given'}",
        f"  window {op.window_start.astimezone(zone):%a %d %b %Y %H:%M} to "
        f"{op.window_end.astimezone(zone):%a %d %b %Y %H:%M} ({op.timezone}); "
        f"{len(op.places)} places; {op.deployments} deployments wanted",
        "",
    ]
    if not plan.deployments:
        lines.append("  No plan yet: generate one.")
    for d in plan.deployments:
        start, end = d.starts_at.astimezone(zone), d.ends_at.astimezone(zone)
        team = ", ".join(names.get(i, i) for i in [*d.officer_ids, *d.crew_ids])
        pin = " pinned" if d.pinned else ""
        lines.append(
            f"  {start:%a %d %b %H:%M}-{end:%H:%M}  {d.place_name:<24} {d.state.value:<9}"
            f"{pin}  {team}"
        )
    lines.append("")
    if op.figures is not None:
        lines.append("Figures:")
        lines += figure_lines(op.figures)
        shares = share_lines(op.figures, names)
        if shares:
            lines += ["", "Deployments each:", *shares]
    for warning in op.warnings:
        lines.append(f"  warning: {warning}")
    return "\n".join(lines)
