"""Hypothesis draws the same examples on every machine: the profile CI loads
(hypothesis' own "ci", chosen when a CI variable is set: derandomized, no
example database), loaded everywhere, so that the README's test command runs
the examples CI ran and takes the time CI took. With fresh random examples
a local run drew a pinned problem whose lenient brute force
(``tests/bruteforce.py``, exponential in the kept pins' starts) ran over 20
minutes in ``test_lagrange.py::test_never_above_the_least_u_of_the_tier``
(stop 61; stop 51 saw the same in ``test_cpsat.py``). Fresh examples, for a
fuzzing run: ``HYPOTHESIS_PROFILE=default pytest``."""

from __future__ import annotations

import os

from hypothesis import settings

settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))
