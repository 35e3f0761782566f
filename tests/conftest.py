import os
import sys

import pytest
import torch
from hypothesis import HealthCheck, settings
from reference import default_dtype

settings.register_profile(
    "default",
    max_examples=int(os.environ.get("HYPOTHESIS_MAX_EXAMPLES", "60")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.load_profile("default")


@pytest.fixture
def float64_default():
    with default_dtype(torch.float64):
        yield


def pytest_terminal_summary(terminalreporter):
    # CI's evidence that the CUDA kernels ran: how many launches the SIMT
    # emulator ran, and how the tests that compared them came out.
    emulation = sys.modules.get("emulation")
    counts = emulation.launch_counts_so_far() if emulation is not None else None
    if counts is None:
        return
    counts = {name: count for name, count in counts.items() if not name.startswith("probe:")}
    outcomes = {}
    for outcome in ("passed", "failed", "error", "skipped"):
        for report in terminalreporter.stats.get(outcome, []):
            if "test_cuda_emulation.py" in getattr(report, "nodeid", "") and getattr(report, "when", "call") in ("call", "setup"):
                if outcome != "passed" or report.when == "call":
                    outcomes[outcome] = outcomes.get(outcome, 0) + 1
    kernels = ", ".join(f"{name} {count}" for name, count in sorted(counts.items()))
    terminalreporter.write_sep("-", "CUDA kernels in the SIMT emulator")
    terminalreporter.write_line(f"{sum(counts.values())} kernel launches emulated, of {len(counts)} kernels: {kernels}")
    terminalreporter.write_line(
        "emulated results compared with the CPU ops: "
        + ", ".join(f"{count} {outcome}" for outcome, count in sorted(outcomes.items()))
        + (" (all matched)" if set(outcomes) == {"passed"} else " (NOT all matched)")
    )
