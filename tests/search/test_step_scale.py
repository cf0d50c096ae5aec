"""Tests the subgradient step-scale rule shared by the Lagrangian bounds."""

from __future__ import annotations

from assigner.search.step_scale import StepScale


def test_scale_halves_after_a_run_without_progress_and_an_improvement_resets_the_run() -> None:
    """Tests that two stalled steps (patience 2) halve the scale, that an improving step in
    between starts the count again, and that falling under the minimum exhausts it."""
    scale = StepScale(1.0, patience=2, minimum=0.3)
    scale.record(False)
    scale.record(True)
    scale.record(False)
    assert scale.value == 1.0
    scale.record(False)
    assert scale.value == 0.5
    assert not scale.exhausted
    scale.record(False)
    scale.record(False)
    assert scale.value == 0.25
    assert scale.exhausted
