"""Rebalancing: a plan of moves from the current state within a move budget, explained."""

from assigner.rebalance.budget import BudgetTooSmall, RebalanceInfeasible
from assigner.rebalance.documents import (
    BudgetReport,
    Move,
    MoveKind,
    NewAssignment,
    PlannedState,
    RebalanceCounts,
    RebalancePlan,
)
from assigner.rebalance.planner import RebalanceError, rebalance
from assigner.rebalance.snapshot import (
    StateChanged,
    apply_check,
    apply_to_problem,
    fingerprint,
    planned_state,
)

__all__ = [
    "BudgetReport",
    "BudgetTooSmall",
    "Move",
    "MoveKind",
    "NewAssignment",
    "PlannedState",
    "RebalanceCounts",
    "RebalanceError",
    "RebalanceInfeasible",
    "RebalancePlan",
    "StateChanged",
    "apply_check",
    "apply_to_problem",
    "fingerprint",
    "planned_state",
    "rebalance",
]
