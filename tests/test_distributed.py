"""lrlib.distributed: DDP on local CPU processes equals single-process training, and
every process and port is cleaned up, also when a rank fails or time runs out."""

from __future__ import annotations

import multiprocessing
import os
import socket

import numpy as np
import pytest
import torch

from lrlib import schedules as S
from lrlib.data import Dataset, load_mnist1d
from lrlib.distributed import (
    DistributedRun,
    RankFailed,
    free_port,
    train_ddp,
    train_reference,
)

SCHEDULE = S.warmup(S.cosine(lr=0.2, T_max=15), warmup_steps=5, start_factor=0.1)


@pytest.fixture(scope="module")
def small():
    """400 MNIST-1D training examples: a global batch of 40 gives 10 steps per epoch."""
    data = load_mnist1d()
    return Dataset(data.x_train[:400], data.y_train[:400], data.x_test[:50],
                   data.y_test[:50])


def assert_all_gone(pids, port):
    assert multiprocessing.active_children() == []
    for pid in pids:
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)  # reaped: no such process any more
    with socket.socket() as sock, pytest.raises(ConnectionRefusedError):
        sock.connect(("127.0.0.1", port))  # nothing listens on the port any more
    # and the next rendezvous can take it (the closed connections may linger in TCP's
    # TIME_WAIT, which a server's SO_REUSEADDR, set by torch's TCPStore, allows)
    store = torch.distributed.TCPStore("127.0.0.1", port, 1, True)
    store.set("key", "value")
    assert store.get("key") == b"value"
    del store


def test_free_port_can_be_bound():
    port = free_port()
    assert 1024 <= port <= 65535
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", port))


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"schedule": 0.1}, r"train_ddp: schedule must be an lrlib schedule, got schedule=0.1"),
    ({"world_size": 0}, r"world_size must be a positive int, got world_size=0"),
    ({"world_size": 2.0}, r"world_size must be a positive int"),
    ({"global_batch_size": 41}, r"global_batch_size must be such that every global batch "
                                r"splits into world_size=2 equal shards"),
    ({"world_size": 3, "global_batch_size": 21},
     r"splits into world_size=3 equal shards \(the last batch of an epoch has 400 %"),
    ({"global_batch_size": 401}, r"at most the number of training examples \(400\)"),
    ({"epochs": 0}, r"epochs must be a positive int"),
    ({"momentum": 1.0}, r"momentum must be a finite number in \[0, 1\)"),
    ({"momentum": float("nan")}, r"momentum must be"),
    ({"timeout": 0.0}, r"timeout must be a finite number > 0"),
    ({"fail_rank": 2}, r"fail_rank must be None or a rank in \[0, 1\], got fail_rank=2"),
    ({"fail_rank": True}, r"fail_rank must be a non-negative int"),
    ({"seed": -1}, r"seed must be a non-negative int"),
    ({"data": "mnist"}, r"data must be None or an lrlib.data.Dataset"),
])
def test_bad_arguments_raise_before_any_process_starts(small, kwargs, message):
    args = {"schedule": SCHEDULE, "data": small, "global_batch_size": 40, **kwargs}
    with pytest.raises(ValueError, match=message):
        train_ddp(args.pop("schedule"), **args)
    assert multiprocessing.active_children() == []


def test_train_reference_checks_its_arguments(small):
    with pytest.raises(ValueError, match=r"train_reference: hidden must be a positive int"):
        train_reference(SCHEDULE, data=small, global_batch_size=40, hidden=0)


def test_train_reference_is_lrlib_train_with_the_schedule(small):
    hist, params = train_reference(SCHEDULE, data=small, global_batch_size=40, epochs=2,
                                   hidden=8)
    assert hist.num_steps == 20 and not hist.diverged
    np.testing.assert_array_equal(hist.lr, SCHEDULE(np.arange(20)))
    assert params.dtype == np.float64 and params.shape == (40 * 8 + 8 + 8 * 8 + 8 + 8 * 10 + 10,)


@pytest.fixture(scope="module")
def ddp_and_reference(small):
    run = train_ddp(SCHEDULE, world_size=2, data=small, global_batch_size=40, epochs=2,
                    hidden=16, seed=3)
    hist, params = train_reference(SCHEDULE, data=small, global_batch_size=40, epochs=2,
                                   hidden=16, seed=3)
    return run, hist, params


def test_every_rank_uses_the_schedule(ddp_and_reference):
    run, _, _ = ddp_and_reference
    assert isinstance(run, DistributedRun)
    assert run.world_size == 2 and run.num_steps == 20 and run.global_batch_size == 40
    np.testing.assert_array_equal(run.lr[0], run.lr[1])
    np.testing.assert_array_equal(run.lr[0], SCHEDULE(np.arange(20)))


def test_ranks_split_the_global_batches_of_lrlib_train(ddp_and_reference, small):
    run, _, _ = ddp_and_reference
    assert run.indices.shape == (2, 20, 20)
    generator = torch.Generator().manual_seed(3)  # how lrlib.train.train shuffles
    expected = np.concatenate([torch.randperm(400, generator=generator).numpy()
                               for _ in range(2)]).reshape(20, 40)
    np.testing.assert_array_equal(np.concatenate([run.indices[0], run.indices[1]], axis=1),
                                  expected)


def test_ddp_equals_single_process_training_on_the_global_batch(ddp_and_reference):
    run, hist, params = ddp_and_reference
    np.testing.assert_array_equal(run.params[0], run.params[1])  # replicas stay in sync
    np.testing.assert_allclose(run.params[0], params, rtol=1e-10, atol=1e-13)
    np.testing.assert_allclose(run.global_loss, hist.loss, rtol=1e-12)
    assert not np.allclose(run.loss[0], run.loss[1])  # the shards really differ


def test_successful_run_leaves_no_process_and_frees_the_port(ddp_and_reference):
    run, _, _ = ddp_and_reference
    assert len(run.pids) == 2
    assert_all_gone(run.pids, run.port)
    assert not run.lr.flags.writeable and not run.params.flags.writeable


def test_a_failing_rank_raises_in_the_parent_and_everything_is_cleaned_up(small):
    with pytest.raises(RankFailed, match=r"rank 1 of 2 failed, so every rank was stopped"
                                         r"[\s\S]*RuntimeError: rank 1 failed on purpose") as info:
        train_ddp(SCHEDULE, data=small, global_batch_size=40, hidden=8, fail_rank=1,
                  timeout=60.0)
    assert info.value.rank == 1 and len(info.value.pids) == 2
    assert_all_gone(info.value.pids, info.value.port)


def test_rank_zero_failing_is_reported_too(small):
    with pytest.raises(RankFailed, match=r"rank 0 of 2 failed") as info:
        train_ddp(SCHEDULE, data=small, global_batch_size=40, hidden=8, fail_rank=0,
                  timeout=60.0)
    assert_all_gone(info.value.pids, info.value.port)


def test_a_run_over_its_time_limit_is_stopped(small):
    with pytest.raises(RankFailed, match=r"did not finish within timeout=0.2 s") as info:
        train_ddp(SCHEDULE, data=small, global_batch_size=40, hidden=8, timeout=0.2)
    assert info.value.rank is None
    assert_all_gone(info.value.pids, info.value.port)
