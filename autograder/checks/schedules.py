"""Checks of learning-rate (and momentum) schedules: functions of the step, compared with torch's schedulers."""

import torch

from .compare import format_hyper
from .trajectory import check_trajectory


def torch_schedule_values(
    make_scheduler, steps, *, lr=1.0, optimizer_class=torch.optim.SGD, with_momentum=False, **optimizer_kwargs
):
    """What a torch scheduler puts in the first parameter group at steps 0 .. steps - 1.

    `make_scheduler(optimizer)` builds the scheduler on an optimizer over one parameter; values are read
    before each ``optimizer.step(); scheduler.step()``. With `with_momentum`, each value is the pair
    (lr, momentum), the momentum being SGD's ``momentum`` or Adam's β1.
    """
    param = torch.zeros(1, requires_grad=True)
    optimizer = optimizer_class([param], lr=lr, **optimizer_kwargs)
    scheduler = make_scheduler(optimizer)
    values = []
    for step in range(steps):
        group = optimizer.param_groups[0]
        lr_now = float(group["lr"])
        if with_momentum:
            values.append((lr_now, float(group["betas"][0] if "betas" in group else group["momentum"])))
        else:
            values.append(lr_now)
        if step < steps - 1:
            optimizer.step()  # no gradient, so nothing moves; keeps torch's order check quiet
            scheduler.step()
    return values


def check_schedule(
    student,
    expected,
    *,
    kwargs=None,
    names=("learning rate",),
    mistakes=None,
    rtol=1e-6,
    atol=1e-12,
    what=None,
    forbidden=(),
):
    """Compare ``student(step, **kwargs)`` with `expected[step]` at every step 0 .. len(expected) - 1.

    A schedule returns one number per step, or a tuple named by `names` (e.g. ("learning rate",
    "momentum")). `mistakes`: wrong schedules with the student's signature. `forbidden`: functions the
    student's schedule must not call (see forbidden.py).
    """
    kwargs = kwargs or {}
    what = what or f"{getattr(student, '__name__', 'your schedule')}({format_hyper(kwargs)})"

    def values(schedule, steps):
        outputs = (_outputs(schedule(step, **kwargs), names, what, step) for step in steps)
        return [{f"your {name}": value for name, value in zip(names, values_at_step)} for values_at_step in outputs]

    check_trajectory(
        lambda schedule, count: values(schedule, range(count or len(expected))),
        student,
        lambda step, **_kwargs: expected[step],
        what=what,
        when=lambda step: f"at step {step} ",
        mistakes=mistakes,
        rtol=rtol,
        atol=atol,
        # Each step is an input of its own: the second case is the steps after those compared first.
        another_case=lambda schedule, count: values(schedule, range(count, len(expected))),
        forbidden=forbidden,
    )


def _outputs(value, names, what, step):
    if value is None:
        raise AssertionError(f"{what} returned None at step {step}: did you forget to return the value?")
    if len(names) == 1:
        return (value,)
    if not (isinstance(value, (tuple, list)) and len(value) == len(names)):
        raise AssertionError(
            f"{what} must return a tuple of {len(names)} values at every step, got {value!r} at step {step}."
        )
    return value
