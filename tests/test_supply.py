"""The supply gap: hand-made problems with a known number of recruits per
community, skills and day part, and on random problems the recruitment list
confirmed independently - recruits added to the pydantic problem, their visits
to the schedule, through ``assign.check``."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from hypothesis import HealthCheck, given, settings

import assign
from assign.compile import compile_problem
from assign.model import Assignment, Problem, Schedule, Volunteer
from assign.solution import solution_from_schedule
from assign.supply import SupplyReport, supply_gap

from .strategies import problems
from .test_greedy import at, problem

NOBODY = [{"skills": ["care"]}]  # a volunteer who cannot do medical visits


def gap(p: Problem) -> tuple[SupplyReport, Schedule]:
    schedule = assign.solve(p)
    c = compile_problem(p)
    return supply_gap(c, solution_from_schedule(c, schedule)), schedule


def assert_confirmed(p: Problem, schedule: Schedule, report: SupplyReport) -> None:
    """Recruits and their visits, added through the model, pass the validator
    and cover every task the report says they cover."""
    assert report.confirmed
    recruits = tuple(Volunteer.model_validate(v) for v in report.recruit_list)
    added = tuple(
        Assignment(task=t, volunteer=v, start=datetime.fromisoformat(s)) for t, v, s in report.assignments
    )
    bigger = p.model_copy(update={"volunteers": p.volunteers + recruits})
    longer = schedule.model_copy(update={"assignments": schedule.assignments + added})
    verdict = assign.check(bigger, longer)
    assert verdict.valid, [str(v) for v in verdict.violations]
    covered = {a.task for a in longer.assignments}
    for line in report.groups:
        hit = sum(t in covered for t in line.task_ids)
        assert hit == line.covered_tasks
        if line.recruits is not None:
            assert hit == line.tasks


def medical(**extra: Any) -> dict[str, Any]:
    return {"service": "medical", **extra}


def test_overlapping_needs_need_one_recruit_each() -> None:
    p = problem(NOBODY, [medical(), medical(), medical(recipient="r2")])
    report, schedule = gap(p)
    assert len(report.groups) == 1
    line = report.groups[0]
    assert (line.community, line.skills, line.part, line.recruits) == ("c1", ("medical",), "morning", 3)
    assert (line.tasks, line.tier, line.free_from, line.free_to) == (3, 1, at("09:00"), at("10:00"))
    assert report.recruits == 3 and report.covered_tasks == 3
    assert_confirmed(p, schedule, report)


def test_needs_one_after_another_share_a_recruit() -> None:
    tasks = [medical(window_start=at(f"{h:02d}:00"), window_end=at(f"{h + 1:02d}:00")) for h in (8, 9, 10)]
    report, schedule = gap(problem(NOBODY, tasks))
    assert [line.recruits for line in report.groups] == [1]
    assert report.groups[0].free_from == at("08:00") and report.groups[0].free_to == at("11:00")
    assert_confirmed(problem(NOBODY, tasks), schedule, report)


def test_one_group_per_day_part_and_skill() -> None:
    tasks = [
        medical(),
        medical(window_start=at("14:00"), window_end=at("15:00")),
        medical(window_start=at("19:00"), window_end=at("20:00")),
        {"service": "meals", "window_start": at("09:00"), "window_end": at("10:00")},
    ]
    p = problem([{"skills": ["care"]}], tasks)
    report, schedule = gap(p)
    parts = sorted((line.skills, line.part, line.recruits) for line in report.groups)
    assert parts == [
        (("meals",), "morning", 1),
        (("medical",), "afternoon", 1),
        (("medical",), "evening", 1),
        (("medical",), "morning", 1),
    ]
    # most urgent first: the three medical lines before the meals line
    assert report.groups[-1].skills == ("meals",)
    assert_confirmed(p, schedule, report)


def test_team_need_recruits_a_whole_team() -> None:
    p = problem(NOBODY, [{"service": "disability_care", "volunteers_needed": 2}])
    raw = p.model_dump(mode="json")
    raw["volunteers"][0]["skills"] = ["meals"]
    p = Problem.model_validate(raw)
    report, schedule = gap(p)
    assert report.groups[0].recruits == 2
    assert_confirmed(p, schedule, report)


def test_team_need_completed_by_an_existing_volunteer() -> None:
    # v1 can join the two-person visit as things stand: one recruit is enough
    p = problem([{}], [{"service": "disability_care", "volunteers_needed": 2}])
    report, schedule = gap(p)
    assert report.groups[0].recruits == 1
    assert ("t1", "v1", at("09:00")) in report.assignments
    assert_confirmed(p, schedule, report)


def test_outlying_recipient_gets_a_recruit_of_its_own() -> None:
    tasks = [medical(), medical(window_start=at("11:00"), window_end=at("12:00")), medical(recipient="r2")]
    raw = problem(NOBODY, tasks).model_dump(mode="json")
    raw["recipients"][1]["lat"] = 33.10  # ~8.5 km from r1, the centre of the group's homes
    p = Problem.model_validate(raw)
    report, schedule = gap(p)
    near = {line.near: line.recruits for line in report.groups}
    assert near == {None: 1, "r2": 1}
    assert_confirmed(p, schedule, report)


def test_nothing_to_recruit_when_everything_is_covered() -> None:
    report, _ = gap(problem([{}], [{}]))
    assert report.groups == () and report.recruits == 0 and report.confirmed


def test_to_dict_and_by_community() -> None:
    report, _ = gap(problem(NOBODY, [medical(), medical()]))
    out = report.to_dict()
    assert out["recruits"] == 2 and out["by_community"] == {"c1": {"recruits": 2, "tasks": 2, "weight": 20}}
    assert out["groups"][0]["skills"] == ["medical"] and out["recruit_list"][0]["community"] == "c1"
    assert "recruit 2 medical volunteer(s) living in c1" in report.groups[0].describe()


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(problems(max_volunteers=4, max_tasks=7, max_recipients=3))
def test_recruitment_list_is_confirmed_independently(p: Problem) -> None:
    report, schedule = gap(p)
    uncovered = len(p.tasks) - len({a.task for a in schedule.assignments})
    assert report.uncovered_tasks == uncovered == sum(line.tasks for line in report.groups)
    for line in report.groups:
        assert line.recruits is None or line.recruits >= 1
    assert_confirmed(p, schedule, report)
