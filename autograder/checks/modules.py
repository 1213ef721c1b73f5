"""Checks of torch modules (nn.Module classes): outputs, gradients, parameters and buffers, step by step."""

import numpy as np
import torch

from .compare import snapshot
from .trajectory import check_trajectory


def check_module(
    student_class,
    expected_class,
    inputs,
    *,
    training,
    args=(),
    kwargs=None,
    mistakes=None,
    seed=0,
    rtol=1e-6,
    atol=1e-9,
    forbidden=(),
):
    """Run a student's torch module and an expected one side by side and compare everything they produce.

    Both are built as ``cls(*args, **kwargs)`` (after seeding torch with `seed`) and used in float64. What
    is compared is behaviour, not the order the layers were built in: before any step, the initial value of
    each parameter and floating-point buffer the expected module initializes the same way under every seed
    (BatchNorm's weight of ones, running_var), and only the shape of those it draws at random (a Linear's
    weight: which values a layer draws depends on when it is built). Then every parameter, and every buffer
    drawn at random, gets the same random values in both modules, by name. For each input array in `inputs`,
    in training mode or not as `training` says (one bool per step), both run forward and backward with the
    same random upstream gradient; the output, the input's gradient, each parameter's gradient and each
    floating-point buffer of the expected module (e.g. running_mean) are compared after every step.
    `mistakes`: wrong module classes. `forbidden`: functions the student's module must not call (see
    forbidden.py).
    """
    kwargs = kwargs or {}
    what = f"{student_class.__name__}({', '.join([*map(repr, args), *(f'{k}={v!r}' for k, v in kwargs.items())])})"

    def run(seed_of_case):
        def records(module_class, count):
            steps = None if count is None else count - 1  # the first record is the initial state
            return module_trajectory(
                lambda: module_class(*args, **kwargs),
                lambda: expected_class(*args, **kwargs),
                inputs[:steps],
                training[:steps],
                seed_of_case,
                what,
            )

        return records

    def when(index):
        return (
            "before any step, "
            if index == 0
            else (f"at step {index} ({'training' if training[index - 1] else 'evaluation'} mode), ")
        )

    check_trajectory(
        run(seed),
        student_class,
        expected_class,
        what=what,
        when=when,
        mistakes=mistakes,
        rtol=rtol,
        atol=atol,
        why_none="autograd did not reach it.",
        another_case=run(seed + 1),  # other weights and upstream gradients
        forbidden=forbidden,
    )


def module_trajectory(make_module, make_expected, inputs, training, seed, what):
    """[initial parameters and buffers, then per step {output, input gradient, gradients, buffers}] as arrays.

    A gradient autograd does not reach is None.
    """
    generator = torch.Generator().manual_seed(seed)
    module = _built(make_module, seed)
    reference = _built(make_expected, seed)  # names the parameters and buffers that must exist
    parameter_names = [name for name, _ in reference.named_parameters()]
    buffer_names = [name for name, buffer in reference.named_buffers() if buffer.is_floating_point()]
    drawn = _drawn_at_random(reference, _built(make_expected, seed + 1))

    def read(name):
        try:
            value = module.get_parameter(name) if name in parameter_names else module.get_buffer(name)
        except AttributeError:
            value = getattr(module, name, None)
        if value is None:
            raise AssertionError(
                f"{what} has no {name!r}: it needs the same parameters and buffers as "
                f"{type(reference).__name__} ({', '.join(parameter_names + buffer_names)})."
            )
        return value

    def initial(name):
        # Of an entry drawn at random only the shape is compared (zeros of that shape stand for it).
        return np.zeros(read(name).shape) if name in drawn else snapshot(read(name))

    # Snapshots: the arrays would otherwise share memory with buffers that later steps update in place.
    records = [{f"your initial {name}": initial(name) for name in parameter_names + buffer_names}]
    with torch.no_grad():
        for name in parameter_names + [name for name in buffer_names if name in drawn]:
            read(name).copy_(torch.randn(read(name).shape, generator=generator, dtype=torch.float64))
    for x, mode in zip(inputs, training):
        module.train(mode)
        for name in parameter_names:
            read(name).grad = None
        tensor = torch.tensor(np.asarray(x, dtype=float), requires_grad=True)
        output = module(tensor)
        upstream = torch.randn(output.shape, generator=generator, dtype=torch.float64)
        (output * upstream).sum().backward()
        record = {"your output": snapshot(output), "your input gradient": snapshot(tensor.grad)}
        record.update({f"your gradient of {name}": snapshot(read(name).grad) for name in parameter_names})
        record.update({f"your {name}": snapshot(read(name)) for name in buffer_names})
        records.append(record)
    return records


def _built(make, seed):
    """``make()`` in float64, built after seeding torch with `seed`, leaving the global random state as it was."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return make().double()


def _drawn_at_random(module, built_under_another_seed):
    """Names of the parameters and floating-point buffers whose initial values depend on the seed."""
    other = dict(built_under_another_seed.named_parameters()) | dict(built_under_another_seed.named_buffers())
    return {
        name
        for name, value in [*module.named_parameters(), *module.named_buffers()]
        if value.is_floating_point() and not torch.equal(value, other[name])
    }
