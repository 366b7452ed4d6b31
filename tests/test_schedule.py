import math

from grokflow.schedule import checkpoint_steps


def test_schedule_contains_ends_and_extras_within_budget():
    steps = checkpoint_steps(6000, per_decade=20, extra_steps=[100, 500, 5000, 990000])
    assert steps[0] == 0 and steps[-1] == 6000
    assert {100, 500, 5000} <= set(steps) and 990000 not in steps
    assert steps == sorted(set(steps))


def test_schedule_is_log_spaced_at_the_requested_density():
    steps = checkpoint_steps(1_000_000, per_decade=40)
    for low in (1_000, 10_000, 100_000):
        in_decade = [s for s in steps if low <= s < 10 * low]
        assert abs(len(in_decade) - 40) <= 1
    ratios = [b / a for a, b in zip(steps[1:], steps[2:]) if a >= 1000]
    assert max(ratios) < 10 ** (1 / 40) * 1.01


def test_schedule_is_deterministic_and_small_budgets_work():
    assert checkpoint_steps(1) == [0, 1]
    assert checkpoint_steps(40, 5, [10]) == checkpoint_steps(40, 5, [10])
    assert len(checkpoint_steps(1000, per_decade=10)) <= math.ceil(10 * 3) + 2
