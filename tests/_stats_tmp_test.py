from collections import Counter
from hypothesis import given, settings, HealthCheck, event
from tests.test_check import valid_cases, random_cases, pinned_cases, RefChecker, rows_of, conflicts_of, greedy, build
from assign.compile import compile_problem
from assign.check import violations

@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(valid_cases())
def test_valid(case):
    p, rows = case
    event(f"rows={min(len(rows),5)}")
    c = compile_problem(p)
    event(f"teams={any(c.t_needed[t]>1 for t,_,_ in rows)}")

@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(random_cases())
def test_random(case):
    p, sol = case
    c = compile_problem(p)
    found = violations(c, sol)
    for r in sorted({v.rule for v in found}): event(f"rule {r}")
    for v in found:
        if v.rule == 12: event("12:" + v.message.split(",")[0][:40])
    if c.t_pin.size: event("has pins")
    if sol.conflicts: event("has conflicts")
    event(f"valid={not found}")

@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(pinned_cases())
def test_pinned(case):
    p, rows = case
    c = compile_problem(p)
    ref = RefChecker(p)
    named = rows_of(c, build(rows))
    kept = [(t, v, s) for t, v, s in named if v in ref.ref.task[t].pinned]
    n = 0; addable = 0
    for task in p.tasks:
        for vid in task.pinned:
            if (task.id, vid) in {(t, v) for t, v, _ in named}: event("pin kept"); continue
            o = ref.pin_obstacles(task.id, vid, kept)
            event("dropped addable" if o is None else "dropped:" + ",".join(sorted(o)))
