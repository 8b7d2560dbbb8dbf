"""The benchmarks' sampler spreads its rounds over one frame-stack chunk of call depths.

A fixed depth measures each side of a comparison at one position of a CPython 3.12
frame-stack chunk's edge, which can cost one side 40% more than the other for the same
work (see BENCHMARKS.md, "Method").
"""

import inspect

from bench.measure import CHUNK_OF_CALLS, CpuClock, at_call_depth, sample_interleaved


def test_at_call_depth_runs_the_work_that_many_calls_deeper():
    def depth():
        return len(inspect.stack(0))

    here = depth()
    assert [at_call_depth(extra, depth) - here for extra in (0, 1, 40)] == [1, 2, 41]


def test_each_round_samples_every_side_at_one_depth_and_the_rounds_span_a_chunk():
    seen: dict[str, list[int]] = {"baseline": [], "subject": []}

    def sample(name):
        def take() -> CpuClock:
            seen[name].append(len(inspect.stack(0)))
            return CpuClock()

        return take

    sample_interleaved({name: sample(name) for name in seen}, repeats=8, warmup=1)

    baseline, subject = seen["baseline"], seen["subject"]
    assert baseline == subject  # round by round, both sides at the same depth
    first_round = baseline[1]  # baseline[0] is the warm-up's
    measured = [depth - first_round for depth in baseline[1:]]
    assert measured == [round_ * CHUNK_OF_CALLS // 8 for round_ in range(8)]
