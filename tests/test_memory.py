"""The allocator tuning that keeps password hashing from inflating the process."""

import platform

import pytest

from sceau.memory import tune_allocator


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="mallopt is a glibc interface")
def test_mmap_threshold_is_fixed_on_glibc():
    assert tune_allocator() is True
