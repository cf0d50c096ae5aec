"""Explain each move (from, to, why, score change) and list the backlog placements.

Reasons are read off the states before and after, not off the search that found the plan, so a
plan from the MIP and one from the heuristic are explained the same way.  The first reason
that applies is the move's kind; the others follow in ``details``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from assigner.domain.arrays import ProblemArrays
from assigner.eligibility import Rule, eligibility_tables, why_not
from assigner.engine import Prepared
from assigner.rebalance.budget import KeepStart
from assigner.rebalance.documents import Move, MoveKind, NewAssignment
from assigner.search.instance import I32, I64, chosen_edges


@dataclass(frozen=True)
class Loads:
    """Workload hours and open cases per lawyer, with the outside load."""

    hours: np.ndarray
    count: I64

    @classmethod
    def of(cls, arrays: ProblemArrays, lawyer_of_case: np.ndarray) -> Loads:
        held = lawyer_of_case >= 0
        hours = arrays.current_load_hours + np.bincount(
            lawyer_of_case[held], weights=arrays.workload_hours[held], minlength=arrays.n_lawyers
        )
        count = arrays.current_open_cases + np.bincount(
            lawyer_of_case[held], minlength=arrays.n_lawyers
        )
        return cls(hours, count.astype(np.int64))

    def utilisation(self, arrays: ProblemArrays, lawyer: int) -> float:
        cap = float(arrays.capacity_hours[lawyer])
        return float(self.hours[lawyer]) / cap if cap > 0 else float("inf")


def _pct(x: float) -> str:
    return f"{x:.0%}" if np.isfinite(x) else "n/a (no capacity)"


class _Explainer:
    def __init__(self, prepared: Prepared, start: KeepStart, current: I32, after: I32) -> None:
        self.p = prepared
        self.arrays = prepared.arrays
        self.inst = prepared.instance
        self.start = start
        self.current = current
        self.after = after
        self.before_loads = Loads.of(self.arrays, current)
        self.after_loads = Loads.of(self.arrays, after)
        self.after_rows = chosen_edges(self.inst, after)
        self.tables = eligibility_tables(self.arrays) if start.ineligible.any() else None
        first_band = prepared.arrays.problem.policy.weights.utilisation_bands
        self.balance_from = first_band[0].above_share if first_band else 1.0
        used = self.after_rows[self.after_rows >= 0]
        self.held_weight = np.bincount(
            self.inst.edge_agent[used],
            weights=self.inst.edge_weight[used],
            minlength=self.inst.n_agents,
        ).astype(np.int64)
        self.held_count = np.bincount(self.inst.edge_agent[used], minlength=self.inst.n_agents)
        backlog = (current < 0) & (after >= 0)
        self.backlog_at: dict[int, list[int]] = {}
        for i in np.flatnonzero(backlog):
            self.backlog_at.setdefault(int(after[i]), []).append(int(i))
        moved_in = (current >= 0) & (after >= 0) & (after != current)
        self.moved_in_at: dict[int, list[int]] = {}
        for i in np.flatnonzero(moved_in):
            self.moved_in_at.setdefault(int(after[i]), []).append(int(i))

    def lawyer_id(self, li: int) -> str:
        return self.arrays.lawyer_ids[li]

    def ineligible_reasons(self, ci: int, li: int) -> list[tuple[MoveKind, str]]:
        """Why the current lawyer may no longer hold the case: the main reason first (leave,
        no longer accepting cases, the first rule), then every other rule that excludes the
        pair; a lawyer excluded only by the capacity rule (their other work alone leaves no
        room for it) is an overload."""
        arrays = self.arrays
        case, lawyer = arrays.problem.cases[ci], arrays.problem.lawyers[li]
        exclusions = why_not(arrays, case.id, lawyer.id, tables=self.tables)
        if exclusions and all(ex.rule is Rule.CAPACITY for ex in exclusions):
            return [(MoveKind.OVERLOAD, self.overload_reason(li))]
        main: tuple[MoveKind, str] | None = None
        rest = list(exclusions)
        for ex in exclusions:
            if ex.rule is Rule.AVAILABILITY:
                first = arrays.problem.day_of(arrays.problem.as_of)
                last = max(first, arrays.problem.day_of(case.assign_by))
                for lv in lawyer.leave:
                    if lv.start <= last and lv.end >= first:
                        main = (
                            MoveKind.LAWYER_INELIGIBLE,
                            f"lawyer on leave from {lv.start} to {lv.end}",
                        )
                        break
                if main is None and not lawyer.accepting_new_cases:
                    main = (MoveKind.LAWYER_INELIGIBLE, "lawyer no longer accepts cases")
                if main is not None:
                    rest.remove(ex)
                break
        if main is None and rest:
            ex = rest.pop(0)
            main = (
                MoveKind.LAWYER_INELIGIBLE,
                f"lawyer no longer eligible ({ex.rule.value}: {ex.detail})",
            )
        if main is None:
            return [(MoveKind.LAWYER_INELIGIBLE, "lawyer no longer eligible")]
        return [main] + [
            (MoveKind.LAWYER_INELIGIBLE, f"also {ex.rule.value}: {ex.detail}") for ex in rest
        ]

    def over_before(self, li: int) -> bool:
        """The lawyer was over capacity (hours or open cases) in the current state."""
        arrays, before = self.arrays, self.before_loads
        return bool(
            before.hours[li] > arrays.capacity_hours[li] + 1e-9
            or before.count[li] > arrays.max_open_cases[li]
        )

    def overload_reason(self, li: int) -> str:
        arrays = self.arrays
        before, after = self.before_loads, self.after_loads
        if before.hours[li] > arrays.capacity_hours[li] + 1e-9:
            u0, u1 = before.utilisation(arrays, li), after.utilisation(arrays, li)
            return (
                f"relieves overload of {self.lawyer_id(li)} (utilisation {_pct(u0)} -> {_pct(u1)})"
            )
        return (
            f"relieves overload of {self.lawyer_id(li)} (open cases {before.count[li]} -> "
            f"{after.count[li]}, at most {arrays.max_open_cases[li]})"
        )

    def would_not_fit(self, li: int, row_before: int) -> bool:
        """Had the case stayed with its lawyer (edge ``row_before``), the lawyer's cases in the
        plan would not fit (hours or open cases)."""
        inst = self.inst
        w = int(inst.edge_weight[row_before])
        return bool(
            self.held_weight[li] + w > inst.capacity[li]
            or self.held_count[li] + 1 > inst.max_count[li]
        )

    def room_for_moves_reason(self, li: int, row_before: int) -> str | None:
        """The lawyer took cases moved from other lawyers (those the hard rules force away
        first) that would not fit had this case stayed."""
        moved = self.moved_in_at.get(li)
        if not moved or row_before < 0 or not self.would_not_fit(li, row_before):
            return None
        forced = self.start.ineligible | self.start.over_capacity
        moved = sorted(moved, key=lambda j: (not forced[j], j))
        first = moved[0]
        came = f"case {self.arrays.case_ids[first]} from {self.lawyer_id(int(self.current[first]))}"
        if len(moved) == 1:
            return f"makes room at {self.lawyer_id(li)} for {came}"
        return (
            f"makes room at {self.lawyer_id(li)}, which takes {len(moved)} moved cases "
            f"(e.g. {came})"
        )

    def room_reason(self, ci: int, li: int, row_before: int) -> str | None:
        """The lawyer took backlog cases that would not fit had this case stayed."""
        placed = self.backlog_at.get(li)
        if not placed or row_before < 0 or not self.would_not_fit(li, row_before):
            return None
        inst = self.inst
        placed = sorted(placed, key=lambda j: (-int(inst.unassigned_penalty[j]), j))
        first = self.arrays.case_ids[placed[0]]
        if len(placed) == 1:
            return f"makes room at {self.lawyer_id(li)} for backlog case {first}"
        return (
            f"makes room at {self.lawyer_id(li)}, which takes {len(placed)} backlog cases "
            f"(e.g. {first})"
        )

    def move(self, ci: int) -> Move:
        arrays, inst, costs = self.arrays, self.inst, self.p.costs
        case = arrays.problem.cases[ci]
        cur = case.current_assignment
        assert cur is not None
        c, b = int(self.current[ci]), int(self.after[ci])
        penalty = int(inst.unassigned_penalty[ci])
        sl = inst.edges_of(ci)
        cur_hit = np.flatnonzero(inst.edge_agent[sl] == c)
        row_before = sl.start + int(cur_hit[0]) if cur_hit.size else -1
        row_after = int(self.after_rows[ci])
        cost_before = int(costs.total[row_before]) if row_before >= 0 else penalty
        cost_after = int(costs.total[row_after]) if row_after >= 0 else penalty
        terms_before = costs.breakdown(row_before) if row_before >= 0 else None
        terms_after = costs.breakdown(row_after) if row_after >= 0 else None

        reasons: list[tuple[MoveKind, str]] = []
        if self.start.ineligible[ci]:
            reasons += self.ineligible_reasons(ci, c)
        if self.start.over_capacity[ci] or self.over_before(c):
            reasons.append((MoveKind.OVERLOAD, self.overload_reason(c)))
        if self.start.group_rule[ci]:
            reasons.append(
                (
                    MoveKind.GROUP_RULE,
                    f"a co-defendant, linked-case or opposing-side rule no longer allows "
                    f"{self.lawyer_id(c)}",
                )
            )
        room = self.room_reason(ci, c, row_before)
        if room is not None:
            reasons.append((MoveKind.ROOM_FOR_BACKLOG, room))
        room_for_moves = self.room_for_moves_reason(c, row_before)
        if room_for_moves is not None:
            reasons.append((MoveKind.ROOM_FOR_MOVE, room_for_moves))
        if (
            terms_after is not None
            and terms_before is not None
            and terms_after["continuity"] < terms_before["continuity"]
        ):
            prior = case.prior_lawyer_id == self.lawyer_id(b)
            reasons.append(
                (
                    MoveKind.CONTINUITY,
                    "to the client's prior lawyer" if prior else "to the lawyer of a linked case",
                )
            )
        if b >= 0:
            u0c = self.before_loads.utilisation(arrays, c)
            u1c = self.after_loads.utilisation(arrays, c)
            u0b = self.before_loads.utilisation(arrays, b)
            u1b = self.after_loads.utilisation(arrays, b)
            # Only where the move's own lawyer ends less loaded than it was: the plan may also
            # give that lawyer backlog cases, and then the move balances nothing.
            if u0c > self.balance_from and u1b < u0c and u1c < u0c:
                reasons.append(
                    (
                        MoveKind.BALANCE,
                        f"balances load: {self.lawyer_id(c)} {_pct(u0c)} -> {_pct(u1c)}, "
                        f"{self.lawyer_id(b)} {_pct(u0b)} -> {_pct(u1b)}",
                    )
                )
        if cost_after < cost_before and terms_before is not None and terms_after is not None:
            lower = sorted(
                (name for name in terms_after if terms_after[name] < terms_before[name]),
                key=lambda name: terms_after[name] - terms_before[name],
            )
            reasons.append(
                (
                    MoveKind.COST,
                    f"lowers the case's cost by {cost_before - cost_after} points"
                    + (f" ({', '.join(lower[:3])})" if lower else ""),
                )
            )
        if not reasons:
            change = cost_after - cost_before
            reasons.append(
                (
                    MoveKind.COST,
                    "lowers the plan's objective through the lawyers' utilisation bands and "
                    "quotas"
                    + (
                        f", although the case's own cost rises by {change} points"
                        if change > 0
                        else ""
                    ),
                )
            )
        if b < 0:
            reasons.append(
                (reasons[0][0], "left unassigned: no eligible lawyer with room within the budget")
            )
        kind, reason = reasons[0]
        return Move(
            case_id=case.id,
            from_lawyer_id=cur.lawyer_id,
            to_lawyer_id=self.lawyer_id(b) if b >= 0 else None,
            kind=kind,
            reason=reason,
            details=[r for _, r in reasons[1:]],
            started=cur.started,
            pinned=cur.pinned,
            cost_before_points=cost_before,
            cost_after_points=cost_after,
            score_change_points=cost_after - cost_before,
            terms_before=terms_before,
            terms_after=terms_after,
        )


def explain_moves(
    prepared: Prepared, start: KeepStart, current: I32, after: I32
) -> tuple[list[Move], list[NewAssignment]]:
    """The moves (cases with a current lawyer that change) and the backlog placements."""
    ex = _Explainer(prepared, start, current, after)
    moved = np.flatnonzero((current >= 0) & (after != current))
    moves = [ex.move(int(i)) for i in moved]
    new = []
    costs = prepared.costs
    for i in np.flatnonzero((current < 0) & (after >= 0)):
        row = int(ex.after_rows[i])
        new.append(
            NewAssignment(
                case_id=prepared.arrays.case_ids[int(i)],
                lawyer_id=ex.lawyer_id(int(after[i])),
                cost_points=int(costs.total[row]),
                terms=costs.breakdown(row),
            )
        )
    return moves, new
