"""Charts of a scenario run as PNG bytes (matplotlib, Agg canvas, no pyplot global state).

matplotlib is imported inside the functions: importing this module costs nothing.
"""

from __future__ import annotations

import io
import math
import textwrap
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from scenarios.whatif.runner import ScenarioResult

DPI = 110
BASELINE_COLOUR = "#7f7f7f"
PALETTE = (
    "#1f77b4",
    "#d62728",
    "#2ca02c",
    "#9467bd",
    "#ff7f0e",
    "#17becf",
    "#8c564b",
    "#e377c2",
    "#bcbd22",
)


def colours(n: int) -> list[str]:
    """The baseline grey, then one colour per variant."""
    return [BASELINE_COLOUR] + [PALETTE[i % len(PALETTE)] for i in range(max(0, n - 1))]


def _figure(width: float, height: float) -> Figure:
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), dpi=DPI, layout="constrained")
    return fig


def _png(fig: Figure) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=DPI)
    return buf.getvalue()


def _style(ax: Axes) -> None:
    ax.spines["top"].set_visible(False)
    ax.spines["right"].set_visible(False)
    ax.grid(axis="y", color="#dddddd", linewidth=0.8)
    ax.set_axisbelow(True)


def _labels(result: ScenarioResult) -> list[str]:
    """Variant names wrapped onto at most two lines of 24 characters."""
    out = []
    for s in result.summaries:
        lines = textwrap.wrap(s.name, 24) or [s.name]
        if len(lines) > 2:
            lines = [lines[0], lines[1][:22] + "…"]
        out.append("\n".join(lines))
    return out


def _boxes(ax: Axes, data: list[np.ndarray], labels: list[str], cols: list[str]) -> None:
    safe = [d if d.size else np.array([math.nan]) for d in data]
    bp = ax.boxplot(
        safe,
        orientation="horizontal",
        patch_artist=True,
        showfliers=False,
        showmeans=True,
        widths=0.6,
        meanprops={
            "marker": "D",
            "markerfacecolor": "white",
            "markeredgecolor": "black",
            "markersize": 5,
        },
        medianprops={"color": "black"},
    )
    ax.set_yticks(range(1, len(labels) + 1), labels)
    for patch, c in zip(bp["boxes"], cols, strict=True):
        patch.set_facecolor(c)
        patch.set_alpha(0.55)
    ax.invert_yaxis()  # baseline on top, as in the tables


def utilisation_chart(result: ScenarioResult) -> bytes:
    """Distribution of lawyers' utilisation (all samples pooled), one box per variant."""
    n = len(result.summaries)
    fig = _figure(8.0, 1.2 + 0.55 * n)
    ax = fig.add_subplot()
    data = [np.array([u * 100 for r in s.records for u in r.utilisation]) for s in result.summaries]
    _boxes(ax, data, _labels(result), colours(n))
    for x, label in ((85, "85% band"), (100, "capacity")):
        ax.axvline(x, color="#b22222" if x == 100 else "#e69500", linestyle="--", linewidth=1)
        ax.text(x, 0.45, f" {label}", fontsize=8, color="#555555", va="bottom")
    ax.set_xlabel("utilisation of capacity hours (%), lawyers accepting cases; ◇ = mean")
    ax.set_title("Utilisation distribution", loc="left", fontsize=11)
    _style(ax)
    ax.grid(axis="x", color="#dddddd", linewidth=0.8)
    return _png(fig)


def travel_chart(result: ScenarioResult) -> bytes:
    """Office-to-case distance of every assignment (all samples pooled), one box per variant."""
    n = len(result.summaries)
    fig = _figure(8.0, 1.2 + 0.55 * n)
    ax = fig.add_subplot()
    data = [np.array([t for r in s.records for t in r.travel_km]) for s in result.summaries]
    _boxes(ax, data, _labels(result), colours(n))
    ax.set_xlabel("travel per assigned case (km, great circle); ◇ = mean")
    ax.set_title("Travel", loc="left", fontsize=11)
    _style(ax)
    ax.grid(axis="x", color="#dddddd", linewidth=0.8)
    return _png(fig)


def group_share_chart(result: ScenarioResult) -> bytes:
    """Assigned share per priority group, bars per variant with the spread over samples."""
    groups = sorted({g for s in result.summaries for g in s.group_share})
    groups = ["all cases", *groups]
    n = len(result.summaries)
    fig = _figure(max(8.0, 0.9 * len(groups) + 2), 4.6)
    ax = fig.add_subplot()
    width = 0.8 / max(n, 1)
    x = np.arange(len(groups))
    lowest = 100.0
    for k, (s, c) in enumerate(zip(result.summaries, colours(n), strict=True)):
        means, errs = [], []
        for g in groups:
            stat = s.kpis["assigned_share"] if g == "all cases" else s.group_share.get(g)
            means.append(stat.mean * 100 if stat is not None and stat.n else math.nan)
            errs.append(stat.std * 100 if stat is not None and stat.n else 0.0)
        lowest = min(
            [lowest, *(m - e for m, e in zip(means, errs, strict=True) if not math.isnan(m))]
        )
        ax.bar(
            x + (k - (n - 1) / 2) * width,
            means,
            width,
            yerr=errs,
            color=c,
            alpha=0.85,
            label=s.name,
            error_kw={"elinewidth": 0.8, "capsize": 2},
        )
    ax.set_xticks(x, [g.replace("_", " ") for g in groups], rotation=20, ha="right")
    ax.set_ylim(max(0.0, math.floor((lowest - 5) / 5) * 5), 100.5)
    ax.set_ylabel("assigned share (%)")
    ax.set_title(
        "Assigned share by priority group (mean, bar = ± 1 std over samples)",
        loc="left",
        fontsize=11,
    )
    fig.legend(fontsize=8, ncols=min(n, 4), loc="outside lower center", frameon=False)
    _style(ax)
    return _png(fig)


def unassigned_chart(result: ScenarioResult) -> bytes:
    """Unassigned cases by reason, per variant (mean over samples)."""
    n = len(result.summaries)
    fig = _figure(8.0, 1.6 + 0.45 * n)
    ax = fig.add_subplot()
    labels = _labels(result)
    y = np.arange(n)
    none_ = [s.kpis["no_eligible_lawyer"].mean for s in result.summaries]
    cap = [s.kpis["capacity_exhausted"].mean for s in result.summaries]
    ax.barh(y, none_, color="#8c564b", alpha=0.85, label="no eligible lawyer")
    ax.barh(y, cap, left=none_, color="#e69500", alpha=0.85, label="capacity exhausted")
    total = np.add(none_, cap)
    std = np.array([s.kpis["unassigned"].std for s in result.summaries])
    err = np.vstack([np.minimum(std, total), std])  # a count never goes below zero
    ax.errorbar(total, y, xerr=err, fmt="none", ecolor="black", elinewidth=0.8, capsize=2)
    ax.set_yticks(y, labels)
    ax.invert_yaxis()
    ax.set_xlabel("unassigned cases (mean over samples, bar = ± 1 std)")
    ax.set_title("Unassigned cases by reason", loc="left", fontsize=11)
    fig.legend(fontsize=8, ncols=2, loc="outside lower center", frameon=False)
    _style(ax)
    ax.grid(axis="x", color="#dddddd", linewidth=0.8)
    return _png(fig)
