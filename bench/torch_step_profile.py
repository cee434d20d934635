#!/usr/bin/env python3
"""Where PyTorch's training step spends its time: ../shared/bench/torch_train.py (same model, step,
environment and arguments) with its --profile steps recorded by torch.profiler with input shapes and
FLOP counts. Prints, to stdout, the profiled ms per step, the matrix products (aten::mm / addmm /
bmm) by shape with their GFLOPS, and the other ops by self time: the PyTorch side of
bench/step-profile.ts. A profiling aid, never a test.

    /usr/bin/python3 bench/torch_step_profile.py --config small --threads 2 --dtype bf16

(run it in the best environment of ../shared/bench/README.md, as `npm run bench` does). Self times
are wall time on the calling thread, so a product's time includes the threads it waits for.
"""
import os
import runpy
import sys
from collections import defaultdict

HERE = os.path.dirname(os.path.abspath(__file__))
TRAIN = os.path.join(HERE, "..", "..", "shared", "bench", "torch_train.py")
if not os.path.exists(TRAIN):
    TRAIN = os.path.join(HERE, "..", "shared", "bench", "torch_train.py")

args = sys.argv[1:]
threads = args[args.index("--threads") + 1] if "--threads" in args else "2"
# As torch_train.py does before torch is loaded.
os.environ.setdefault("OPENBLAS_NUM_THREADS", threads)
os.environ.setdefault("OMP_NUM_THREADS", threads)

import torch.profiler as tp  # noqa: E402

PROFILED_STEPS = 2  # torch_train.py --profile records two steps
PRODUCTS = ("aten::mm", "aten::addmm", "aten::bmm")
real_profile = tp.profile


def report(prof):
    events = prof.key_averages(group_by_input_shape=True)
    total = sum(e.self_cpu_time_total for e in events) / 1e3 / PROFILED_STEPS
    prod_ms, prod_flops = 0.0, 0.0
    rows, other = [], defaultdict(float)
    for e in events:
        ms = e.self_cpu_time_total / 1e3 / PROFILED_STEPS
        if e.key in PRODUCTS:
            flops = (e.flops or 0) / PROFILED_STEPS
            prod_ms += ms
            prod_flops += flops
            rows.append((ms, e.key, e.input_shapes, e.count // PROFILED_STEPS, flops))
        else:
            other[e.key] += ms
    print(f"profiled step: {total:.1f} ms of op self time (median-free: mean of {PROFILED_STEPS} steps)")
    print(f"products (mm/addmm/bmm): {prod_ms:.1f} ms, {prod_flops / 1e9:.1f} GFLOP, "
          f"{prod_flops / 1e9 / (prod_ms / 1e3) if prod_ms else 0:.0f} GFLOPS")
    print("  ms/step  calls  GFLOPS  product and input shapes")
    for ms, key, shapes, n, flops in sorted(rows, key=lambda r: -r[0]):
        rate = flops / 1e9 / (ms / 1e3) if ms else 0.0
        print(f"{ms:9.1f} {n:6d} {rate:7.0f}  {key} {shapes}")
    print("other ops by self time:")
    for key, ms in sorted(other.items(), key=lambda kv: -kv[1])[:25]:
        print(f"{ms:9.1f}  {key}")
    sys.stdout.flush()


class RecordingProfile:
    """torch.profiler.profile with shapes and FLOPs recorded, reporting when it closes."""

    def __init__(self, **kw):
        self.inner = real_profile(record_shapes=True, with_flops=True, **kw)

    def __enter__(self):
        self.inner.__enter__()
        return self

    def __exit__(self, *exc):
        r = self.inner.__exit__(*exc)
        report(self.inner)
        return r

    def key_averages(self, *a, **k):
        return self.inner.key_averages(*a, **k)


tp.profile = RecordingProfile
sys.argv = [TRAIN] + args + ["--profile"]
# torch_train.py prints its JSON line and, to stderr, its own self-time table.
runpy.run_path(TRAIN, run_name="__main__")
