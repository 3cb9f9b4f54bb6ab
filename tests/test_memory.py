"""The allocator tuning that keeps password hashing from inflating the process."""

import gc
import platform

import pytest

from sceau.memory import GC_YOUNG_THRESHOLD, tune_allocator, tune_collector


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="mallopt is a glibc interface")
def test_mmap_threshold_is_fixed_on_glibc():
    assert tune_allocator() is True


def test_the_collector_skips_start_up_objects_and_scans_young_ones_less_often():
    before = gc.get_threshold()
    try:
        tune_collector()
        assert gc.get_freeze_count() > 0
        assert gc.get_threshold()[0] == GC_YOUNG_THRESHOLD > before[0]
    finally:
        gc.unfreeze()
        gc.set_threshold(*before)
