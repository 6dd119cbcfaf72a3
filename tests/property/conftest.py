"""The hypothesis profiles of the property tests: few examples, the same ones every run.

CI runs the default profile. ``TAPEGRAD_HYPOTHESIS=thorough`` draws many more examples (and
new ones each run) to hunt for bugs locally; any it finds become fixes and stay found.
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, Phase, settings

_COMMON = dict(
    deadline=None,  # timing varies on loaded CI machines; nothing here is timed
    database=None,  # nothing to replay: derandomized runs draw the same examples anyway
    print_blob=False,
    # no explain phase: it imports libcst, whose DeprecationWarning breaks failure reports
    phases=[Phase.explicit, Phase.reuse, Phase.generate, Phase.target, Phase.shrink],
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

settings.register_profile(
    "tapegrad",
    max_examples=20,  # per op: the tests are parametrized by op name
    derandomize=True,  # CI and every laptop draw the same examples: no flaky failures
    **_COMMON,
)
settings.register_profile("thorough", max_examples=500, derandomize=False, **_COMMON)
settings.load_profile(
    "thorough" if os.environ.get("TAPEGRAD_HYPOTHESIS") == "thorough" else "tapegrad"
)
