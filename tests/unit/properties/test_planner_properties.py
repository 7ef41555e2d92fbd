"""Property-based checks (hypothesis) of the pure RayCluster pod planner: bounded work, no duplicate slots.

Bounded examples (``max_examples``) keep these in ``make test``'s fast unit stage.
"""

from __future__ import annotations

from hypothesis import example, given, settings
from hypothesis import strategies as st

from raykube.controllers.raycluster.plan import plan_pods
from tests.builders.pod import make_pod
from tests.unit.controllers.fixtures import make_cluster

INT32 = 2**31 - 1
FAST = settings(max_examples=60, deadline=None)

groups = st.lists(
    st.tuples(st.integers(0, INT32), st.integers(1, 4), st.integers(0, 6)),  # replicas, hosts, live pods
    min_size=1,
    max_size=3,
)


@FAST
@given(groups=groups, budget=st.integers(0, 300), head_alive=st.booleans())
# Found by hypothesis: 3 live pods of a 4-host group without replica-name labels; new replicas come whole,
# so the plan used to take 8 slots where 5 pods were missing.
@example(groups=[(2, 4, 3)], budget=6, head_alive=False)
def test_one_pass_never_plans_more_than_its_budget_and_accounts_for_every_missing_pod(
    groups: list[tuple[int, int, int]], budget: int, head_alive: bool
) -> None:
    builder = make_cluster()
    pods = [make_pod("head")] if head_alive else []
    for number, (replicas, hosts, live) in enumerate(groups):
        name = f"g{number}"
        builder.worker_group(name, replicas=replicas, max_replicas=INT32, hosts=hosts)
        pods += [
            make_pod(f"{name}-{i}", group=name, labels={"ray.io/worker-group-replica-index": str(i)})
            for i in range(live)
        ]
    plan = plan_pods(builder.obj(), pods, max_creates=budget)

    planned = sum(plan.creates.values())
    assert int(plan.create_head) + planned <= max(budget, int(plan.create_head))
    missing = sum(max(0, r * h - live) for r, h, live in groups)
    assert planned + plan.deferred >= missing  # nothing is silently dropped
    for number, (_, hosts, _) in enumerate(groups):
        slots = plan.new_workers.get(f"g{number}", ())
        if hosts == 1:
            indexes = [s.replica_index for s in slots]
            assert len(set(indexes)) == len(indexes), "two new pods never share a replica index"
            assert not set(indexes) & set(range(groups[number][2])), "a live pod's index is never reused"
        else:
            keys = [(s.replica_name, s.host_index) for s in slots]
            assert len(set(keys)) == len(keys), "two new pods never share a replica host"
