"""Comparisons called by the lessons' self-checks and hidden tests.

Each check raises AssertionError with a message that says in words what differs, at which step, and,
when the answer matches a known wrong variant, which mistake it looks like.
"""
import copy

import numpy as np
import torch

STATELESS = object()  # marks an update rule without state, e.g. gd_step(param, grad, lr)


def describe(value) -> str:
    """A short, readable rendering of a number or array for a failure message."""
    array = _as_float_array(value)  # also tensors that require grad
    if array.size <= 6:
        return np.array2string(array, precision=5, separator=", ")
    return f"an array of shape {array.shape} starting {np.array2string(array.ravel()[:3], precision=5, separator=', ')}"


def is_close(actual, expected, rtol=1e-6, atol=1e-10) -> bool:
    actual, expected = _as_float_array(actual), _as_float_array(expected)
    return actual.shape == expected.shape and np.allclose(actual, expected, rtol=rtol, atol=atol)


def assert_close(actual, expected, what, rtol=1e-6, atol=1e-10, hint=""):
    """Fail unless `actual` equals `expected` within tolerance; `what` names the quantity."""
    if actual is None:
        raise AssertionError(f"{what} is None: did you forget to return it?")
    actual_array, expected_array = _as_float_array(actual), _as_float_array(expected)
    if actual_array.shape != expected_array.shape:
        raise AssertionError(f"{what} has shape {actual_array.shape}, expected {expected_array.shape}.")
    if not np.allclose(actual_array, expected_array, rtol=rtol, atol=atol):
        raise AssertionError(f"{what} is {describe(actual)}, expected {describe(expected)}.{hint}")


def check_rule(student, reference, *, param, grads, hyper=(), state=STATELESS, names=("parameter",),
               mistakes=None, rtol=1e-6, atol=1e-10, what=None):
    """Run `student` and `reference` side by side from the same start and compare every step.

    A rule is called as ``rule(param, grad, *hyper)`` returning the new parameter, or, when a starting
    `state` is given, ``rule(param, grad, state, *hyper)`` returning ``(new_param, new_state)``.
    `names` names the outputs in messages; `mistakes` maps a description of a known mistake to a
    rule that makes it, so a wrong answer is told which mistake it matches.
    """
    what = what or getattr(student, "__name__", "your function")
    expected = trajectory(reference, param, grads, hyper, state)
    actual = trajectory(student, param, grads, hyper, state, what=what)
    for step, (actual_outputs, expected_outputs) in enumerate(zip(actual, expected), start=1):
        for name, got, want in zip(names, actual_outputs, expected_outputs):
            if is_close(got, want, rtol, atol):
                continue
            raise AssertionError(
                f"{what}: after step {step}, your {name} is {describe(got)}, expected {describe(want)}."
                + mistake_hint(mistakes, lambda wrong: _matches(
                    actual[:step], trajectory(wrong, param, grads[:step], hyper, state), rtol, atol)))


def trajectory(rule, param, grads, hyper=(), state=STATELESS, what="the update rule"):
    """The outputs of `rule` after each gradient in `grads`: a list of tuples (param[, state]).

    Inputs are copied before every call, and a rule that changes its inputs in place is reported,
    since the lessons' rules must be pure functions.
    """
    outputs = []
    for grad in grads:
        args = (param, grad) if state is STATELESS else (param, grad, state)
        before = copy.deepcopy(args)
        result = rule(*args, *hyper)
        for name, original, now in zip(("param", "grad", "state"), before, args):
            if original is not None and not is_close(now, original, rtol=0, atol=0):
                raise AssertionError(f"{what} changed its input `{name}` in place: compute and return new values "
                                     "(e.g. `param - lr * grad`, not `param -= lr * grad`).")
        if state is STATELESS:
            param = result
            outputs.append((param,))
        else:
            if not (isinstance(result, tuple) and len(result) == 2):
                raise AssertionError(f"{what} must return a pair (new_param, new_state), got {type(result).__name__}.")
            param, state = result
            outputs.append(result)
    return outputs


def mistake_hint(mistakes, reproduces):
    """" That is what you get if you <mistake>." for the first known mistake that reproduces the answer, else "".

    `mistakes` maps a description to a wrong variant; `reproduces(wrong)` says whether the variant gives
    what the student's answer gave. A variant that cannot even run on these inputs does not match.
    """
    for description, wrong in (mistakes or {}).items():
        try:
            if reproduces(wrong):
                return f" That is what you get if you {description}."
        except Exception:  # noqa: BLE001 (any failure of a wrong variant means "not this mistake")
            continue
    return ""


def check_rule_against_torch(student, optimizer_class, torch_hyper, *, param, grads, hyper=(), state=STATELESS,
                             rtol=1e-6, atol=1e-10, what=None):
    """Compare the parameters a pure rule produces with those `optimizer_class(**torch_hyper)` produces.

    torch's optimizer runs on a float64 copy of `param` fed the same gradients, so this checks a
    student's rule against PyTorch itself rather than against our reference.
    """
    what = what or getattr(student, "__name__", "your function")
    tensor = torch.tensor(np.asarray(param, dtype=float), requires_grad=True)
    optimizer = optimizer_class([tensor], **torch_hyper)
    actual = trajectory(student, param, grads, hyper, state, what=what)
    for step, (outputs, grad) in enumerate(zip(actual, grads), start=1):
        tensor.grad = torch.tensor(np.asarray(grad, dtype=float))
        optimizer.step()
        if not is_close(outputs[0], tensor, rtol, atol):
            raise AssertionError(
                f"{what}: after step {step}, your parameter is {describe(outputs[0])}, but "
                f"torch.optim.{optimizer_class.__name__}({_format_hyper(torch_hyper)}) gives {describe(tensor)}.")


def check_optimizer(student_class, reference_class, hyper, *, steps=20, seed=0, mistakes=None,
                    rtol=1e-6, atol=1e-9, round_trip_at=None):
    """Compare a student's torch optimizer with `reference_class` over `steps` random-gradient steps.

    Both get identical float64 parameters (one of which never receives a gradient) and the same
    random gradients. With `round_trip_at`, the student's optimizer is rebuilt from its state_dict at
    that step, so a state that does not survive saving and loading is caught. `mistakes` maps a
    description to changed hyperparameters for the reference (e.g. ``{"ignore weight decay":
    {"weight_decay": 0}}``), used to name a mismatch.
    """
    what = student_class.__name__
    expected = _optimizer_trajectory(reference_class, hyper, steps, seed)
    actual = _optimizer_trajectory(student_class, hyper, steps, seed, round_trip_at=round_trip_at)
    for step, (got, want) in enumerate(zip(actual, expected), start=1):
        for index, (g, w) in enumerate(zip(got, want)):
            if is_close(g, w, rtol, atol):
                continue
            message = (f"{what}({_format_hyper(hyper)}): after step {step}, parameter {index} is {describe(g)}, "
                       f"expected {describe(w)} as torch gives.")
            if round_trip_at is not None and step > round_trip_at and all(
                    is_close(a, b, rtol, atol) for a, b in zip(actual[round_trip_at - 1], expected[round_trip_at - 1])):
                message += (f" It matched before the state_dict round trip at step {round_trip_at}: keep all "
                            "per-parameter state in self.state[p] so it is saved and restored.")
            message += mistake_hint(mistakes, lambda changes: {**hyper, **changes} != hyper and _matches(
                actual[:step], _optimizer_trajectory(reference_class, {**hyper, **changes}, step, seed), rtol, atol))
            raise AssertionError(message)


def _optimizer_trajectory(optimizer_class, hyper, steps, seed, round_trip_at=None):
    generator = torch.Generator().manual_seed(seed)
    shapes = [(3, 4), (5,), (2, 3, 2), (4,)]
    params = [torch.randn(shape, generator=generator, dtype=torch.float64, requires_grad=True) for shape in shapes]
    optimizer = optimizer_class(params, **hyper)
    history = []
    for step in range(1, steps + 1):
        for param in params[:-1]:  # the last parameter never gets a gradient and must not move
            param.grad = torch.randn(param.shape, generator=generator, dtype=torch.float64)
        optimizer.step()
        history.append([param.detach().clone() for param in params])
        if step == round_trip_at:
            saved = copy.deepcopy(optimizer.state_dict())
            optimizer = optimizer_class(params, **hyper)
            optimizer.load_state_dict(saved)
    return history


def _matches(actual, expected, rtol, atol):
    return all(is_close(a, e, rtol, atol) for got, want in zip(actual, expected) for a, e in zip(got, want))


def _format_hyper(hyper):
    return ", ".join(f"{name}={value!r}" for name, value in hyper.items())


def _as_float_array(value):
    if isinstance(value, torch.Tensor):
        value = value.detach().cpu().numpy()
    return np.asarray(value, dtype=float)


def check_rule_with_state(student, reference, *, param, grads, hyper=(), state, mistakes=None,
                          rtol=1e-6, atol=1e-10, what=None):
    """`check_rule` for rules whose state is a dict, as torch.optim keeps it (e.g. ``{"step": 0, "exp_avg": …}``).

    Both rules are called as ``rule(param, grad, state, *hyper)`` returning ``(new_param, new_state)``;
    the parameter and every entry of the reference's state are compared after each step, and a
    mismatch is named by the first of `mistakes` (description -> wrong rule) that reproduces it.
    `reference` may be `torch_rule(...)`, to compare with PyTorch itself.
    """
    what = what or getattr(student, "__name__", "your function")
    expected = _state_trajectory(reference, param, grads, hyper, state, "the reference")
    actual = _state_trajectory(student, param, grads, hyper, state, what)
    for step, (got, want) in enumerate(zip(actual, expected), start=1):
        mismatch = _first_mismatch(got, want, rtol, atol)
        if mismatch is None:
            continue
        name, got_value, want_value = mismatch
        message = f"{what}: after step {step}, your {name} is {describe(got_value)}, expected {describe(want_value)}"
        message += f" as {reference.__name__} gives." if hasattr(reference, "torch_optimizer") else "."
        message += mistake_hint(mistakes, lambda wrong: all(
            _first_mismatch(a, w, rtol, atol) is None
            for a, w in zip(actual[:step], _state_trajectory(wrong, param, grads[:step], hyper, state, what))))
        raise AssertionError(message)


def torch_rule(optimizer_class, torch_hyper):
    """torch.optim's `optimizer_class(**torch_hyper)` as a pure rule ``(param, grad, state, *ignored) -> (param, state)``.

    The state dict uses torch's own keys and holds arrays; each call loads it into a fresh optimizer
    on a float64 copy of `param`, takes one step and reads the state back, so `check_rule_with_state`
    can compare a student's rule and its state with PyTorch. Positional hyperparameters (the
    student's) are ignored: torch's come from `torch_hyper`.
    """

    def rule(param, grad, state, *_ignored):
        tensor = torch.tensor(np.asarray(param, dtype=float), requires_grad=True)
        tensor.grad = torch.tensor(np.asarray(grad, dtype=float))
        optimizer = optimizer_class([tensor], **torch_hyper)
        if state:
            optimizer.state[tensor] = {key: torch.tensor(np.asarray(value, dtype=float)) for key, value in state.items()}
        optimizer.step()
        new_state = {key: value.detach().numpy().copy() for key, value in optimizer.state[tensor].items()}
        return tensor.detach().numpy().copy(), new_state

    rule.__name__ = f"torch.optim.{optimizer_class.__name__}({_format_hyper(torch_hyper)})"
    rule.torch_optimizer = optimizer_class
    return rule


def _state_trajectory(rule, param, grads, hyper, state, what):
    """Like `trajectory` for dict states: a list of (param, state dict) after each gradient."""
    outputs = []
    for grad in grads:
        before = copy.deepcopy((param, grad, state))
        result = rule(param, grad, state, *hyper)
        inputs = {"param": (before[0], param), "grad": (before[1], grad),
                  **{f"state[{key!r}]": (before[2][key], state[key]) for key in before[2]}}
        for name, (original, now) in inputs.items():
            if not is_close(now, original, rtol=0, atol=0):
                raise AssertionError(f"{what} changed its input `{name}` in place: compute and return new values "
                                     "(e.g. `m = beta1 * m + …`, not `m *= beta1`).")
        if not (isinstance(result, tuple) and len(result) == 2 and isinstance(result[1], dict)):
            raise AssertionError(f"{what} must return a pair (new_param, new_state) with new_state a dict, "
                                 f"got {type(result).__name__}.")
        param, state = result
        outputs.append(result)
    return outputs


def _first_mismatch(actual, expected, rtol, atol):
    """(name, got, wanted) for the first output of ``(param, state)`` that differs, else None."""
    (got_param, got_state), (want_param, want_state) = actual, expected
    if not is_close(got_param, want_param, rtol, atol):
        return "parameter", got_param, want_param
    for key, wanted in want_state.items():
        if key not in got_state:
            raise AssertionError(f"your state has no entry {key!r}: return a state dict with the keys "
                                 f"{sorted(want_state)} (torch.optim's names).")
        if not is_close(got_state[key], wanted, rtol, atol):
            return f"state[{key!r}]", got_state[key], wanted
    return None


def torch_schedule_values(make_scheduler, steps, *, lr=1.0, optimizer_class=torch.optim.SGD, with_momentum=False,
                          **optimizer_kwargs):
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


def check_schedule(student, expected, *, kwargs=None, names=("learning rate",), mistakes=None, rtol=1e-6,
                   atol=1e-12, what=None):
    """Compare ``student(step, **kwargs)`` with `expected[step]` at every step 0 .. len(expected) - 1.

    A schedule returns one number per step, or a tuple named by `names` (e.g. ("learning rate",
    "momentum")). `mistakes` maps a description of a known mistake to a function with the student's
    signature that makes it; one that reproduces all the student's values is named in the message.
    """
    kwargs = kwargs or {}
    what = what or f"{getattr(student, '__name__', 'your schedule')}({_format_hyper(kwargs)})"
    steps = range(len(expected))
    actual = [_schedule_outputs(student(step, **kwargs), len(names), what, step) for step in steps]
    for step, got, want in zip(steps, actual, expected):
        for name, got_value, want_value in zip(names, got, _schedule_outputs(want, len(names), "expected", step)):
            if is_close(got_value, want_value, rtol, atol):
                continue
            message = f"{what}: at step {step} your {name} is {describe(got_value)}, expected {describe(want_value)}."
            message += mistake_hint(mistakes, lambda wrong: _matches(
                actual, [_schedule_outputs(wrong(s, **kwargs), len(names), what, s) for s in steps], rtol, atol))
            raise AssertionError(message)


def _schedule_outputs(value, count, what, step):
    if value is None:
        raise AssertionError(f"{what} returned None at step {step}: did you forget to return the value?")
    if count == 1:
        return (value,)
    if not (isinstance(value, (tuple, list)) and len(value) == count):
        raise AssertionError(f"{what} must return a tuple of {count} values at every step, "
                             f"got {value!r} at step {step}.")
    return value


def check_function(student, reference, *, args=(), kwargs=None, mistakes=None, rtol=1e-6, atol=1e-10, what=None):
    """Compare ``student(*args, **kwargs)`` with `reference` called the same way.

    Results may be numbers, arrays, tuples or dicts of them; a dict's entries are named in the message.
    `mistakes` maps a description of a known mistake to a function with the student's signature that
    makes it; one whose result equals the student's is named in the message.
    """
    kwargs = kwargs or {}
    what = what or getattr(student, "__name__", "your function")
    actual, expected = student(*args, **kwargs), reference(*args, **kwargs)
    difference = _first_difference(actual, expected, rtol, atol)
    if difference is None:
        return
    raise AssertionError(f"{what}: {difference}" + mistake_hint(
        mistakes, lambda wrong: _first_difference(actual, wrong(*args, **kwargs), rtol, atol) is None))


def _first_difference(actual, expected, rtol, atol, name="the result"):
    """A sentence saying where `actual` first differs from `expected`, or None if they agree."""
    if actual is None:
        return f"{name} is None: did you forget to return it?"
    if isinstance(expected, dict):
        if not isinstance(actual, dict):
            return f"{name} should be a dict with keys {sorted(expected)}, got {type(actual).__name__}."
        missing = sorted(set(expected) - set(actual))
        if missing:
            return f"{name} has no entry {missing[0]!r}."
        for key, value in expected.items():
            difference = _first_difference(actual[key], value, rtol, atol, name=f"{key!r}")
            if difference:
                return difference
        return None
    if isinstance(expected, tuple):
        if not (isinstance(actual, tuple) and len(actual) == len(expected)):
            return f"{name} should be a tuple of {len(expected)} values, got {actual!r}."
        for index, (got, want) in enumerate(zip(actual, expected)):
            difference = _first_difference(got, want, rtol, atol, name=f"{name}[{index}]")
            if difference:
                return difference
        return None
    got, want = _as_float_array(actual), _as_float_array(expected)
    if got.shape != want.shape:
        return f"{name} has shape {got.shape}, expected {want.shape}."
    if not np.allclose(got, want, rtol=rtol, atol=atol, equal_nan=True):
        return f"{name} is {describe(got)}, expected {describe(want)}."
    return None


def check_module(student_class, expected_class, inputs, *, training, args=(), kwargs=None, mistakes=None, seed=0,
                 rtol=1e-6, atol=1e-9):
    """Run a student's torch module and an expected one side by side and compare everything they produce.

    Both are built as ``cls(*args, **kwargs)`` and used in float64. The expected module's
    parameters are set to random values and copied by name into the student's. Then, for each input
    array in `inputs`, in training mode or not as `training` says (one bool per step), both run forward
    and backward with the same random upstream gradient; the output, the input's gradient, each
    parameter's gradient and each floating-point buffer of the expected module (e.g. running_mean)
    are compared, first before any step (initial state; both built after seeding torch with `seed`),
    then after every step. `mistakes` maps a
    description to a wrong module class; one that reproduces the student's values is named.
    """
    kwargs = kwargs or {}
    what = f"{student_class.__name__}({', '.join([*map(repr, args), *(f'{k}={v!r}' for k, v in kwargs.items())])})"

    def trajectory_of(module_class, steps, name):
        return _module_trajectory(lambda: module_class(*args, **kwargs), lambda: expected_class(*args, **kwargs),
                                  inputs[:steps], training[:steps], seed, name)

    expected = trajectory_of(expected_class, len(inputs), "the expected module")
    actual = trajectory_of(student_class, len(inputs), what)
    for step, (got, want) in enumerate(zip(actual, expected)):
        name = _first_module_difference(got, want, rtol, atol)
        if name is None:
            continue
        mode = "training" if step and training[step - 1] else "evaluation"
        when = "before any step" if step == 0 else f"at step {step} ({mode} mode)"
        message = (f"{what}: {when}, your {name} is {_describe_optional(got[name])}, "
                   f"expected {_describe_optional(want[name])}.")
        message += mistake_hint(mistakes, lambda wrong_class: all(
            _first_module_difference(a, w, rtol, atol) is None
            for a, w in zip(actual[:step + 1], trajectory_of(wrong_class, step, what))))
        raise AssertionError(message)


def _module_trajectory(make_module, make_expected, inputs, training, seed, what):
    """[initial state, then per step {output, input gradient, gradients, buffers}] as float64 arrays (or None)."""
    generator = torch.Generator().manual_seed(seed)
    with torch.random.fork_rng(devices=[]):  # same random initialization for both, global RNG untouched
        torch.manual_seed(seed)
        module = make_module().double()
    reference = make_expected().double()  # names the parameters and buffers that must exist
    parameter_names = [name for name, _ in reference.named_parameters()]
    buffer_names = [name for name, buffer in reference.named_buffers() if buffer.is_floating_point()]

    def read(name):
        try:
            value = module.get_parameter(name) if name in parameter_names else module.get_buffer(name)
        except AttributeError:
            value = getattr(module, name, None)
        if value is None:
            raise AssertionError(f"{what} has no {name!r}: it needs the same parameters and buffers as "
                                 f"{type(reference).__name__} ({', '.join(parameter_names + buffer_names)}).")
        return value

    # Copies: the arrays would otherwise share memory with buffers that later steps update in place.
    history = [{f"initial {name}": _as_float_array(read(name)).copy() for name in parameter_names + buffer_names}]
    with torch.no_grad():
        for name in parameter_names:
            read(name).copy_(torch.randn(read(name).shape, generator=generator, dtype=torch.float64))
    for x, mode in zip(inputs, training):
        module.train(mode)
        for name in parameter_names:
            read(name).grad = None
        tensor = torch.tensor(np.asarray(x, dtype=float), requires_grad=True)
        output = module(tensor)
        upstream = torch.randn(output.shape, generator=generator, dtype=torch.float64)
        (output * upstream).sum().backward()
        record = {"output": _as_float_array(output), "input gradient": _optional_array(tensor.grad)}
        record.update({f"gradient of {name}": _optional_array(read(name).grad) for name in parameter_names})
        record.update({name: _as_float_array(read(name)).copy() for name in buffer_names})
        history.append(record)
    return history


def _optional_array(value):
    return None if value is None else _as_float_array(value).copy()


def _describe_optional(value):
    return "missing (None: autograd did not reach it)" if value is None else describe(value)


def _first_module_difference(actual, expected, rtol, atol):
    for name, want in expected.items():
        got = actual.get(name)
        if got is None or want is None:
            if (got is None) != (want is None):
                return name
        elif not is_close(got, want, rtol, atol):
            return name
    return None


def binomial_tolerance(trials, probability, z=5.0):
    """z standard errors of a fraction of `trials` independent events of `probability`: z·√(p(1 − p)/n).

    A correct random function falls outside it with probability about 6e-7 for z = 5 (normal approximation).
    """
    return z * float(np.sqrt(probability * (1 - probability) / trials))


def sample_variance_tolerance(count, variance, kurtosis, z=5.0):
    """z standard errors of the (unbiased) sample variance of `count` independent draws.

    Its variance is exactly σ⁴·(κ − (n − 3)/(n − 1))/n, about σ⁴(κ − 1)/n, where κ = E[(x − μ)⁴]/σ⁴ is
    the distribution's kurtosis: 3 for a normal, 9/5 for a uniform, 1 for a symmetric two-point one.
    """
    return z * variance * float(np.sqrt((kurtosis - (count - 3) / (count - 1)) / count))


def check_statistics(student, *, make_args, statistics, mistakes=None, what=None):
    """Check statistics of a random function's output against their expected values.

    ``make_args()`` returns fresh ``(args, kwargs)`` (with a freshly seeded generator), so the student
    and every known mistake get identical inputs. `statistics` maps a name to ``(statistic, expected,
    tolerance)``: ``statistic(output)`` is a number that must lie within `tolerance` of `expected`
    (derive the tolerance from the sampling distribution, e.g. `binomial_tolerance`). `mistakes` maps
    a description to a function with the student's signature; one whose statistics all lie within the
    tolerances of the student's is named in the message.
    """
    what = what or getattr(student, "__name__", "your function")

    def measure(function):
        args, kwargs = make_args()
        output = function(*args, **kwargs)
        if output is None:
            raise AssertionError(f"{what} returned None: did you forget to return the result?")
        return {name: float(statistic(output)) for name, (statistic, _expected, _tolerance) in statistics.items()}

    actual = measure(student)
    for name, (_statistic, expected, tolerance) in statistics.items():
        if abs(actual[name] - expected) <= tolerance:
            continue
        message = f"{what}: {name} is {actual[name]:.5g}, expected {expected:.5g} ± {tolerance:.2g}."

        def reproduces(wrong):
            values = measure(wrong)
            return all(abs(values[key] - actual[key]) <= statistics[key][2] for key in statistics)

        raise AssertionError(message + mistake_hint(mistakes, reproduces))


def check_function_on_fresh_inputs(student, reference, *, make_args, mistakes=None, rtol=1e-6, atol=1e-10,
                                   what=None):
    """`check_function` for functions that change their inputs (e.g. train a model one step).

    Every call, the student's, the reference's and each known mistake's, gets fresh, identical inputs
    ``args, kwargs = make_args()``.
    """
    what = what or getattr(student, "__name__", "your function")

    def call(function):
        args, kwargs = make_args()
        return function(*args, **kwargs)

    actual = call(student)
    difference = _first_difference(actual, call(reference), rtol, atol)
    if difference is None:
        return
    raise AssertionError(f"{what}: {difference}" + mistake_hint(
        mistakes, lambda wrong: _first_difference(actual, call(wrong), rtol, atol) is None))


def first_output(function):
    """`function` returning only the first element of its result, e.g. ``out`` of a forward pass's ``(out, cache)``.

    Lets `check_function` compare outputs while the caches, whose contents are up to the student, differ.
    """
    def first(*args, **kwargs):
        result = function(*args, **kwargs)
        if not (isinstance(result, tuple) and len(result) >= 1):
            raise AssertionError(f"{getattr(function, '__name__', 'the function')} must return a tuple (out, cache), "
                                 f"got {type(result).__name__}.")
        return result[0]

    first.__name__ = getattr(function, "__name__", "the function")
    return first


def check_in_place(student, reference, make_args, *, observe, mistakes=None, rtol=1e-6, atol=1e-10, what=None):
    """Compare functions that work by changing their inputs, e.g. clipping gradients or training a model.

    `student` and `reference` are each called on fresh inputs ``make_args()`` (a tuple of positional
    arguments, built identically every time); their results and ``observe(args)`` afterwards (a dict
    {description: array or None} read from the inputs, e.g. each parameter's gradient) are compared.
    `mistakes` maps a description of a known mistake to a function with the student's signature that
    makes it; one that reproduces both the result and the observations is named in the message.
    """
    what = what or getattr(student, "__name__", "your function")

    def outcome(function):
        args = make_args()
        result = function(*args)
        return {"the value returned": result, **observe(args)}

    actual, expected = outcome(student), outcome(reference)
    difference = _first_difference_or_none(actual, expected, rtol, atol)
    if difference is None:
        return
    raise AssertionError(f"{what}: {difference}" + mistake_hint(
        mistakes, lambda wrong: _first_difference_or_none(actual, outcome(wrong), rtol, atol) is None))


def _first_difference_or_none(actual, expected, rtol, atol):
    """`_first_difference` for dicts whose entries may rightly be None (e.g. a parameter without a gradient)."""
    for name, want in expected.items():
        got = actual.get(name)
        if want is None or got is None:
            if got is None and want is not None:
                return f"{name} is None, expected {describe(want)}."
            if want is None and got is not None:
                return f"{name} should be None, got {describe(got)}."
            continue
        difference = _first_difference(got, want, rtol, atol, name=name)
        if difference:
            return difference
    return None


def parameters_from(values, grads):
    """A function that builds fresh float64 parameters from the arrays `values`, each with `.grad` from `grads`.

    A None in `grads` leaves that parameter without a gradient. Pass it, wrapped in the arguments, as
    `make_args` of `check_in_place`, so every function compared starts from identical parameters.
    """
    def build():
        parameters = []
        for value, grad in zip(values, grads):
            parameter = torch.tensor(np.asarray(value, dtype=float), requires_grad=True)
            parameter.grad = None if grad is None else torch.tensor(np.asarray(grad, dtype=float))
            parameters.append(parameter)
        return parameters

    return build


def parameter_observations(parameters):
    """{"parameter i": value, "gradient of parameter i": gradient or None}: what `check_in_place` compares."""
    observed = {}
    for index, parameter in enumerate(parameters):
        observed[f"the gradient of parameter {index}"] = _optional_array(parameter.grad)
        observed[f"parameter {index}"] = _as_float_array(parameter).copy()
    return observed
