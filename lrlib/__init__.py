"""lrlib: learning-rate schedules, optimizers and the LR range test, checked against PyTorch.

Modules
-------
schedules     pure, vectorized schedules: ``lr = schedule(step)``
plateau       ReduceLROnPlateau, the one metric-driven, stateful schedule
optim         numpy optimizers with exactly torch.optim's update rules
finder        the LR range test and its suggestion rules
torch_bridge  ScheduleLR: any lrlib schedule drives a torch optimizer
problems      the standard experiments (house prices, noisy line, ravine, Rosenbrock)
data          MNIST-1D, generated locally and cached
models        the MNIST-1D models (logistic regression, MLP, CNN)
train         a small torch training loop that records rates, losses and accuracy
plotting      schedule, history, range-test and trajectory plots

torch is imported only by the modules that need it (torch_bridge, finder's torch
path, data's tensor helpers, models, train).
"""

__version__ = "0.1.0"
