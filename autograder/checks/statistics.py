"""Checks of random functions (dropout, initializers) through statistics of their output, with tolerances
derived from the sampling distribution."""

import numpy as np

from . import evidence
from .compare import mistake_hint
from .forbidden import forbidding


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


def check_statistics(student, *, make_args, statistics, mistakes=None, what=None, forbidden=()):
    """Check statistics of a random function's output against their expected values.

    ``make_args()`` returns fresh ``(args, kwargs)`` (with a freshly seeded generator), so the student
    and every known mistake get identical inputs. `statistics` maps a name to ``(statistic, expected,
    tolerance)``: ``statistic(output)`` is a number that must lie within `tolerance` of `expected`
    (derive the tolerance from the sampling distribution, e.g. `binomial_tolerance`). `mistakes`: wrong
    functions with the student's signature; one whose statistics all lie within the tolerances of the
    student's is named in the message. `forbidden`: functions the student's answer must not call (see
    forbidden.py). In a grading kernel each statistic goes to the grader as evidence (evidence.py).
    """
    what = what or getattr(student, "__name__", "your function")

    def measure(function):
        args, kwargs = make_args()
        output = function(*args, **kwargs)
        if output is None:
            raise AssertionError(f"{what} returned None: did you forget to return the result?")
        return {name: float(statistic(output)) for name, (statistic, _expected, _tolerance) in statistics.items()}

    with forbidding(forbidden):
        actual = measure(student)
    for name, (_statistic, expected, tolerance) in statistics.items():
        evidence.record(f"{what}: {name}", evidence.encode(actual[name]), expected, 0.0, tolerance)
    for name, (_statistic, expected, tolerance) in statistics.items():
        if abs(actual[name] - expected) <= tolerance:
            continue
        message = f"{what}: {name} is {actual[name]:.5g}, expected {expected:.5g} ± {tolerance:.2g}."

        def reproduces(wrong):
            values = measure(wrong)
            return all(abs(values[key] - actual[key]) <= statistics[key][2] for key in statistics)

        raise AssertionError(message + mistake_hint(mistakes, reproduces))
