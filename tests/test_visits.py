"""The expected-visit rules (scraper/judge/visits.py): windows from a council's history."""

from __future__ import annotations

from datetime import date

from scraper.judge.visits import Visit, add_months, expected_window, measure


def test_add_months_clamps_to_the_last_day_of_the_month() -> None:
    """31 January plus one month is the last day of February, and years roll over."""
    assert add_months(date(2024, 1, 31), 1) == date(2024, 2, 29)
    assert add_months(date(2023, 11, 15), 3) == date(2024, 2, 15)


def test_no_graded_inspection_gives_no_window() -> None:
    """Without a graded inspection the framework's cycle has no start: no window."""
    assert expected_window([Visit("focused_visit", date(2024, 1, 1))], date(2024, 6, 1)) is None


def test_inadequate_expects_a_monitoring_visit_two_to_six_months_after_the_last() -> None:
    """After an inadequate judgement the next monitoring visit is due 2-6 months after the
    inspection, then 2-6 months after each visit, and the basis says which visit it is."""
    history = [Visit("inspection", date(2023, 3, 1), "inadequate")]
    w = expected_window(history, date(2023, 3, 2))
    assert w is not None and w.kind == "monitoring_visit"
    assert (w.start, w.end) == (date(2023, 5, 1), date(2023, 9, 1))
    history.append(Visit("monitoring_visit", date(2023, 7, 10)))
    w = expected_window(history, date(2023, 7, 11))
    assert w is not None and (w.start, w.end) == (date(2023, 9, 10), date(2024, 1, 10))
    assert "visit 2" in w.basis and "inadequate" in w.basis


def test_inadequate_two_years_on_expects_a_reinspection() -> None:
    """Two years after an inadequate judgement the window is for a re-inspection."""
    history = [
        Visit("inspection", date(2021, 1, 10), "inadequate"),
        Visit("monitoring_visit", date(2022, 11, 1)),
    ]
    w = expected_window(history, date(2022, 11, 2))
    assert w is not None and w.kind == "inspection" and "re-inspection" in w.basis


def test_requires_improvement_expects_a_focused_visit_then_the_inspection() -> None:
    """A council judged RI expects a focused visit 9-30 months on; once it has had one, a
    standard inspection within six months either side of the third anniversary."""
    history = [Visit("inspection", date(2020, 6, 15), "requires_improvement")]
    w = expected_window(history, date(2020, 7, 1))
    assert w is not None and w.kind == "focused_visit"
    assert (w.start, w.end) == (date(2021, 3, 15), date(2022, 12, 15))
    history.append(Visit("focused_visit", date(2021, 11, 1)))
    w = expected_window(history, date(2021, 12, 1))
    assert w is not None and w.kind == "inspection" and "standard" in w.basis
    assert (w.start, w.end) == (date(2022, 12, 15), date(2023, 12, 15))


def test_good_expects_a_short_inspection() -> None:
    """A council judged good, after its focused visit, expects a short inspection."""
    history = [
        Visit("inspection", date(2019, 1, 1), "good"),
        Visit("jtai", date(2020, 1, 1)),
    ]
    w = expected_window(history, date(2020, 2, 1))
    assert w is not None and w.kind == "inspection" and "short" in w.basis


def test_a_window_that_has_passed_is_carried_forward_as_overdue() -> None:
    """When the window closed before today, the visit is overdue: expected from today."""
    history = [
        Visit("inspection", date(2015, 1, 1), "good"),
        Visit("focused_visit", date(2016, 1, 1)),
    ]
    w = expected_window(history, date(2020, 1, 1))
    assert w is not None and w.overdue and w.start == date(2020, 1, 1)
    assert "overdue" in w.basis


def test_measure_counts_hits_by_type_from_the_day_before() -> None:
    """Each visit after a graded inspection is tested against the rule's window of the day
    before; a late visit is a miss (the overdue carry-forward is not counted as a hit)."""
    history = [
        Visit("inspection", date(2020, 1, 1), "inadequate"),
        Visit("monitoring_visit", date(2020, 4, 1)),  # within 2-6 months: a hit
        Visit("monitoring_visit", date(2021, 6, 1)),  # 14 months later: a miss
        Visit("inspection", date(2022, 6, 1), "good"),  # 29 months on: re-inspection window
    ]
    rates = {r.report_type: r for r in measure([history])}
    assert (rates["monitoring_visit"].hits, rates["monitoring_visit"].total) == (1, 2)
    assert rates["inspection"].total == 1
    assert rates["monitoring_visit"].rate == 0.5
