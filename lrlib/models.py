"""The MNIST-1D models: logistic regression, an MLP and a small CNN.

These are the three baselines of Greydanus (2020), whose published test accuracies on
MNIST-1D are about 32% (logistic regression), 68% (MLP) and 94% (CNN). Every builder
takes a ``seed`` and initializes the weights from it without changing torch's global
random state, so the same seed always gives the same network: the weights equal those
of ``torch.manual_seed(seed)`` followed by building the same layers with torch's
default initialization.

>>> from lrlib.models import cnn, mlp, num_parameters
>>> print(f"MLP: {num_parameters(mlp())} parameters, CNN: {num_parameters(cnn())}")
MLP: 15210 parameters, CNN: 5210

References
----------
Greydanus, S. (2020). Scaling down deep learning. arXiv:2011.14439.
"""

from __future__ import annotations

import torch
from torch import nn

from lrlib import _validation as V

__all__ = ["ConvNet1D", "cnn", "logistic_regression", "mlp", "num_parameters"]


def _seeded(func: str, seed, build):
    """Build a module with torch's CPU generator seeded by ``seed``, then restore it."""
    seed = V.integer(func, "seed", seed, low=0)
    with torch.random.fork_rng(devices=[]):
        torch.random.default_generator.manual_seed(seed)
        return build()


def _sizes(func: str, in_features, num_classes) -> tuple[int, int]:
    return (V.integer(func, "in_features", in_features, low=1),
            V.integer(func, "num_classes", num_classes, low=2))


def logistic_regression(*, in_features: int = 40, num_classes: int = 10,
                        seed: int = 0) -> nn.Module:
    r"""Build multinomial logistic regression: one linear layer giving class logits.

    Parameters
    ----------
    in_features : int, default=40
        Input length, >= 1.
    num_classes : int, default=10
        Number of classes, >= 2.
    seed : int, default=0
        Seed of the initial weights, >= 0.

    Returns
    -------
    torch.nn.Linear
        Maps ``(N, in_features)`` to logits ``(N, num_classes)``.

    Notes
    -----
    .. math:: \text{logits} = W x + b, \qquad p(y = k \mid x) = \operatorname{softmax}_k

    (the softmax lives in the cross-entropy loss). Weights and biases start as in
    torch's default initialization, :math:`\mathcal U(-1/\sqrt{n_{in}}, 1/\sqrt{n_{in}})`.

    Examples
    --------
    >>> import torch
    >>> from lrlib.models import logistic_regression
    >>> model = logistic_regression(seed=0)
    >>> print(f"{tuple(model(torch.zeros(5, 40)).shape)}")
    (5, 10)
    """
    f = "logistic_regression"
    n_in, n_out = _sizes(f, in_features, num_classes)
    return _seeded(f, seed, lambda: nn.Linear(n_in, n_out))


def mlp(hidden: int = 100, *, in_features: int = 40, num_classes: int = 10,
        seed: int = 0) -> nn.Module:
    r"""Build the MLP baseline: two hidden ReLU layers of ``hidden`` units.

    Parameters
    ----------
    hidden : int, default=100
        Width of both hidden layers, >= 1.
    in_features : int, default=40
        Input length, >= 1.
    num_classes : int, default=10
        Number of classes, >= 2.
    seed : int, default=0
        Seed of the initial weights, >= 0.

    Returns
    -------
    torch.nn.Sequential
        ``Linear(in, hidden), ReLU, Linear(hidden, hidden), ReLU, Linear(hidden, classes)``.

    Notes
    -----
    .. math:: \text{logits} = W_3\,\sigma(W_2\,\sigma(W_1 x + b_1) + b_2) + b_3,
              \qquad \sigma(z) = \max(z, 0)

    With the defaults it has 15,210 parameters.

    Examples
    --------
    >>> import torch
    >>> from lrlib.models import mlp
    >>> a, b = mlp(seed=1), mlp(seed=1)
    >>> print(f"{tuple(a(torch.zeros(5, 40)).shape)} {torch.equal(a[0].weight, b[0].weight)}")
    (5, 10) True
    """
    f = "mlp"
    hidden = V.integer(f, "hidden", hidden, low=1)
    n_in, n_out = _sizes(f, in_features, num_classes)
    return _seeded(f, seed, lambda: nn.Sequential(
        nn.Linear(n_in, hidden), nn.ReLU(),
        nn.Linear(hidden, hidden), nn.ReLU(),
        nn.Linear(hidden, n_out)))


def _conv_length(length: int, kernel: int, stride: int = 2, padding: int = 1) -> int:
    return (length + 2 * padding - kernel) // stride + 1


class ConvNet1D(nn.Module):
    """Three strided 1-D convolutions with ReLU, then a linear classifier.

    Parameters
    ----------
    channels : int
        Channels of every convolution.
    in_features : int
        Input length.
    num_classes : int
        Number of classes.

    Notes
    -----
    Built by :func:`cnn`, which checks the arguments and seeds the weights. The input
    ``(N, L)`` is viewed as ``(N, 1, L)``; each convolution has stride 2 and padding 1
    (kernel sizes 5, 3, 3), so a length of 40 shrinks to 19, 10 and 5, and the linear
    layer sees ``channels * 5`` features.
    """

    def __init__(self, channels: int, in_features: int, num_classes: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv1d(1, channels, kernel_size=5, stride=2, padding=1)
        self.conv2 = nn.Conv1d(channels, channels, kernel_size=3, stride=2, padding=1)
        self.conv3 = nn.Conv1d(channels, channels, kernel_size=3, stride=2, padding=1)
        length = _conv_length(_conv_length(_conv_length(in_features, 5), 3), 3)
        self.linear = nn.Linear(channels * length, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits of shape ``(N, num_classes)`` for inputs of shape ``(N, L)``."""
        h = x.view(x.shape[0], 1, x.shape[-1])
        h = torch.relu(self.conv1(h))
        h = torch.relu(self.conv2(h))
        h = torch.relu(self.conv3(h))
        return self.linear(h.flatten(1))


def cnn(channels: int = 25, *, in_features: int = 40, num_classes: int = 10,
        seed: int = 0) -> nn.Module:
    r"""Build the CNN baseline: three strided convolutions and a linear layer.

    Parameters
    ----------
    channels : int, default=25
        Channels of each convolution, >= 1.
    in_features : int, default=40
        Input length, >= 3 (the first kernel, 5 wide, must fit the padded input).
    num_classes : int, default=10
        Number of classes, >= 2.
    seed : int, default=0
        Seed of the initial weights, >= 0.

    Returns
    -------
    ConvNet1D
        ``conv(1->C, k=5) - ReLU - conv(C->C, k=3) - ReLU - conv(C->C, k=3) - ReLU -
        flatten - linear``, all convolutions with stride 2 and padding 1.

    Notes
    -----
    Output length of a convolution: :math:`\lfloor (L + 2p - k)/s \rfloor + 1`, so
    :math:`40 \to 19 \to 10 \to 5`. With the defaults it has 5,210 parameters, a third
    of the MLP's, yet it reaches far higher accuracy: the convolutions share weights
    across positions, and MNIST-1D's digits are shifted copies of templates.

    Examples
    --------
    >>> import torch
    >>> from lrlib.models import cnn
    >>> model = cnn(seed=0)
    >>> print(f"{tuple(model(torch.zeros(5, 40)).shape)} {model.linear.in_features}")
    (5, 10) 125
    """
    f = "cnn"
    channels = V.integer(f, "channels", channels, low=1)
    n_in = V.integer(f, "in_features", in_features, low=3)
    n_out = V.integer(f, "num_classes", num_classes, low=2)
    return _seeded(f, seed, lambda: ConvNet1D(channels, n_in, n_out))


def num_parameters(model: nn.Module) -> int:
    """Return the number of trainable parameters of ``model``.

    Parameters
    ----------
    model : torch.nn.Module

    Returns
    -------
    int
        Total element count of the parameters with ``requires_grad``.

    Examples
    --------
    >>> from lrlib.models import logistic_regression, num_parameters
    >>> print(f"{num_parameters(logistic_regression())}")
    410
    """
    V.check(isinstance(model, nn.Module), "num_parameters", "model", "a torch.nn.Module",
            model)
    return sum(p.numel() for p in model.parameters() if p.requires_grad)
