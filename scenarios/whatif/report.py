"""Scenario reports: ``results.json`` (every number), ``kpis.csv`` (one row per solve plus mean
and std rows) and ``report.html`` (side-by-side KPI table, per-priority-group table, charts
embedded as base64 PNG, so the file stands alone)."""

from __future__ import annotations

import base64
import csv
import html
import io
import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from scenarios.report_folder import write_report_files
from scenarios.whatif.charts import (
    colours,
    group_share_chart,
    travel_chart,
    unassigned_chart,
    utilisation_chart,
)
from scenarios.whatif.runner import KPI_FIELDS, KpiField, ScenarioResult, Stat


@dataclass(frozen=True)
class ReportFiles:
    results_json: Path
    kpis_csv: Path
    report_html: Path


CLI_SOURCE = (
    "Written by <code>assigner scenario run</code>; every number is in results.json and "
    "kpis.csv beside this file."
)
JOB_SOURCE = (
    "Written by the service's scenario job; every number is in the job's result "
    "(<code>GET /v1/jobs/{id}</code>, <code>result.results</code>)."
)


REPORT_FILES = ("results.json", "kpis.csv", "report.html")
"""The files of a report, in its folder."""


def write_report(
    result: ScenarioResult, out_dir: str | Path, source: str = CLI_SOURCE
) -> ReportFiles:
    """results.json, kpis.csv and report.html in ``out_dir``; ``source`` (HTML) says in the
    report where it comes from and where its numbers are.  The three files replace the old
    ones together or not at all (``scenarios.report_folder``); a folder that cannot take them
    raises ``OSError`` naming the path."""
    texts = {
        "results.json": json.dumps(_finite(result.to_json()), indent=1),
        "kpis.csv": kpis_csv_text(result),
        "report.html": render_html(result, source),
    }
    paths = write_report_files(Path(out_dir), texts)
    return ReportFiles(paths["results.json"], paths["kpis.csv"], paths["report.html"])


def _finite(value: Any) -> Any:
    """JSON has no NaN: undefined statistics (a group absent from every sample) become null."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_finite(v) for v in value]
    return value


def kpis_csv_text(result: ScenarioResult) -> str:
    """kpis.csv: one row per solve, then mean, std and delta_mean rows per variant."""
    keys = [f.key for f in KPI_FIELDS]
    fh = io.StringIO(newline="")
    w = csv.writer(fh)
    w.writerow(["variant", "sample", *keys])
    for s in result.summaries:
        for r in s.records:
            w.writerow([s.name, r.sample + 1, *(_num(r.kpis[k]) for k in keys)])
        w.writerow([s.name, "mean", *(_num(s.kpis[k].mean) for k in keys)])
        w.writerow([s.name, "std", *(_num(s.kpis[k].std) for k in keys)])
        w.writerow([s.name, "delta_mean", *(_num(s.delta[k].mean) for k in keys)])
    return fh.getvalue()


def _num(x: float) -> str:
    if not math.isfinite(x):
        return ""
    return str(int(x)) if float(x).is_integer() else f"{x:.6g}"


# -- formatting ------------------------------------------------------------------------------


def fmt_value(f: KpiField, x: float) -> str:
    if not math.isfinite(x):
        return "–"
    if f.unit == "share":
        return f"{x * 100:.1f}%"
    if f.unit == "count":
        return f"{x:,.0f}" if float(x).is_integer() else f"{x:,.1f}"
    if f.unit == "km":
        return f"{x:,.1f} km"
    if f.unit == "cny":
        return f"{x:,.0f} ¥"
    if f.unit == "s":
        return f"{x:.1f} s"
    return f"{x:.3f}"


def fmt_spread(f: KpiField, x: float) -> str:
    if not math.isfinite(x):
        return "–"
    if f.unit == "share":
        return f"{x * 100:.1f}"
    return fmt_value(f, x).replace(" km", "").replace(" ¥", "").replace(" s", "")


def fmt_delta(f: KpiField, x: float) -> str:
    if not math.isfinite(x):
        return "–"
    sign = "+" if x > 0 else ("−" if x < 0 else "±")
    a = abs(x)
    if f.unit == "share":
        return f"{sign}{a * 100:.1f} pp"
    return sign + fmt_value(f, a)


def _cell(f: KpiField, st: Stat) -> str:
    text = fmt_value(f, st.mean)
    if st.n > 1 and math.isfinite(st.std):
        text += f' <span class="sd">± {fmt_spread(f, st.std)}</span>'
    return text


def _delta_cell(f: KpiField, st: Stat) -> str:
    if st.n == 0 or not math.isfinite(st.mean):
        return "<td></td>"
    tiny = 1e-9 if f.unit != "share" else 5e-5
    cls = "same"
    if abs(st.mean) > tiny and f.better != 0:
        cls = "good" if st.mean * f.better > 0 else "bad"
    # A paired difference counts as clear when its mean exceeds two standard errors.
    clear = st.n > 1 and st.std > 0 and abs(st.mean) > 2 * st.std / math.sqrt(st.n)
    clear |= st.n > 1 and st.std == 0 and abs(st.mean) > tiny
    mark = "clear" if clear else ""
    return f'<td class="delta {cls} {mark}">{fmt_delta(f, st.mean)}</td>'


def _esc(text: str) -> str:
    return html.escape(text, quote=True)


def _change_text(change: dict[str, Any]) -> str:
    kind = change.get("kind", "?")
    rest = ", ".join(f"{k}={_short(v)}" for k, v in change.items() if k != "kind")
    return f"<code>{_esc(kind)}</code> {_esc(rest)}"


def _short(v: Any) -> str:
    if isinstance(v, list):
        inner = ", ".join(_short(x) for x in v)
        return f"[{inner}]"
    if isinstance(v, dict):
        inner = ", ".join(f"{k}: {_short(x)}" for k, x in v.items())
        return "{" + inner + "}"
    return str(v)


def _img(png: bytes, alt: str) -> str:
    data = base64.b64encode(png).decode("ascii")
    return f'<figure><img alt="{_esc(alt)}" src="data:image/png;base64,{data}"></figure>'


_CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:24px auto;
max-width:1180px;color:#222;padding:0 16px;line-height:1.4}
h1{font-size:1.5em;margin-bottom:.2em}
h2{font-size:1.2em;margin-top:1.6em;border-bottom:1px solid #ddd;padding-bottom:.2em}
.meta{color:#555;font-size:.9em}
table{border-collapse:collapse;font-size:.86em;margin:.6em 0}
th,td{padding:4px 9px;border-bottom:1px solid #e5e5e5;text-align:right;white-space:nowrap}
th{background:#f4f4f4;position:sticky;top:0}td.name,th.name{text-align:left;white-space:normal}
tr:hover td{background:#fafafa}.sd{color:#888;font-size:.9em}
td.delta{font-size:.92em;border-left:none}td.good{color:#17703a}td.bad{color:#b3261e}td.same{color:#999}
td.clear{font-weight:600}
th.variant{border-left:2px solid #fff;white-space:normal;max-width:13em;text-align:right}
.swatch{display:inline-block;width:10px;height:10px;border-radius:2px;margin-right:5px;vertical-align:baseline}
figure{margin:.8em 0}figure img{max-width:100%;border:1px solid #eee}
.variants td{text-align:left;white-space:normal;vertical-align:top}
.note{color:#555;font-size:.85em}details{margin:.6em 0}summary{cursor:pointer;color:#1f5fa8}
code{background:#f3f3f3;padding:0 3px;border-radius:3px}
"""


def render_html(result: ScenarioResult, source: str = CLI_SOURCE) -> str:
    spec = result.scenario
    cols = colours(len(result.summaries))
    names = [s.name for s in result.summaries]
    base = result.summaries[0]
    parts: list[str] = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>Scenario: {_esc(spec.name)}</title><style>{_CSS}</style></head><body>",
        f"<h1>What-if scenario: {_esc(spec.name)}</h1>",
    ]
    if spec.description:
        parts.append(f"<p>{_esc(spec.description)}</p>")
    budget = "deterministic" if spec.deterministic else "wall-clock"
    parts.append(
        '<p class="meta">'
        f"Baseline problem <b>{_esc(result.baseline_name)}</b> · {spec.samples} demand sample(s) "
        f"({_esc(spec.demand_noise)}), seed {spec.seed} · {spec.time_limit_s:g} s per solve, "
        f"{spec.workers} worker(s), {budget} budget · "
        f"{sum(len(s.records) for s in result.summaries)} solves in {result.wall_time_s:.0f} s · "
        f"run {result.started_at}</p>"
    )

    # variants
    parts.append(
        "<h2>Variants</h2><table class='variants'><tr><th class='name'>variant</th>"
        "<th class='name'>description</th><th class='name'>changes</th>"
        "<th class='name'>what the changes did (sample 1)</th></tr>"
    )
    for s, c in zip(result.summaries, cols, strict=True):
        changes = "<br>".join(_change_text(ch) for ch in s.changes) or "–"
        notes = "<br>".join(_esc(n) for n in s.notes) or "–"
        parts.append(
            f"<tr><td><span class='swatch' style='background:{c}'></span><b>{_esc(s.name)}</b></td>"
            f"<td>{_esc(s.description)}</td><td>{changes}</td><td class='note'>{notes}</td></tr>"
        )
    parts.append("</table>")

    # KPI table
    parts.append("<h2>KPIs side by side</h2>")
    parts.append(
        '<p class="note">Mean <span class="sd">± standard deviation</span> over the samples. '
        "Δ is the paired difference to the baseline (same demand sample), green when better, red "
        "when worse, <b>bold</b> when larger than two standard errors.</p>"
    )
    head = "<tr><th class='name'>KPI</th><th>baseline</th>"
    for s in result.summaries[1:]:
        head += f"<th class='variant'>{_esc(s.name)}</th><th>Δ</th>"
    parts.append("<table>" + head + "</tr>")
    for f in KPI_FIELDS:
        row = f"<tr><td class='name'>{_esc(f.label)}</td><td>{_cell(f, base.kpis[f.key])}</td>"
        for s in result.summaries[1:]:
            row += f"<td>{_cell(f, s.kpis[f.key])}</td>{_delta_cell(f, s.delta[f.key])}"
        parts.append(row + "</tr>")
    parts.append("</table>")

    # priority groups
    share_field = KpiField("share", "share", "share", 1)
    count_field = KpiField("cases", "cases", "count", 0)
    groups = sorted({g for s in result.summaries for g in s.group_share})
    parts.append("<h2>Assigned share by priority group</h2>")
    parts.append(
        '<p class="note">Share of the group\'s cases that got a lawyer (mean ± std over samples), '
        'with the group\'s case count; "none" is cases in no priority group.</p>'
    )
    head = "<tr><th class='name'>priority group</th><th>cases</th><th>baseline</th>"
    for s in result.summaries[1:]:
        head += f"<th class='variant'>cases</th><th>{_esc(s.name)}</th><th>Δ</th>"
    parts.append("<table>" + head + "</tr>")
    for g in groups:
        base_cases = (
            fmt_value(count_field, base.group_cases[g].mean) if g in base.group_cases else "–"
        )
        base_share = _cell(share_field, base.group_share[g]) if g in base.group_share else "–"
        row = (
            f"<tr><td class='name'>{_esc(g.replace('_', ' '))}</td>"
            f"<td>{base_cases}</td><td>{base_share}</td>"
        )
        for s in result.summaries[1:]:
            if g in s.group_share:
                row += (
                    f"<td>{fmt_value(count_field, s.group_cases[g].mean)}</td>"
                    f"<td>{_cell(share_field, s.group_share[g])}</td>"
                    f"{_delta_cell(share_field, s.group_delta[g])}"
                )
            else:
                row += "<td>–</td><td>–</td><td></td>"
        parts.append(row + "</tr>")
    parts.append("</table>")

    # charts
    parts.append("<h2>Charts</h2>")
    parts.append(_img(group_share_chart(result), "Assigned share by priority group"))
    parts.append(_img(unassigned_chart(result), "Unassigned cases by reason"))
    parts.append(_img(utilisation_chart(result), "Utilisation distribution per variant"))
    parts.append(_img(travel_chart(result), "Travel per assigned case per variant"))

    # solves
    parts.append("<h2>Solves</h2><details><summary>every solve (variant × sample)</summary><table>")
    parts.append(
        "<tr><th class='name'>variant</th><th>sample</th><th>cases</th><th>assigned</th>"
        "<th>status</th><th class='name'>method</th><th>gap</th><th>time</th>"
        "<th class='name'>notes</th></tr>"
    )
    for s in result.summaries:
        for r in s.records:
            k = r.kpis
            parts.append(
                f"<tr><td class='name'>{_esc(s.name)}</td><td>{r.sample + 1}</td>"
                f"<td>{k['cases']:,.0f}</td><td>{k['assigned']:,.0f}</td><td>{_esc(r.status)}</td>"
                f"<td class='name'>{_esc(r.method)}</td><td>{k['solver_gap'] * 100:.2f}%</td>"
                f"<td>{k['solve_time_s']:.1f} s</td>"
                f"<td class='name note'>{_esc('; '.join(r.notes))}</td></tr>"
            )
    parts.append("</table></details>")
    parts.append(f'<p class="note">{source} Variants: {_esc(", ".join(names))}.</p>')
    parts.append("</body></html>")
    return "\n".join(parts)
