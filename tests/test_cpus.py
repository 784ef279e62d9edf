"""The thread governor: free CPUs measured from /proc/stat, thread counts that do not change results."""

import subprocess
import sys
import time

import numpy as np
import pytest
import torch

from tstransfer import cpus
from tstransfer.data import load_dataset
from tstransfer.models import create_model
from tstransfer.recipe import TrainConfig
from tstransfer.training import fit


def test_threads_for_counts_a_cpu_taken_from_a_third_of_its_time():
    assert cpus.threads_for(0.0, 2, 2) == 2
    assert cpus.threads_for(0.2, 2, 2) == 2  # a little background noise
    assert cpus.threads_for(0.5, 2, 2) == 1  # a CPU shared with our spinning thread
    assert cpus.threads_for(1.0, 2, 2) == 1
    assert cpus.threads_for(2.0, 2, 2) == 1  # never fewer than one
    assert cpus.threads_for(1.0, 8, 4) == 4  # never more than torch's own count


def test_others_takes_our_own_time_off_the_busy_ticks():
    before = (1000, 4000, 10.0, 0.0)
    # 2 s on 2 CPUs = 400 ticks; 300 of them busy, 1 s of which was this process
    after = (1300, 4400, 11.0, 2.0)
    assert cpus.others_busy(before, after, n_cpus=2, hz=100) == pytest.approx(1.0)
    assert cpus.others_busy(before, before, n_cpus=2, hz=100) == 0.0


@pytest.mark.skipif(len(cpus.allowed_cpus()) < 2 or cpus.cpu_ticks([0]) is None,
                    reason="needs two CPUs and /proc/stat (the governor's whole subject)")
def test_a_busy_cpu_is_seen_and_left_alone():
    busy_cpu = cpus.allowed_cpus()[-1]
    code = f"import os; os.sched_setaffinity(0, {{{busy_cpu}}})\nwhile True: pass"
    loop = subprocess.Popen([sys.executable, "-c", code])
    try:
        time.sleep(0.3)
        governor = cpus.ThreadGovernor(first_look=0.5)
        busy, threads = governor.history[-1]
        assert busy >= 0.7
        assert threads <= len(governor.cpus) - 1
        assert torch.get_num_threads() == threads
        governor.close()
        assert torch.get_num_threads() == governor.found
    finally:
        loop.kill()
        loop.wait()


def test_thread_count_does_not_change_a_run(mini_archive):
    ds = load_dataset("SonyAIBORobotSurface1", mini_archive)
    weights = []
    for threads in (1, 2):
        torch.manual_seed(0)
        network = create_model("fcn", 1, ds.n_classes)
        fit(network, ds, TrainConfig(epochs=2, seed=0, threads=threads, test_every=None), progress=False)
        weights.append(np.concatenate([v.detach().numpy().ravel() for v in network.state_dict().values()
                                       if v.is_floating_point()]))
    np.testing.assert_array_equal(weights[0], weights[1])


def test_a_governed_run_gives_torch_its_thread_count_back(mini_archive):
    before = torch.get_num_threads()
    ds = load_dataset("SonyAIBORobotSurface1", mini_archive)
    fit(create_model("fcn", 1, ds.n_classes), ds, TrainConfig(epochs=1, seed=0, test_every=None), progress=False)
    assert torch.get_num_threads() == before
