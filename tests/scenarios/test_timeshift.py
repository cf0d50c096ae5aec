"""Moving a generated problem in time keeps every window and length."""

from __future__ import annotations

from datetime import UTC, date, datetime

from assigner.domain import KnownClient
from scenarios.generator import generate_county
from scenarios.timeshift import shift_to


def test_shift_keeps_windows_and_moves_every_date() -> None:
    """Tests that after moving the plan date every case keeps its window, every leave its
    length, and client-history dates move by the same whole days."""
    problem = generate_county("tiny", 3)
    firm = problem.firms[0]
    history = KnownClient(name="Former Client", ended_on=date(2026, 1, 5), matter_id="M1")
    problem = problem.model_copy(
        update={"firms": [firm.model_copy(update={"clients": [history]}), *problem.firms[1:]]}
    )
    when = datetime(2026, 11, 26, 8, 30, tzinfo=UTC)
    moved = shift_to(problem, when)
    delta = when - problem.as_of
    assert moved.as_of == when
    for old, new in zip(problem.cases, moved.cases, strict=True):
        assert new.assign_by - new.received_at == old.assign_by - old.received_at
        assert new.received_at - old.received_at == delta
    for old_lw, new_lw in zip(problem.lawyers, moved.lawyers, strict=True):
        for a, b in zip(old_lw.leave, new_lw.leave, strict=True):
            assert (b.end - b.start, (b.start - a.start).days) == (a.end - a.start, delta.days)
    assert moved.firms[0].clients[0].ended_on == date(2026, 1, 5) + (
        date.fromordinal(1 + delta.days) - date.fromordinal(1)
    )
