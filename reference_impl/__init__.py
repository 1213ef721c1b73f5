"""Reference implementations for the Optimization Deep course.

One concept a module: update rules in `optim`, test surfaces in `landscapes`, data sets in `data`,
models in `models`, training loops in `train`, the interactive views in `widgets`.
"""

__version__ = "0.1.0"
