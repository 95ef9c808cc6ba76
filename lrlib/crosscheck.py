r"""Run a ``torch.optim`` optimizer on an lrlib problem, to compare it with lrlib's own.

:func:`torch_trajectory` is the torch twin of :func:`lrlib.problems.trajectory`: the
same problem, the same starting point, the same number of updates, but the updates are
made by a real ``torch.optim`` optimizer on a float64 tensor. The gradients are the
problem's own numpy gradients, handed to torch as ``.grad``, so any difference between
the two trajectories comes from the optimizers alone. A chapter uses it to show that
a numpy optimizer of :mod:`lrlib.optim` is the real algorithm:

>>> import numpy as np
>>> import torch
>>> from lrlib.crosscheck import torch_trajectory
>>> from lrlib.optim import Adam
>>> from lrlib.problems import Ravine, trajectory
>>> ravine = Ravine()
>>> ours = trajectory(ravine, lambda p: Adam(p, lr=0.1), [-4.0, 1.0], 20)
>>> theirs = torch_trajectory(ravine, lambda p: torch.optim.Adam(p, lr=0.1), [-4.0, 1.0], 20)
>>> print(f"agree to 1e-12: {np.max(np.abs(ours - theirs)) < 1e-12}")
agree to 1e-12: True
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from lrlib import _validation as V
from lrlib.problems import _trajectory_args

__all__ = ["torch_trajectory"]


def torch_trajectory(problem: Any, optimizer: Callable[[list], Any], x0: Any,
                     num_steps: int) -> np.ndarray:
    r"""Run a ``torch.optim`` optimizer on a problem and return every iterate.

    Parameters
    ----------
    problem : object with ``grad``
        For example :class:`lrlib.problems.Ravine`, :class:`~lrlib.problems.Rosenbrock`
        or :class:`~lrlib.problems.Quadratic1D`: ``grad(x)`` takes and returns numpy
        values of the shape of ``x0``.
    optimizer : callable
        A factory that takes the parameter list ``[x]`` (one float64 tensor) and
        returns a ``torch.optim.Optimizer`` over it, for example
        ``lambda params: torch.optim.SGD(params, lr=0.01, momentum=0.9)``.
    x0 : float or array_like
        Starting point (copied; not modified).
    num_steps : int
        Number of updates, >= 0.

    Returns
    -------
    ndarray of shape (num_steps + 1, *x0.shape)
        Row ``t`` is the iterate after ``t`` updates; row 0 is ``x0``. As in
        :func:`lrlib.problems.trajectory`, a diverging run is not stopped.

    Notes
    -----
    Update ``t`` sets ``x.grad`` to ``problem.grad(x_t)`` (computed in numpy, float64)
    and calls ``optimizer.step()``. No autograd is involved, so lrlib's
    :func:`~lrlib.problems.trajectory` and this function feed their optimizers
    bit-identical gradients at bit-identical points for as long as the two
    trajectories agree. torch's global random state is not used.

    Examples
    --------
    >>> import torch
    >>> from lrlib.crosscheck import torch_trajectory
    >>> from lrlib.problems import Quadratic1D
    >>> path = torch_trajectory(Quadratic1D(L=1.0),
    ...                         lambda p: torch.optim.SGD(p, lr=0.5), 8.0, 3)
    >>> print(path)
    [8. 4. 2. 1.]
    """
    import torch

    f = "torch_trajectory"
    num_steps, start = _trajectory_args(f, problem, optimizer, x0, num_steps,
                                        "a torch optimizer")
    x = torch.tensor(start, dtype=torch.float64, requires_grad=True)
    opt = optimizer([x])
    V.check(isinstance(opt, torch.optim.Optimizer), f, "optimizer",
            "a factory whose result is a torch.optim.Optimizer", optimizer)
    path = np.empty((num_steps + 1, *start.shape))
    path[0] = start
    with np.errstate(over="ignore", invalid="ignore"):
        for t in range(num_steps):
            point = x.detach().numpy().copy()
            grad = np.asarray(problem.grad(point), dtype=np.float64)
            x.grad = torch.tensor(np.broadcast_to(grad, start.shape).copy(),
                                  dtype=torch.float64)
            opt.step()
            path[t + 1] = x.detach().numpy()
    return path
