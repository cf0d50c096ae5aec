"""Rebalancing: a plan of moves from the current state within a move budget, explained."""

from assigner.rebalance.budget import (
    DEFAULT_MOVE_SHARE,
    BudgetTooSmall,
    RebalanceInfeasible,
    default_move_budget,
)
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
    "DEFAULT_MOVE_SHARE",
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
    "default_move_budget",
    "fingerprint",
    "planned_state",
    "rebalance",
]
