r"""Data-parallel training on several CPU processes, driven by one lrlib schedule.

:func:`train_ddp` starts ``world_size`` processes on this machine, joins them in a
``gloo`` process group on the loopback interface, and trains the same MNIST-1D MLP in
each one with PyTorch's :class:`~torch.nn.parallel.DistributedDataParallel`. Every step
takes one *global* minibatch, drawn exactly as :func:`lrlib.train.train` draws it, and
gives each rank an equal slice of it; DDP averages the gradients, so every rank applies
the same update. Each rank's optimizer is driven by its own
:class:`~lrlib.torch_bridge.ScheduleLR` on the same schedule, and the rate each rank
used at every step is recorded and sent back to the caller, together with the shard
losses, the examples each rank saw and the final parameters.

:func:`train_reference` trains the same model on the same global batches in this
process with :func:`lrlib.train.train`, so the two can be compared number for number.

The processes are always cleaned up: each rank destroys its process group in a
``finally`` block; the parent waits with a time limit, stops the other ranks as soon
as one fails (a rank left waiting in a collective would otherwise hang until gloo's
timeout), terminates and then kills stragglers, and raises :class:`RankFailed` naming
the rank and its error. torch is imported only inside the functions that need it.

>>> from lrlib.distributed import free_port
>>> port = free_port()
>>> print(1024 <= port <= 65535)
True
"""

from __future__ import annotations

import os
import socket
import sys
import tempfile
import time
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from lrlib import _validation as V
from lrlib.schedules import Schedule

__all__ = ["DistributedRun", "RankFailed", "free_port", "train_ddp", "train_reference"]

_LOOPBACK = "127.0.0.1"
_GRACE = 5.0  # seconds a terminated rank gets before it is killed


class RankFailed(RuntimeError):
    """A rank of :func:`train_ddp` raised, crashed or ran out of time.

    Attributes
    ----------
    rank : int or None
        The rank that failed first (None when the whole run timed out).
    pids : tuple of int
        Process ids of every rank; all of them have exited when this is raised.
    port : int
        The localhost port of the rendezvous (free again when this is raised).
    """

    def __init__(self, message: str, rank: int | None, pids: tuple[int, ...],
                 port: int) -> None:
        super().__init__(message)
        self.rank = rank
        self.pids = pids
        self.port = port


@dataclass(frozen=True, eq=False)
class DistributedRun:
    """What each rank of :func:`train_ddp` recorded.

    Attributes
    ----------
    lr : ndarray of shape (world_size, num_steps)
        The rate each rank's optimizer used at each update (read from its param
        group just before ``optimizer.step()``).
    loss : ndarray of shape (world_size, num_steps)
        Each rank's loss on its own shard of the global batch, before the update.
    indices : ndarray of shape (world_size, num_steps, local_batch_size)
        The training examples (row numbers) each rank used at each update.
    params : ndarray of shape (world_size, num_params)
        Each rank's parameters after training, flattened in ``model.parameters()``
        order.
    global_batch_size : int
        Examples per update over all ranks.
    port : int
        The localhost port of the rendezvous (free again when this is returned).
    pids : tuple of int
        Process ids of the ranks (all exited).

    Notes
    -----
    The arrays are read-only. With equal shards and a mean loss, the global minibatch
    loss is the mean of the shard losses over the ranks (:attr:`global_loss`).
    """

    lr: np.ndarray
    loss: np.ndarray
    indices: np.ndarray
    params: np.ndarray
    global_batch_size: int
    port: int
    pids: tuple[int, ...]

    @property
    def world_size(self) -> int:
        """Number of ranks."""
        return int(self.lr.shape[0])

    @property
    def num_steps(self) -> int:
        """Updates made by every rank."""
        return int(self.lr.shape[1])

    @property
    def global_loss(self) -> np.ndarray:
        """The loss on each global batch, the mean of the shard losses, shape (num_steps,)."""
        return self.loss.mean(axis=0)


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that is free right now.

    Returns
    -------
    int
        A port chosen by the operating system (bind to port 0, read it back, close).

    Notes
    -----
    The socket is closed before returning, so another program could in principle take
    the port before it is used; the rendezvous of :func:`train_ddp` then fails with a
    clear error rather than hanging.

    Examples
    --------
    >>> import socket
    >>> from lrlib.distributed import free_port
    >>> port = free_port()
    >>> with socket.socket() as s:
    ...     s.bind(("127.0.0.1", port))
    >>> print(port > 0)
    True
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((_LOOPBACK, 0))
        return int(sock.getsockname()[1])


# ---------------------------------------------------------------------------
# Arguments
# ---------------------------------------------------------------------------


def _check_common(func: str, schedule, data, global_batch_size, epochs, hidden, momentum,
                  seed):
    from lrlib.data import Dataset, load_mnist1d

    V.check(isinstance(schedule, Schedule), func, "schedule", "an lrlib schedule", schedule)
    if data is None:
        data = load_mnist1d()
    V.check(isinstance(data, Dataset), func, "data", "None or an lrlib.data.Dataset", data)
    n_train = int(data.x_train.shape[0])
    global_batch_size = V.integer(func, "global_batch_size", global_batch_size, low=1)
    V.check(global_batch_size <= n_train, func, "global_batch_size",
            f"at most the number of training examples ({n_train})", global_batch_size)
    epochs = V.integer(func, "epochs", epochs, low=1)
    hidden = V.integer(func, "hidden", hidden, low=1)
    momentum = V.real(func, "momentum", momentum, low=0.0, high=1.0, high_open=True)
    seed = V.integer(func, "seed", seed, low=0)
    return data, global_batch_size, epochs, hidden, momentum, seed


def _numpy(arr) -> np.ndarray:
    if hasattr(arr, "detach"):
        arr = arr.detach().cpu().numpy()
    return np.asarray(arr)


def _build(hidden: int, seed: int, momentum: float, schedule: Schedule):
    """The float64 MLP, its SGD optimizer and the ScheduleLR driving it."""
    import torch

    from lrlib.models import mlp
    from lrlib.torch_bridge import ScheduleLR

    model = mlp(hidden, seed=seed).double()
    optimizer = torch.optim.SGD(model.parameters(), lr=float(schedule(0)), momentum=momentum)
    return model, optimizer, ScheduleLR(optimizer, schedule)


def _flat(model) -> np.ndarray:
    import torch

    with torch.no_grad():
        return torch.cat([p.detach().reshape(-1) for p in model.parameters()]).numpy().copy()


# ---------------------------------------------------------------------------
# Single process
# ---------------------------------------------------------------------------


def train_reference(schedule: Schedule, *, data: Any = None, global_batch_size: int = 200,
                    epochs: int = 1, hidden: int = 100, momentum: float = 0.9,
                    seed: int = 0) -> tuple[Any, np.ndarray]:
    """Train in this process on the global batches that :func:`train_ddp` splits.

    Parameters
    ----------
    schedule : lrlib.schedules.Schedule
        The per-step learning rate (scale it to ``global_batch_size`` yourself).
    data : Dataset, optional
        Training data; default :func:`lrlib.data.load_mnist1d`. Only the training split
        is used for the updates.
    global_batch_size : int, default=200
        Examples per update, >= 1.
    epochs : int, default=1
        Passes over the training set, >= 1.
    hidden : int, default=100
        Width of the MLP's hidden layers (:func:`lrlib.models.mlp`), >= 1.
    momentum : float, default=0.9
        Momentum of ``torch.optim.SGD``, in [0, 1).
    seed : int, default=0
        Seeds the initial weights and the order of the minibatches, >= 0.

    Returns
    -------
    history : lrlib.train.History
        What :func:`lrlib.train.train` recorded (per-step ``lr`` and ``loss``).
    params : ndarray of shape (num_params,)
        The parameters after training, flattened in ``model.parameters()`` order.

    Notes
    -----
    The model is ``lrlib.models.mlp(hidden, seed=seed)`` in float64, trained by
    ``torch.optim.SGD(momentum=momentum)`` driven by
    ``ScheduleLR(optimizer, schedule)`` through :func:`lrlib.train.train` with
    ``batch_size=global_batch_size`` and ``seed=seed``: the same model, optimizer and
    minibatches as every rank of :func:`train_ddp` uses together.

    Examples
    --------
    >>> import numpy as np
    >>> from lrlib.data import Dataset
    >>> from lrlib.distributed import train_reference
    >>> from lrlib.schedules import constant
    >>> rng = np.random.default_rng(0)
    >>> x, y = rng.normal(size=(40, 40)), rng.integers(0, 10, 40)
    >>> hist, params = train_reference(constant(lr=0.1), data=Dataset(x, y, x, y),
    ...                                global_batch_size=8, hidden=4)
    >>> print(f"{hist.num_steps} steps, {params.size} parameters, lr {hist.lr[0]}")
    5 steps, 234 parameters, lr 0.1
    """
    from lrlib.train import train

    data, global_batch_size, epochs, hidden, momentum, seed = _check_common(
        "train_reference", schedule, data, global_batch_size, epochs, hidden, momentum, seed)
    model, optimizer, scheduler = _build(hidden, seed, momentum, schedule)
    history = train(model, data, optimizer, epochs=epochs, batch_size=global_batch_size,
                    scheduler=scheduler, seed=seed)
    return history, _flat(model)


# ---------------------------------------------------------------------------
# Several processes
# ---------------------------------------------------------------------------


def _loopback_interface() -> str | None:
    """The name of the loopback interface ('lo' on Linux, 'lo0' on macOS), if found."""
    try:
        names = [name for _, name in socket.if_nameindex()]
    except (OSError, AttributeError):  # pragma: no cover - platform without the call
        return None
    return next((n for n in ("lo", "lo0") if n in names), None)


def _rank_loop(rank: int, world_size: int, config: dict[str, Any],
               outdir: str) -> dict[str, np.ndarray]:
    """Train this rank's replica; return what it recorded (runs inside a rank)."""
    import torch
    from torch.nn.parallel import DistributedDataParallel

    from lrlib.data import batches

    model, optimizer, scheduler = _build(config["hidden"], config["seed"],
                                         config["momentum"], config["schedule"])
    ddp = DistributedDataParallel(model)
    with np.load(Path(outdir) / "data.npz") as npz:
        x = torch.tensor(npz["x"], dtype=torch.float64)
        y = torch.tensor(npz["y"], dtype=torch.int64)
    rows = torch.arange(len(y))
    generator = torch.Generator().manual_seed(config["seed"])  # as lrlib.train.train
    record: dict[str, list] = {"lr": [], "loss": [], "indices": []}
    for _ in range(config["epochs"]):
        for batch, _ in batches(rows, y, config["global_batch_size"], generator=generator):
            local = len(batch) // world_size
            mine = batch[rank * local:(rank + 1) * local]
            record["lr"].append(float(optimizer.param_groups[0]["lr"]))
            optimizer.zero_grad()
            loss = torch.nn.functional.cross_entropy(ddp(x[mine]), y[mine])
            if config["fail_rank"] == rank:
                raise RuntimeError(f"rank {rank} failed on purpose (fail_rank={rank})")
            loss.backward()  # DDP all-reduces: every rank gets the mean gradient
            optimizer.step()
            scheduler.step()
            record["loss"].append(loss.item())
            record["indices"].append(mine.numpy().copy())
    return {"lr": np.array(record["lr"]), "loss": np.array(record["loss"]),
            "indices": np.array(record["indices"]), "params": _flat(model)}


def _worker(rank: int, world_size: int, port: int, config: dict[str, Any],
            outdir: str) -> None:
    """Entry point of one spawned rank: train, save the record, always clean up."""
    out = Path(outdir)
    log = open(out / f"rank{rank}.log", "w")  # kept open: fds 1 and 2 point at it
    os.dup2(log.fileno(), 1)  # the rank's output (and gloo's) goes to a file, not
    os.dup2(log.fileno(), 2)  # into the notebook of the parent
    try:
        import datetime

        import torch
        import torch.distributed as dist

        torch.set_num_threads(1)
        os.environ["MASTER_ADDR"] = _LOOPBACK
        os.environ["MASTER_PORT"] = str(port)
        loopback = _loopback_interface()
        if loopback is not None:
            os.environ.setdefault("GLOO_SOCKET_IFNAME", loopback)
        dist.init_process_group("gloo", rank=rank, world_size=world_size,
                                timeout=datetime.timedelta(seconds=config["timeout"]))
        try:
            record = _rank_loop(rank, world_size, config, outdir)
        finally:
            dist.destroy_process_group()
        tmp = out / f"rank{rank}.tmp.npz"
        np.savez(tmp, **record)
        os.replace(tmp, out / f"rank{rank}.npz")
        code = 0
    except BaseException as error:
        text = "".join(traceback.format_exception(error))
        (out / f"rank{rank}.err").write_text(f"{time.time()!r}\n{type(error).__name__}: "
                                             f"{error}\n{text}")
        code = 1
    sys.stdout.flush()
    sys.stderr.flush()
    log.close()
    # Everything is on disk: leave without the interpreter's teardown (seconds of torch
    # clean-up, and nothing left that could block the exit).
    os._exit(code)


def _first_failure(procs, outdir: Path) -> tuple[int, str] | None:
    """The rank that failed first (by the time it wrote its error) and its message."""
    failures = []
    for rank, proc in enumerate(procs):
        err = outdir / f"rank{rank}.err"
        if err.exists():
            stamp, _, text = err.read_text().partition("\n")
            failures.append((float(stamp), rank, text))
        elif proc.exitcode not in (None, 0):
            failures.append((float("inf"), rank, f"exited with code {proc.exitcode} "
                             "without a Python error (killed or crashed)"))
    if not failures:
        return None
    _, rank, text = min(failures)
    return rank, text


def _wait(procs, outdir: Path, timeout: float) -> str:
    """Wait until every rank exits ('done'), one fails ('failed'), or time runs out."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if any(p.exitcode not in (None, 0) for p in procs):
            return "failed"
        if any((outdir / f"rank{r}.err").exists() for r in range(len(procs))):
            return "failed"
        if all(p.exitcode == 0 for p in procs):
            return "done"
        procs[0].join(0.02)
    return "timeout"


def _stop(procs) -> None:
    """Terminate every rank still alive, kill those that ignore it, reap them all."""
    for proc in procs:
        if proc.is_alive():
            proc.terminate()
    deadline = time.monotonic() + _GRACE
    for proc in procs:
        proc.join(max(0.0, deadline - time.monotonic()))
        if proc.is_alive():
            proc.kill()
            proc.join()


def train_ddp(schedule: Schedule, *, world_size: int = 2, data: Any = None,
              global_batch_size: int = 200, epochs: int = 1, hidden: int = 100,
              momentum: float = 0.9, seed: int = 0, timeout: float = 120.0,
              fail_rank: int | None = None) -> DistributedRun:
    r"""Train with DistributedDataParallel on ``world_size`` local CPU processes.

    Parameters
    ----------
    schedule : lrlib.schedules.Schedule
        The per-step learning rate every rank uses, through its own
        :class:`~lrlib.torch_bridge.ScheduleLR`. Scale it to ``global_batch_size``
        yourself (the linear scaling rule multiplies the rate by the batch size).
    world_size : int, default=2
        Number of processes (ranks), >= 1.
    data : Dataset, optional
        Training data; default :func:`lrlib.data.load_mnist1d`. Only the training split
        is used; it is sent to every rank.
    global_batch_size : int, default=200
        Examples per update over all ranks, >= 1. Every global batch (the last one of an
        epoch included, ``n_train % global_batch_size`` examples when that is not 0)
        must split into ``world_size`` equal shards.
    epochs : int, default=1
        Passes over the training set, >= 1.
    hidden : int, default=100
        Width of the MLP's hidden layers (:func:`lrlib.models.mlp`), >= 1.
    momentum : float, default=0.9
        Momentum of ``torch.optim.SGD``, in [0, 1).
    seed : int, default=0
        Seeds the initial weights and the order of the minibatches, >= 0; the same in
        every rank.
    timeout : float, default=120.0
        Seconds the whole run may take, start-up included, > 0; also the time limit of
        the process group's collectives.
    fail_rank : int, optional
        For tests and demonstrations: this rank raises ``RuntimeError`` at its first
        step, after the process group is up and before its first backward pass (the
        other ranks then wait in the gradient all-reduce).

    Returns
    -------
    DistributedRun
        Per rank: the rates, shard losses and example indices of every step, and the
        final parameters.

    Raises
    ------
    RankFailed
        If a rank raises, crashes or the run exceeds ``timeout``. The message names the
        rank and its error; every rank has been stopped when it is raised.

    Notes
    -----
    Each step draws one global minibatch of ``global_batch_size`` examples exactly as
    :func:`lrlib.train.train` does with ``seed`` (a ``torch.Generator`` seeded once, one
    ``torch.randperm`` per epoch), and rank :math:`r` of :math:`W` takes its
    :math:`r`-th slice of :math:`B/W` examples. With the mean loss on each shard, DDP's
    all-reduce *averages* the gradients over the ranks, and with equal shards

    .. math::

        \frac1W \sum_{r=1}^{W} \frac{W}{B} \sum_{i \in S_r} \nabla \ell_i
        = \frac1B \sum_{i \in S} \nabla \ell_i ,

    the gradient of the mean loss over the global batch :math:`S`: each update equals
    single-process training on the global batch (:func:`train_reference`), up to
    floating-point rounding. Everything runs in float64, on one thread per rank.

    The ranks are started with the ``spawn`` method of :mod:`torch.multiprocessing`
    (so they import this module afresh: the training code must live in an importable
    module, not in a notebook cell), meet at ``127.0.0.1`` on a port from
    :func:`free_port` (``MASTER_ADDR``/``MASTER_PORT``), and form a ``gloo`` group on
    the loopback interface. A rank writes its output to a log file, not to the
    caller's screen. Clean-up happens whatever goes wrong: ``destroy_process_group`` in
    a ``finally`` block of every rank; in the parent, a wait with a time limit that
    stops at the first failure, then ``terminate``, ``kill`` after
    a grace period, and ``join`` for every rank, and removal of the temporary
    directory through which the ranks return their records.

    Examples
    --------
    >>> from lrlib.distributed import train_ddp
    >>> from lrlib.schedules import constant
    >>> run = train_ddp(constant(lr=0.1), world_size=2)  # doctest: +SKIP
    >>> print(run.lr.shape, (run.lr[0] == run.lr[1]).all())  # doctest: +SKIP
    (2, 20) True
    """
    f = "train_ddp"
    data, global_batch_size, epochs, hidden, momentum, seed = _check_common(
        f, schedule, data, global_batch_size, epochs, hidden, momentum, seed)
    world_size = V.integer(f, "world_size", world_size, low=1)
    timeout = V.positive(f, "timeout", timeout)
    if fail_rank is not None:
        fail_rank = V.integer(f, "fail_rank", fail_rank, low=0)
        V.check(fail_rank < world_size, f, "fail_rank",
                f"None or a rank in [0, {world_size - 1}]", fail_rank)
    n_train = int(data.x_train.shape[0])
    last = n_train % global_batch_size
    V.check(global_batch_size % world_size == 0 and last % world_size == 0, f,
            "global_batch_size", f"such that every global batch splits into world_size="
            f"{world_size} equal shards (the last batch of an epoch has "
            f"{n_train} % global_batch_size examples)", global_batch_size)
    arrays = {"x": _numpy(data.x_train).astype(np.float64),
              "y": _numpy(data.y_train).astype(np.int64)}
    config = {"schedule": schedule, "epochs": epochs,
              "global_batch_size": global_batch_size, "hidden": hidden,
              "momentum": momentum, "seed": seed, "timeout": timeout,
              "fail_rank": fail_rank}
    return _launch(world_size, config, arrays, timeout)


def _launch(world_size: int, config: dict[str, Any], arrays: dict[str, np.ndarray],
            timeout: float) -> DistributedRun:
    import torch.multiprocessing as mp

    ctx = mp.get_context("spawn")
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="lrlib-ddp-") as tmp:
        outdir = Path(tmp)
        # The data go through a file: a spawned child reads its arguments from a pipe,
        # and a parent writing more than the pipe holds to a child that died during
        # start-up would block forever. The arguments themselves stay small.
        np.savez(outdir / "data.npz", **arrays)
        procs = []
        try:
            for rank in range(world_size):
                proc = ctx.Process(target=_worker, args=(rank, world_size, port, config, tmp),
                                   name=f"lrlib-ddp-rank{rank}", daemon=True)
                proc.start()
                procs.append(proc)
            status = _wait(procs, outdir, timeout)
        finally:
            _stop(procs)
        pids = tuple(int(p.pid) for p in procs)
        if status == "timeout":
            raise RankFailed(f"train_ddp: the run did not finish within timeout={timeout} s; "
                             f"all {world_size} ranks were stopped", None, pids, port)
        failure = _first_failure(procs, outdir)
        if failure is not None:
            rank, text = failure
            raise RankFailed(f"train_ddp: rank {rank} of {world_size} failed, so every rank "
                             f"was stopped. Its error:\n{text.rstrip()}", rank, pids, port)
        records = []
        for rank in range(world_size):
            with np.load(outdir / f"rank{rank}.npz") as npz:
                records.append({k: npz[k] for k in ("lr", "loss", "indices", "params")})

    def stack(key):
        arr = np.stack([r[key] for r in records])
        arr.setflags(write=False)
        return arr

    return DistributedRun(lr=stack("lr"), loss=stack("loss"), indices=stack("indices"),
                          params=stack("params"),
                          global_batch_size=config["global_batch_size"], port=port,
                          pids=pids)
