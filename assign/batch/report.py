"""The night's HTML report: one self-contained file, readable offline.

* Every plot is a PNG made with matplotlib and embedded as a ``data:`` URI; the
  page loads nothing from the network and runs no script. A Content Security
  Policy (``default-src 'none'``) makes the browser refuse anything else.
* Every name and free text from the input (ids, community names, organisations,
  services, reason details) is HTML-escaped, so ``<script>`` shows as text.
* Deterministic: no wall-clock time; PNGs carry no timestamp.
"""

from __future__ import annotations

import base64
import io
import math
import warnings
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from html import escape
from typing import Any

import numpy as np
from numpy.typing import NDArray

from ..model import REASON_CODES, Problem, Schedule

REASON_TEXT = {
    "no_skill": "no volunteer has the skills",
    "out_of_range": "no skilled volunteer within range",
    "excluded": "skilled volunteers in range are excluded or of another community",
    "no_availability": "no eligible volunteer is free then",
    "team_too_small": "too few eligible free volunteers for the team",
    "capacity": "eligible volunteers' time went to other needs",
}

CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI","Noto Sans","Noto Sans CJK SC",sans-serif;
 margin:0 auto;max-width:1100px;padding:1em 1.5em;color:#1b1b1b;line-height:1.4}
h1{font-size:1.6em;margin-bottom:.2em}h2{border-bottom:2px solid #ddd;padding-bottom:.2em;margin-top:1.6em}
table{border-collapse:collapse;margin:.6em 0;font-size:.9em}
th,td{border:1px solid #ccc;padding:.25em .5em;text-align:left;vertical-align:top}
th{background:#f2f2f2}td.n{text-align:right;font-variant-numeric:tabular-nums}
.muted{color:#666}.bad{color:#a40000}.good{color:#1b6e20}
figure{margin:1em 0}figure img{max-width:100%;height:auto;border:1px solid #eee}
figcaption{color:#555;font-size:.9em}
.cards{display:flex;flex-wrap:wrap;gap:.8em}.card{border:1px solid #ddd;border-radius:6px;padding:.5em .9em;min-width:9em}
.card b{display:block;font-size:1.4em}
code{font-size:.85em;word-break:break-all}
summary{cursor:pointer;color:#1a4f8b;margin:.4em 0}
@media print{figure{page-break-inside:avoid}}
"""


def esc(value: Any) -> str:
    """HTML-escape any value (quotes too)."""
    return escape(str(value), quote=True)


def _pct(part: float, whole: float) -> str:
    return f"{100.0 * part / whole:.1f}%" if whole else "–"


# --------------------------------------------------------------------- numbers


@dataclass(frozen=True)
class VolunteerLoads:
    """Per volunteer (problem order), from the one implementation of each
    figure: ``load`` is rule 10's (:func:`assign.rules.volunteer_loads`),
    ``pledged`` SPEC §10's exact pledge, ``share`` the utilisation of the
    volunteers with a pledge (:func:`assign.metrics.utilisation`), ``ratio``
    the look-back share SPEC §6
    squares (:func:`assign.score.fairness_ratio`), ``counted`` whether §6
    counts the volunteer; ``history_minutes`` / ``history_capacity`` as given."""

    load: NDArray[np.float64]
    pledged: NDArray[np.float64]
    share: NDArray[np.float64]
    ratio: NDArray[np.float64]
    counted: NDArray[np.bool_]
    history_minutes: NDArray[np.float64]
    history_capacity: NDArray[np.float64]


def volunteer_loads(problem: Problem, schedule: Schedule) -> VolunteerLoads:
    """The :class:`VolunteerLoads` of a schedule."""
    from ..compile import compile_problem
    from ..metrics import utilisation
    from ..rules import volunteer_loads as rule_loads
    from ..score import fairness_ratio

    c = compile_problem(problem)
    t_index = {tid: i for i, tid in enumerate(c.task_ids)}
    v_index = {vid: i for i, vid in enumerate(c.volunteer_ids)}
    pairs = [(t_index[a.task], v_index[a.volunteer]) for a in schedule.assignments
             if a.task in t_index and a.volunteer in v_index]
    t = np.array([p[0] for p in pairs], dtype=np.int64)
    v = np.array([p[1] for p in pairs], dtype=np.int64)
    load = rule_loads(c, t, v).astype(np.float64)
    everyone = np.arange(c.n_volunteers, dtype=np.int64)
    return VolunteerLoads(
        load=load,
        pledged=c.pledge_minutes,
        share=utilisation(c, load)[1],
        ratio=fairness_ratio(c, everyone, load),
        counted=c.share_capacity > 0,
        history_minutes=c.v_history_minutes.astype(np.float64),
        history_capacity=c.v_history_capacity.astype(np.float64),
    )


def gini(values: NDArray[np.float64]) -> float | None:
    from ..metrics import gini as _gini

    return _gini(values)


def lorenz(values: NDArray[np.float64]) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    x = np.sort(np.asarray(values, dtype=np.float64))
    n = len(x)
    if n == 0 or x.sum() <= 0:
        return np.array([0.0, 1.0]), np.array([0.0, 1.0])
    cum = np.concatenate([[0.0], np.cumsum(x) / x.sum()])
    return np.linspace(0.0, 1.0, n + 1), cum


# --------------------------------------------------------------------- plots


def _png(fig: Any) -> str:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=96, metadata={"Software": None})
    import matplotlib.pyplot as plt

    plt.close(fig)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def _plt() -> Any:
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    plt.rcParams.update({"font.size": 9, "figure.dpi": 96, "axes.titlesize": 10, "savefig.bbox": None})
    return plt


def plot_coverage(by_community_tier: Mapping[str, Mapping[str, Mapping[str, int]]], tiers: int) -> str | None:
    """Heatmap of covered weight (%) per community (rows) and tier (columns)."""
    communities = sorted(by_community_tier)
    if not communities or tiers <= 0:
        return None
    plt = _plt()
    grid = np.full((len(communities), tiers), np.nan)
    for i, cid in enumerate(communities):
        for tier, cell in by_community_tier[cid].items():
            k = int(tier) - 1
            if 0 <= k < tiers and cell.get("weight"):
                grid[i, k] = 100.0 * cell["covered_weight"] / cell["weight"]
    shown = communities
    if len(communities) > 60:  # keep the 60 worst-served communities readable
        order = np.argsort(np.nan_to_num(np.nanmean(np.where(np.isnan(grid), 100, grid), axis=1), nan=100))[:60]
        order = np.sort(order)
        grid = grid[order]
        shown = [communities[i] for i in order]
    height = 1.2 + 0.28 * len(shown)
    fig, ax = plt.subplots(figsize=(2.6 + 0.9 * tiers, height))
    cmap = plt.get_cmap("RdYlGn").copy()
    cmap.set_bad("#eeeeee")
    image = ax.imshow(np.ma.masked_invalid(grid), cmap=cmap, vmin=0, vmax=100, aspect="auto")
    ax.set_xticks(range(tiers), [f"tier {k + 1}" for k in range(tiers)])
    ax.set_yticks(range(len(shown)), [_short(s) for s in shown])
    if len(shown) <= 40:
        for i in range(len(shown)):
            for k in range(tiers):
                if not np.isnan(grid[i, k]):
                    ax.text(k, i, f"{grid[i, k]:.0f}", ha="center", va="center", fontsize=7)
    ax.set_title("covered weight (%) by community and tier")
    fig.colorbar(image, ax=ax, fraction=0.05, pad=0.02)
    fig.tight_layout()
    return _png(fig)


def plot_utilisation(share: NDArray[np.float64], share_28: NDArray[np.float64] | None) -> str | None:
    """Histogram of load / pledged minutes and the Lorenz curves."""
    if len(share) == 0:
        return None
    plt = _plt()
    fig, (left, right) = plt.subplots(1, 2, figsize=(9.5, 3.6))
    bins = np.linspace(0.0, 1.0, 21)
    left.hist(np.clip(share, 0, 1), bins=bins, color="#4c72b0", edgecolor="white")
    left.set_xlabel("load / pledged minutes (this horizon)")
    left.set_ylabel("volunteers")
    left.set_title("utilisation")
    x, y = lorenz(share)
    right.plot(x, y, color="#4c72b0", label=f"this horizon (Gini {gini(share) or 0:.3f})")
    if share_28 is not None and len(share_28):
        x2, y2 = lorenz(share_28)
        right.plot(x2, y2, color="#dd8452", label=f"incl. look-back (Gini {gini(share_28) or 0:.3f})")
    right.plot([0, 1], [0, 1], color="#999999", linestyle="--", linewidth=0.8, label="equal")
    right.set_xlabel("share of volunteers (least used first)")
    right.set_ylabel("share of work")
    right.set_title("Lorenz curve")
    right.legend(loc="upper left", fontsize=8)
    right.set_xlim(0, 1)
    right.set_ylim(0, 1)
    fig.tight_layout()
    return _png(fig)


def plot_map(problem: Problem, schedule: Schedule) -> str | None:
    """Volunteer homes, recipients (covered / uncovered) and assignment lines."""
    if not problem.recipients:
        return None
    plt = _plt()
    from matplotlib.collections import LineCollection

    vols = {v.id: v for v in problem.volunteers}
    recs = {r.id: r for r in problem.recipients}
    tasks = {t.id: t for t in problem.tasks}
    covered = {a.task for a in schedule.assignments}
    lat0 = float(np.mean([r.lat for r in problem.recipients]))
    aspect = 1.0 / max(0.1, math.cos(math.radians(lat0)))
    fig, ax = plt.subplots(figsize=(9.5, 6.5))
    segments = []
    for a in schedule.assignments:
        task = tasks.get(a.task)
        v = vols.get(a.volunteer)
        if task is None or v is None or task.recipient not in recs:
            continue
        r = recs[task.recipient]
        segments.append([(v.lon, v.lat), (r.lon, r.lat)])
    if segments:
        ax.add_collection(LineCollection(segments, colors="#4c72b0", linewidths=0.4, alpha=0.25, zorder=1))
    with_work = {a.volunteer for a in schedule.assignments}
    vx = [v.lon for v in problem.volunteers]
    vy = [v.lat for v in problem.volunteers]
    vc = ["#4c72b0" if v.id in with_work else "#bbbbbb" for v in problem.volunteers]
    ax.scatter(vx, vy, s=4, c=vc, marker="^", zorder=2, label="volunteer home", linewidths=0)
    need: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for t in problem.tasks:
        need[t.recipient][0 if t.id in covered else 1] += 1
    rx, ry, rc = [], [], []
    for rid, (_ok, missed) in sorted(need.items()):
        if rid in recs:
            rx.append(recs[rid].lon)
            ry.append(recs[rid].lat)
            rc.append("#c44e52" if missed else "#55a868")
    ax.scatter(rx, ry, s=8, c=rc, zorder=3, linewidths=0)
    for comm in problem.communities:
        if comm.lat is not None and comm.lon is not None:
            ax.annotate(_short(comm.id), (comm.lon, comm.lat), fontsize=7, color="#333333", zorder=4,
                        ha="center", bbox={"boxstyle": "round,pad=0.15", "fc": "white", "alpha": 0.6, "lw": 0})
    # frame the town: outlying villages would shrink it to a dot (they are counted below)
    xs = np.array(vx + rx, dtype=float)
    ys = np.array(vy + ry, dtype=float)
    if len(xs) >= 20:
        x_lo, x_hi = np.percentile(xs, [1, 99])
        y_lo, y_hi = np.percentile(ys, [1, 99])
        pad_x, pad_y = 0.15 * max(x_hi - x_lo, 1e-3), 0.15 * max(y_hi - y_lo, 1e-3)
        ax.set_xlim(x_lo - pad_x, x_hi + pad_x)
        ax.set_ylim(y_lo - pad_y, y_hi + pad_y)
        outside = int(np.sum((xs < x_lo - pad_x) | (xs > x_hi + pad_x) | (ys < y_lo - pad_y) | (ys > y_hi + pad_y)))
        if outside:
            ax.text(0.01, 0.01, f"{outside} homes outside this view", transform=ax.transAxes, fontsize=8,
                    color="#555555")
    ax.set_aspect(aspect)
    ax.set_xlabel("longitude")
    ax.set_ylabel("latitude")
    ax.set_title("assignments: volunteer home → recipient; recipients green = all covered, red = a need uncovered")
    fig.tight_layout()
    return _png(fig)


def plot_reasons(counts: Mapping[str, Mapping[int, int]], tiers: int) -> str | None:
    """Uncovered needs per reason, stacked by tier."""
    reasons = [r for r in REASON_CODES if sum(counts.get(r, {}).values())]
    if not reasons:
        return None
    plt = _plt()
    fig, ax = plt.subplots(figsize=(9.5, 0.9 + 0.45 * len(reasons)))
    left = np.zeros(len(reasons))
    cmap = plt.get_cmap("viridis")
    for k in range(1, tiers + 1):
        widths = np.array([counts.get(r, {}).get(k, 0) for r in reasons], dtype=float)
        if widths.sum() == 0:
            continue
        ax.barh(reasons, widths, left=left, color=cmap((k - 1) / max(1, tiers - 1) * 0.85), label=f"tier {k}")
        left += widths
    ax.invert_yaxis()
    ax.set_xlabel("uncovered needs")
    ax.set_title("why needs were not covered")
    ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    return _png(fig)


def _short(text: str, width: int = 24) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


# --------------------------------------------------------------------- HTML


def _table(header: Sequence[str], rows: Iterable[Sequence[Any]], numeric: Iterable[int] = ()) -> str:
    nums = set(numeric)
    out = ["<table><thead><tr>", *(f"<th>{esc(h)}</th>" for h in header), "</tr></thead><tbody>"]
    for row in rows:
        out.append("<tr>")
        for i, cell in enumerate(row):
            out.append(f'<td class="n">{esc(cell)}</td>' if i in nums else f"<td>{esc(cell)}</td>")
        out.append("</tr>")
    out.append("</tbody></table>")
    return "".join(out)


def _folded(summary: str, table: str, rows: int, limit: int = 20) -> str:
    """A long table folded under a summary line (plain HTML, no script)."""
    if rows <= limit:
        return table
    return f"<details><summary>{esc(summary)} ({rows} rows)</summary>{table}</details>"


def _figure(uri: str | None, alt: str, caption: str) -> str:
    if uri is None:
        return f'<p class="muted">{esc(caption)}: nothing to show.</p>'
    return f'<figure><img src="{uri}" alt="{esc(alt)}"><figcaption>{esc(caption)}</figcaption></figure>'


def render_report(problem: Problem, schedule: Schedule, meta: Mapping[str, Any], max_rows: int = 500) -> bytes:
    """The HTML report of one night (UTF-8 bytes)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # glyph warnings for names matplotlib's font lacks
        return _render(problem, schedule, meta, max_rows).encode("utf-8")


def _render(problem: Problem, schedule: Schedule, meta: Mapping[str, Any], max_rows: int) -> str:
    metrics: dict[str, Any] = dict(schedule.metrics)
    coverage = metrics.get("coverage", {})
    total = coverage.get("total", {"tasks": 0, "covered": 0, "weight": 0, "covered_weight": 0})
    by_tier = coverage.get("by_tier", {})
    by_ct = coverage.get("by_community_tier", {})
    tiers = len(schedule.score.uncovered) if schedule.score else len(by_tier)
    tasks = {t.id: t for t in problem.tasks}
    recs = {r.id: r for r in problem.recipients}
    comm_name = {c.id: c.name for c in problem.communities}

    loads = volunteer_loads(problem, schedule)
    load, pledged = loads.load, loads.pledged
    hist_min, hist_cap = loads.history_minutes, loads.history_capacity
    share = loads.share
    share_28 = loads.ratio[loads.counted]
    with_history = bool(hist_cap.sum() > 0)

    reason_counts: dict[str, Counter[int]] = defaultdict(Counter)
    for u in schedule.unassigned:
        task = tasks.get(u.task)
        reason_counts[u.reason][problem.task_tier(task) if task else 0] += 1

    title = f"assign — nightly plan for {meta.get('date', '')}"
    parts: list[str] = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; img-src data:; "
        "style-src 'unsafe-inline'\">",
        f"<title>{esc(title)}</title><style>{CSS}</style></head><body>",
        f"<h1>{esc(title)}</h1>",
        f'<p class="muted">problem <b>{esc(problem.name)}</b>, horizon {esc(problem.horizon.start.isoformat())} '
        f"to {esc(problem.horizon.end.isoformat())} ({esc(problem.horizon.timezone)})</p>",
    ]
    score = schedule.score
    parts.append('<div class="cards">')
    cards = [
        ("tasks", f"{total['tasks']:,}"),
        ("covered", f"{total['covered']:,} ({_pct(total['covered'], total['tasks'])})"),
        ("covered weight", _pct(total["covered_weight"], total["weight"])),
        ("assignments", f"{len(schedule.assignments):,}"),
        ("volunteers with work", f"{int((load > 0).sum()):,} of {len(problem.volunteers):,}"),
        ("utilisation Gini", f"{gini(share) or 0:.3f}" if len(share) else "–"),
        ("dropped pins", f"{len(schedule.conflicts)}"),
        ("status", schedule.status),
    ]
    for label, value in cards:
        parts.append(f'<div class="card"><span class="muted">{esc(label)}</span><b>{esc(value)}</b></div>')
    parts.append("</div>")

    # --- score
    parts.append("<h2>Score</h2>")
    rows: list[list[Any]] = []
    if score is not None:
        rows = [[f"U{i + 1} (uncovered weight, tier {i + 1})", f"{u:g}",
                 f"{schedule.bound.uncovered[i]:g}" if schedule.bound and i < len(schedule.bound.uncovered) else "–"]
                for i, u in enumerate(score.uncovered)]
        rows.append(["soft", f"{score.soft:.2f}", f"{schedule.bound.soft:.2f}" if schedule.bound else "–"])
        parts.append(_table(["component", "score", "bound"], rows, numeric=(1, 2)))
        gap = schedule.gap
        parts.append(f"<p>gap: {esc(f'{gap:.2%}' if gap is not None else 'n/a (uncovered part above the bound)')}</p>")
        parts.append(_table(["soft term", "value"], [[k, f"{v:.2f}"] for k, v in score.terms.model_dump().items()],
                            numeric=(1,)))

    # --- coverage
    parts.append("<h2>Coverage by tier and community</h2>")
    parts.append(_table(
        ["tier", "tasks", "covered", "share", "weight", "covered weight", "weight share"],
        [[k, c["tasks"], c["covered"], _pct(c["covered"], c["tasks"]), c["weight"], c["covered_weight"],
          _pct(c["covered_weight"], c["weight"])] for k, c in by_tier.items() if c.get("tasks")],
        numeric=range(1, 7),
    ))
    parts.append(_figure(plot_coverage(by_ct, tiers), "heatmap of coverage by community and tier",
                         "Share of each community's need weight covered, per tier (grey: no demand)."))
    rows = []
    for cid in sorted(by_ct):
        cells = by_ct[cid]
        t_all = sum(c["tasks"] for c in cells.values())
        c_all = sum(c["covered"] for c in cells.values())
        per_tier = [
            _pct(cells[str(k)]["covered_weight"], cells[str(k)]["weight"]) if str(k) in cells else "–"
            for k in range(1, tiers + 1)
        ]
        rows.append([cid, comm_name.get(cid, cid), t_all, c_all, _pct(c_all, t_all), *per_tier])
    parts.append(_folded("Coverage per community", _table(
        ["community", "name", "tasks", "covered", "share", *[f"tier {k} weight" for k in range(1, tiers + 1)]],
        rows, numeric=range(2, 5 + tiers)), len(rows), limit=40))

    # --- volunteers
    parts.append("<h2>Volunteers</h2>")
    util = metrics.get("utilisation", {})
    mean = util.get("mean")
    mean_text = f"{mean:.1%}" if mean is not None else "–"
    parts.append(
        f"<p>{esc(util.get('volunteers', 0))} volunteers pledged minutes; mean utilisation "
        f"{esc(mean_text)}, "
        f"idle {esc(metrics.get('idle_volunteers', 0))}."
        + (" The orange curve adds the ledger's look-back window (history minutes and capacity)." if with_history else "")
        + "</p>"
    )
    parts.append(_figure(plot_utilisation(share, share_28 if with_history else None),
                         "utilisation histogram and Lorenz curve",
                         "Left: volunteers by share of their pledged minutes used. Right: Lorenz curve of that share."))
    visits = Counter(a.volunteer for a in schedule.assignments)
    busiest = sorted(
        range(len(problem.volunteers)),
        key=lambda i: (-(load[i] / pledged[i] if pledged[i] > 0 else 0.0), -load[i], problem.volunteers[i].id),
    )[:25]
    rows = [
        [vol.id, vol.org, vol.community, visits.get(vol.id, 0), int(load[i]), int(pledged[i]),
         _pct(load[i], pledged[i]), int(hist_min[i]), int(hist_cap[i])]
        for i in busiest if load[i] > 0
        for vol in (problem.volunteers[i],)
    ]
    if rows:
        parts.append(f"<p>The {len(rows)} busiest volunteers (share of pledged minutes used):</p>")
        parts.append(_table(["volunteer", "organisation", "community", "visits", "load (min)", "pledged (min)",
                             "share", "look-back served (min)", "look-back pledged (min)"],
                            rows, numeric=(3, 4, 5, 6, 7, 8)))
    orgs = metrics.get("participation_by_org", {})
    if orgs:
        parts.append(_folded("Participation by organisation", _table(
            ["organisation", "volunteers", "with work", "share"],
            [[org or "(none)", o["volunteers"], o["with_work"], f"{o['share']:.0%}"]
             for org, o in sorted(orgs.items())], numeric=(1, 2, 3)), len(orgs)))

    # --- map
    parts.append("<h2>Map of assignments</h2>")
    parts.append(_figure(plot_map(problem, schedule), "map of assignments",
                         "Blue lines join a volunteer's home to the recipient visited; triangles are volunteer homes "
                         "(grey: no work), dots are recipients."))

    # --- uncovered
    parts.append("<h2>Uncovered needs</h2>")
    parts.append(_figure(plot_reasons(reason_counts, tiers), "uncovered needs by reason and tier",
                         "Uncovered needs by reason (SPEC §7), stacked by tier."))
    parts.append(_table(["reason", "meaning", *[f"tier {k}" for k in range(1, tiers + 1)], "all"],
                        [[r, REASON_TEXT[r], *[reason_counts[r].get(k, 0) for k in range(1, tiers + 1)],
                          sum(reason_counts[r].values())] for r in REASON_CODES if r in reason_counts],
                        numeric=range(2, 3 + tiers)))
    listed = sorted(
        schedule.unassigned,
        key=lambda u: (problem.task_tier(tasks[u.task]) if u.task in tasks else 99,
                       tasks[u.task].window_start if u.task in tasks else problem.horizon.end, u.task),
    )
    if listed:
        shown = listed[:max_rows]
        rows = []
        for u in shown:
            task = tasks.get(u.task)
            rec = recs.get(task.recipient) if task else None
            rows.append([
                u.task,
                problem.task_tier(task) if task else "",
                task.service if task else "",
                task.window_start.strftime("%Y-%m-%d %H:%M") if task else "",
                task.recipient if task else "",
                comm_name.get(rec.community, rec.community) if rec else "",
                u.reason,
                u.detail,
            ])
        parts.append(f"<p>{len(shown)} of {len(listed)} uncovered needs, most urgent first.</p>")
        parts.append(_folded("Uncovered needs", _table(
            ["task", "tier", "service", "window start", "recipient", "community", "reason", "detail"],
            rows, numeric=(1,)), len(rows)))
    else:
        parts.append("<p class=\"good\">Every need is covered.</p>")

    if schedule.conflicts:
        parts.append("<h2>Dropped pins</h2>")
        parts.append(_table(["task", "volunteer", "rule"],
                            [[c.task, c.volunteer, c.rule] for c in schedule.conflicts]))

    # --- about
    parts.append("<h2>About this run</h2>")
    about = [[k, meta[k]] for k in ("date", "run_key", "input", "input_hash", "settings_hash", "version",
                                    "strategy", "history") if k in meta]
    parts.append(_table(["", ""], about))
    parts.append('<p class="muted">Made by <code>assign batch</code>. Wall-clock timings are kept in the ledger, '
                 "not here, so that a rerun of the same night gives the same file.</p>")
    parts.append("</body></html>\n")
    return "\n".join(parts)
