import os

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
