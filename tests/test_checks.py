"""The comparison helpers of autograder.checks: first_difference over each kind of value, tolerances, messages,
the mistake hint, the trajectory runner, and the checks of rules, optimizers and modules built on them."""

import re
import types

import numpy as np
import pytest
import torch
from torch import nn

from autograder import checks
from autograder.checks.optimizers import rule_trajectory
from autograder.checks.trajectory import record_difference

# --- first_difference: numbers, arrays and tensors ------------------------------------------------------------


def test_equal_values_have_no_difference():
    assert checks.first_difference(2.0, 2.0) is None
    assert checks.first_difference(np.arange(3.0), [0.0, 1.0, 2.0]) is None
    assert checks.first_difference(torch.ones(2, requires_grad=True), np.ones(2)) is None


def test_relative_and_absolute_tolerances():
    assert checks.first_difference(1.0 + 5e-7, 1.0) is None
    assert checks.first_difference(1.0 + 5e-6, 1.0) is not None
    assert checks.first_difference(1.0 + 5e-6, 1.0, rtol=1e-5) is None
    assert checks.first_difference(5e-11, 0.0) is None
    assert checks.first_difference(5e-9, 0.0) is not None
    assert checks.first_difference(5e-9, 0.0, atol=1e-8) is None


def test_the_tolerance_is_relative_to_the_expected_value():
    # |actual − expected| ≤ atol + rtol·|expected|: 100 vs 101 passes only when 101 is the expected value.
    assert checks.first_difference(101.0, 100.0, rtol=0.00995, atol=0) is not None
    assert checks.first_difference(100.0, 101.0, rtol=0.00995, atol=0) is None


def test_a_value_that_differs_is_described_with_what_was_expected():
    assert checks.first_difference(np.array([1.0, 2.5]), np.array([1.0, 2.0])) == (
        "the result is [1. , 2.5], expected [1., 2.]."
    )
    assert checks.first_difference(3.0, 2.0, name="your lr", given_by="torch") == (
        "your lr is 3, expected 2 as torch gives."
    )


def test_a_shape_that_differs_is_named():
    assert checks.first_difference(np.zeros(2), np.zeros(3)) == "the result has shape (2,), expected (3,)."
    assert checks.first_difference(np.zeros((2, 1)), np.zeros(2)) == "the result has shape (2, 1), expected (2,)."


def test_nan_equals_nan_but_not_a_number():
    assert checks.first_difference(np.array([1.0, np.nan]), np.array([1.0, np.nan])) is None
    assert checks.first_difference(np.array([1.0, np.nan]), np.array([1.0, 2.0])) is not None


def test_a_difference_the_description_hides_is_shown_entry_by_entry_with_enough_digits():
    # Below the printed precision: both arrays print as [1., 2.].
    assert checks.first_difference(np.array([1.0, 2.0000001]), np.array([1.0, 2.0]), rtol=1e-9) == (
        "the result is [1., 2.], expected [1., 2.]. The first entry that differs is the result[1]: 2.0000001, "
        "expected 2."
    )
    assert checks.first_difference(0.1000001, 0.1, rtol=1e-9, name="your lr") == (
        "your lr is 0.1, expected 0.1. To more digits: 0.1000001, expected 0.1."
    )
    # Beyond the entries shown: only the first three of a large array are.
    changed = np.arange(12.0).reshape(3, 4)
    changed[2, 1] += 0.5
    assert checks.first_difference(changed, np.arange(12.0).reshape(3, 4)) == (
        "the result is an array of shape (3, 4) starting [0., 1., 2.], expected an array of shape (3, 4) starting "
        "[0., 1., 2.]. The first entry that differs is the result[2, 1]: 9.5, expected 9."
    )


def test_describe_shows_small_arrays_and_summarizes_large_ones():
    assert checks.describe(torch.tensor([0.5, 1.0], requires_grad=True)) == "[0.5, 1. ]"
    assert checks.describe(np.arange(10.0)) == "an array of shape (10,) starting [0., 1., 2.]"


# --- first_difference: None, dicts, tuples and lists -------------------------------------------------------------


def test_none_where_a_value_belongs_is_reported_with_a_reason():
    assert checks.first_difference(None, 1.0) == "the result is None: did you forget to return it?"
    assert checks.first_difference(None, 1.0, name="the gradient", why_none="autograd did not reach it.") == (
        "the gradient is None: autograd did not reach it."
    )
    assert checks.first_difference(None, 1.0, name="the gradient", why_none="") == ("the gradient is None, expected 1.")


def test_none_is_expected_exactly():
    assert checks.first_difference(None, None) is None
    assert checks.first_difference(0.0, None, name="the gradient") == "the gradient should be None, got 0."


def test_dict_entries_are_named_by_their_keys():
    expected = {"lrs": np.arange(3.0), "suggested_lr": 0.1}
    assert checks.first_difference({**expected, "extra": 1}, expected) is None
    assert checks.first_difference({**expected, "suggested_lr": 1.5}, expected) == (
        "'suggested_lr' is 1.5, expected 0.1."
    )
    assert checks.first_difference({"lrs": np.arange(3.0)}, expected) == (
        "the result has no entry 'suggested_lr' (expected the keys ['lrs', 'suggested_lr'])."
    )
    assert checks.first_difference([1.0], expected) == (
        "the result should be a dict with keys ['lrs', 'suggested_lr'], got list."
    )


def test_a_named_dicts_entries_are_named_after_it():
    cache = {"x_hat": np.zeros(2), "gamma": np.ones(2)}
    assert checks.first_difference({**cache, "gamma": np.full(2, 2.0)}, cache, name="cache") == (
        "cache['gamma'] is [2., 2.], expected [1., 1.]."
    )
    assert checks.first_difference({"x_hat": np.zeros(2)}, cache, name="cache") == (
        "cache has no entry 'gamma' (expected the keys ['gamma', 'x_hat'])."
    )
    report = {"activations": {"0": {"mean": 0.5, "std": 1.0}}, "gradient_norm": {"0": 2.0}}
    assert checks.first_difference({**report, "gradient_norm": {"0": 4.0}}, report) == (
        "'gradient_norm'['0'] is 4, expected 2."
    )
    assert checks.first_difference({**report, "activations": {"0": {"mean": 0.5, "std": 0.9}}}, report) == (
        "'activations'['0']['std'] is 0.9, expected 1."
    )


def test_tuples_are_compared_item_by_item_and_must_stay_tuples():
    assert checks.first_difference((1.0, 3.5), (1.0, 2.5)) == "the result[1] is 3.5, expected 2.5."
    assert checks.first_difference((1.0, None), (1.0, 2.5)) == "the result[1] is None: did you forget to return it?"
    assert checks.first_difference([1.0, 2.5], (1.0, 2.5)) == (
        "the result should be a tuple of 2 values, got [1.0, 2.5]."
    )
    assert checks.first_difference((1.0,), (1.0, 2.5)).startswith("the result should be a tuple of 2 values")


def test_lists_are_compared_item_by_item_and_may_come_back_as_arrays():
    assert checks.first_difference(np.array([0.5, 0.25]), [0.5, 0.25]) is None
    assert checks.first_difference((0.5, 0.25), [0.5, 0.25]) is None
    assert checks.first_difference([0.5, 0.3], [0.5, 0.25]) == "the result[1] is 0.3, expected 0.25."
    assert checks.first_difference([0.5], [0.5, 0.25]) == "the result has 1 values, expected 2."
    assert checks.first_difference(np.array(0.5), [0.5]) == "the result should be a list of 1 values, got ndarray."


def test_nested_values_name_the_innermost_difference_by_its_path():
    expected = {"loss": [1.0, np.nan], "state": ({"step": 2}, np.zeros(2))}
    assert checks.first_difference({"loss": [1.0, np.nan], "state": ({"step": 2}, np.zeros(2))}, expected) is None
    assert checks.first_difference({"loss": [1.0, np.nan], "state": ({"step": 1}, np.zeros(2))}, expected) == (
        "'state'[0]['step'] is 1, expected 2."
    )
    assert checks.first_difference({"loss": [1.0], "state": ({"step": 2}, np.zeros(2))}, expected) == (
        "'loss' has 1 values, expected 2."
    )


def test_assert_close_compares_as_arrays_and_adds_the_hint():
    checks.assert_close([1.0, 2.0], np.array([1.0, 2.0]), "x")
    with pytest.raises(AssertionError, match=r"^x is \[1., 3.\], expected \[1., 2.\]\. Look again\.$"):
        checks.assert_close([1.0, 3.0], [1.0, 2.0], "x", hint=" Look again.")
    with pytest.raises(AssertionError, match="x is None: did you forget to return it"):
        checks.assert_close(None, 0.0, "x")


# --- the mistake hint ---------------------------------------------------------------------------------------------


def test_the_first_reproducing_mistake_is_named():
    mistakes = {"add one": lambda x: x + 1, "double": lambda x: 2 * x, "square": lambda x: x * x}
    assert checks.mistake_hint(mistakes, lambda wrong: wrong(2) == 4) == " That is what you get if you double."
    assert checks.mistake_hint(mistakes, lambda wrong: wrong(2) == 7) == ""
    assert checks.mistake_hint(None, lambda wrong: True) == ""


def test_a_mistake_that_cannot_run_does_not_match():
    def crashes(x):
        raise ValueError("not on these inputs")

    mistakes = {"crash": crashes, "add one": lambda x: x + 1}
    assert checks.mistake_hint(mistakes, lambda wrong: wrong(1) == 2) == " That is what you get if you add one."


# --- the trajectory runner ----------------------------------------------------------------------------------------


def scaled_steps(factor, calls=None):
    """An answer that records factor·step for each step; the run below calls answers as run(answer, count)."""
    return lambda count: [{"your value": factor * step} for step in range(count or 4)]


def run(answer, count):
    return answer(count)


def test_agreeing_trajectories_pass():
    checks.check_trajectory(run, scaled_steps(1.0), scaled_steps(1.0), what="f")


def test_the_first_differing_record_is_named_with_when_and_note():
    student = lambda count: [{"your value": v} for v in [0.0, 1.0, 5.0, 9.0][:count]]  # noqa: E731
    with pytest.raises(AssertionError) as caught:
        checks.check_trajectory(
            run,
            student,
            scaled_steps(1.0),
            what="f",
            when=lambda index: f"at step {index}, ",
            note=lambda index: f" (note {index})",
        )
    assert str(caught.value) == "f: at step 2, your value is 5, expected 2. (note 2)"


def test_a_mistake_is_named_when_it_reproduces_the_records_up_to_the_first_difference():
    counts = []

    def wrong_later(count):  # equals the student's answer up to step 2, differs after
        counts.append(count)
        return [{"your value": v} for v in [0.0, 1.0, 5.0, 0.0][:count]]

    student = lambda count: [{"your value": v} for v in [0.0, 1.0, 5.0, 9.0][:count]]  # noqa: E731
    mistakes = {"differ before": lambda count: [{"your value": 7.0}] * count, "differ later": wrong_later}
    with pytest.raises(AssertionError, match=r"That is what you get if you differ later\.$"):
        checks.check_trajectory(run, student, scaled_steps(1.0), what="f", mistakes=mistakes)
    assert counts == [3]  # run only as far as the first difference


def test_a_mistake_is_named_only_when_it_also_reproduces_the_answer_on_a_second_input():
    # Records of an answer on the check's input (case 0) and on a second, independent one (case 1).
    def answer(values_by_case):
        return lambda case, count: [{"your value": v} for v in values_by_case[case][:count]]

    def on(case):
        return lambda wrong, count: wrong(case, count)

    reference, student = answer([[0.0, 1.0, 2.0], [0.0, 2.0, 4.0]]), answer([[0.0, 1.0, 5.0], [0.0, 2.0, 9.0]])
    coincides = answer([[0.0, 1.0, 5.0], [0.0, 2.0, 7.0]])  # the same as the student's on the first input only
    same_mistake = answer([[0.0, 1.0, 5.0], [0.0, 2.0, 9.0]])

    def fails(mistakes, student=student):
        with pytest.raises(AssertionError) as caught:
            checks.check_trajectory(on(0), student, reference, what="f", mistakes=mistakes, another_case=on(1))
        return str(caught.value)

    assert fails({"coincide": coincides}) == "f: your value is 5, expected 2."
    assert fails({"coincide": coincides, "make the mistake": same_mistake}) == (
        "f: your value is 5, expected 2. That is what you get if you make the mistake."
    )

    def fails_on_the_second_input(case, count):
        if case == 1:
            raise ValueError("not on this input")
        return student(case, count)

    assert fails({"make the mistake": same_mistake}, fails_on_the_second_input) == "f: your value is 5, expected 2."


def test_a_missing_record_entry_is_reported():
    assert record_difference({"a": 1.0}, {"a": 1.0, "b": 2.0}, 1e-6, 1e-10) == "b is missing."
    assert record_difference({"a": 1.0, "b": None}, {"a": 1.0, "b": 2.0}, 1e-6, 1e-10, why_none="") == (
        "b is None, expected 2."
    )


def test_the_student_runs_before_the_reference():
    shared = {"calls": []}

    def answer(name):
        return lambda count: shared["calls"].append(name) or [{"your value": 1.0}]

    checks.check_trajectory(run, answer("student"), answer("reference"), what="f")
    assert shared["calls"] == ["student", "reference"]


# --- update rules -------------------------------------------------------------------------------------------------

P, GRADS = np.array([1.0, -2.0]), [np.array([0.5, 0.25]), np.array([-1.0, 0.5]), np.array([0.25, 0.25])]


def heavy_ball(p, g, buf, lr, momentum):
    new_buf = g if buf is None else momentum * buf + g
    return p - lr * new_buf, new_buf


def test_rule_trajectory_records_the_named_outputs_of_every_step():
    records = rule_trajectory(heavy_ball, P, GRADS[:2], (0.1, 0.9), None, ("parameter", "buffer"))
    assert [set(record) for record in records] == [{"your parameter", "your buffer"}] * 2
    np.testing.assert_allclose(records[1]["your buffer"], 0.9 * GRADS[0] + GRADS[1])
    only_parameter = rule_trajectory(heavy_ball, P, GRADS[:2], (0.1, 0.9), None, ("parameter",))
    assert [set(record) for record in only_parameter] == [{"your parameter"}] * 2


def test_a_rule_that_changes_its_input_in_place_is_reported():
    def in_place(p, g, lr):
        p -= lr * g
        return p

    with pytest.raises(AssertionError, match="changed its input `param` in place.*not `param -= lr \\* grad`"):
        rule_trajectory(in_place, P.copy(), GRADS, (0.1,), what="in_place")


def test_a_rule_that_returns_nan_is_reported_as_nan_not_as_changing_its_input():
    # The NaN it returned is the next step's input, unchanged by the rule: NaN equals NaN where both are NaN.
    with pytest.raises(AssertionError, match=re.escape("nan: after step 1, your parameter is [nan, nan], expected")):
        checks.check_rule(
            lambda p, g, lr: p + np.nan * g, lambda p, g, lr: p - lr * g, param=P, grads=GRADS, hyper=(0.1,), what="nan"
        )
    assert checks.is_close(np.array([1.0, np.nan]), np.array([1.0, np.nan]))
    assert not checks.is_close(np.array([1.0, np.nan]), np.array([1.0, 2.0]))
    assert not checks.is_close(np.array([1.0, 2.0]), np.array([1.0, np.nan]))


def test_a_rule_with_state_must_return_a_pair():
    with pytest.raises(AssertionError, match=r"must return a pair \(new_param, new_state\), got ndarray"):
        rule_trajectory(lambda p, g, s, lr: p - lr * g, P, GRADS, (0.1,), np.zeros(2))
    with pytest.raises(AssertionError, match=r"with new_state a dict, got tuple"):
        rule_trajectory(lambda p, g, s, lr: (p, [s]), P, GRADS, (0.1,), {"step": 0})


def test_check_rule_names_the_step_the_output_and_the_mistake():
    def forgets_momentum(p, g, buf, lr, momentum):
        return p - lr * g, g

    with pytest.raises(
        AssertionError,
        match=re.escape(
            "forgets_momentum: after step 2, your parameter is [ 1.05 , -2.075], expected [ 1.005 , -2.0975]. "
            "That is what you get if you step along the gradient."
        ),
    ):
        checks.check_rule(
            forgets_momentum,
            heavy_ball,
            param=P,
            grads=GRADS,
            hyper=(0.1, 0.9),
            state=None,
            names=("parameter", "buffer"),
            mistakes={
                "add the gradient": lambda p, g, b, lr, m: (p + lr * g, g),
                "step along the gradient": forgets_momentum,
            },
        )


def test_a_dict_state_is_compared_entry_by_entry():
    def adam_without_second_moment(p, g, s, lr):
        return p - lr * g, {"step": s["step"] + 1, "exp_avg": g}

    def reference(p, g, s, lr):
        return p - lr * g, {"step": s["step"] + 1, "exp_avg": g, "exp_avg_sq": g * g}

    state = {"step": 0, "exp_avg": np.zeros(2), "exp_avg_sq": np.zeros(2)}
    with pytest.raises(AssertionError, match=re.escape("after step 1, your state['exp_avg_sq'] is missing.")):
        checks.check_rule_with_state(
            adam_without_second_moment, reference, param=P, grads=GRADS, hyper=(0.1,), state=state
        )


def test_check_rule_names_no_mistake_that_only_coincides_on_its_data():
    # With only negative gradients, stepping by |gradient| looks like adding the gradient; on other data it does not.
    negative_grads = [np.array([-0.5, -0.25]), np.array([-1.0, -0.5])]
    mistakes = {"add the gradient instead of subtracting it": lambda p, g, lr: p + lr * g}

    def descend(p, g, lr):
        return p - lr * g

    def check(student):
        with pytest.raises(AssertionError) as caught:
            checks.check_rule(student, descend, param=P, grads=negative_grads, hyper=(0.1,), mistakes=mistakes)
        return str(caught.value)

    assert check(lambda p, g, lr: p - lr * np.abs(g)).endswith("expected [ 1.05 , -1.975].")
    assert check(lambda p, g, lr: p + lr * g).endswith(
        "That is what you get if you add the gradient instead of subtracting it."
    )


def test_check_schedule_names_the_mistake_that_also_gives_the_steps_after_the_first_difference():
    halved_every_two_steps = [0.5 ** (step // 2) for step in range(8)]
    halved_once = lambda step: 0.5 ** min(step // 2, 1)  # noqa: E731
    mistakes = {
        "halve every four steps from step 2": lambda step: 0.5 ** ((step + 2) // 4),  # as halved_once to step 5
        "halve only once": halved_once,
    }
    with pytest.raises(
        AssertionError,
        match=r"^<lambda>\(\): at step 4 your learning rate is 0.5, expected 0.25\. That is what you get if you "
        r"halve only once\.$",
    ):
        checks.check_schedule(halved_once, halved_every_two_steps, mistakes=mistakes)


def adam(p, g, s, lr, beta1, beta2, eps, bias_correction=True):
    t = s["step"] + 1
    m, v = beta1 * s["exp_avg"] + (1 - beta1) * g, beta2 * s["exp_avg_sq"] + (1 - beta2) * g * g
    m_hat, v_hat = (m / (1 - beta1**t), v / (1 - beta2**t)) if bias_correction else (m, v)
    return p - lr * m_hat / (np.sqrt(v_hat) + eps), {"step": t, "exp_avg": m, "exp_avg_sq": v}


def test_torch_rule_lets_a_rule_and_its_state_be_compared_with_torch():
    # Moved from test_optim_adaptive: a rule checked against torch itself names torch and the mistake.
    hyper, state = (0.1, 0.8, 0.9, 1e-8), {"step": 0, "exp_avg": np.zeros(2), "exp_avg_sq": np.zeros(2)}
    torch_adam = checks.torch_rule(torch.optim.Adam, {"lr": 0.1, "betas": (0.8, 0.9), "eps": 1e-8})
    checks.check_rule_with_state(adam, torch_adam, param=P, grads=GRADS, hyper=hyper, state=state)

    def uncorrected(p, g, s, lr, beta1, beta2, eps):
        return adam(p, g, s, lr, beta1, beta2, eps, bias_correction=False)

    with pytest.raises(
        AssertionError,
        match=r"after step 1, your parameter is .*, expected .* as torch\.optim\.Adam"
        r"\(lr=0.1, betas=\(0.8, 0.9\), eps=1e-08\) gives\. That is what you "
        r"get if you skip the bias correction\.$",
    ):
        checks.check_rule_with_state(
            uncorrected,
            torch_adam,
            param=P,
            grads=GRADS,
            hyper=hyper,
            state=state,
            mistakes={"skip the bias correction": uncorrected},
        )


def test_check_rule_against_torch_follows_torchs_state_and_names_torch():
    # Moved from test_optim_adaptive: the message names torch's optimizer and its hyperparameters.
    checks.check_rule_against_torch(
        heavy_ball, torch.optim.SGD, {"lr": 0.1, "momentum": 0.9}, param=P, grads=GRADS, hyper=(0.1, 0.9), state=None
    )

    def rmsprop_eps_inside(p, g, v, lr, alpha, eps):
        v = alpha * v + (1 - alpha) * g * g
        return p - lr * g / np.sqrt(v + eps), v

    with pytest.raises(
        AssertionError,
        match=r"rmsprop_eps_inside: after step 1, your parameter is .* as "
        r"torch\.optim\.RMSprop\(lr=0\.01, alpha=0\.9, eps=0\.1\) gives\.$",
    ):
        checks.check_rule_against_torch(
            rmsprop_eps_inside,
            torch.optim.RMSprop,
            {"lr": 0.01, "alpha": 0.9, "eps": 0.1},
            param=P,
            grads=GRADS,
            hyper=(0.01, 0.9, 0.1),
            state=np.zeros(2),
        )


# --- optimizers, modules, functions that change their inputs ------------------------------------------------------


class SGDWithOwnBuffers(torch.optim.Optimizer):
    """Heavy-ball SGD keeping its buffers outside self.state: right until a state_dict round trip loses them."""

    def __init__(self, params, lr, momentum):
        super().__init__(params, {"lr": lr, "momentum": momentum})
        self.buffers = {}

    @torch.no_grad()
    def step(self):
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is not None:
                    old = self.buffers.get(p)
                    self.buffers[p] = p.grad.clone() if old is None else group["momentum"] * old + p.grad
                    p.add_(self.buffers[p], alpha=-group["lr"])


def test_check_optimizer_names_a_wrong_optimizer_class():
    # Moved from test_optim_adaptive (check_optimizer names the wrong class that reproduces the student's).
    def ignores_weight_decay(params, **hyper):
        return torch.optim.AdamW(params, **{**hyper, "weight_decay": 0.0})

    checks.check_optimizer(torch.optim.AdamW, torch.optim.AdamW, {"lr": 0.01}, steps=3)
    with pytest.raises(
        AssertionError,
        match=r"^ignores_weight_decay\(lr=0.01, weight_decay=0.1\): after step 1, "
        r"parameter 0 is .* as torch gives\. That is what you get if you "
        r"ignore weight_decay\.$",
    ):
        checks.check_optimizer(
            ignores_weight_decay,
            torch.optim.AdamW,
            {"lr": 0.01, "weight_decay": 0.1},
            steps=3,
            mistakes={
                "ignore betas": lambda params, **hyper: torch.optim.AdamW(params, lr=0.01),
                "ignore weight_decay": ignores_weight_decay,
            },
        )


def test_check_optimizer_says_when_state_is_lost_in_a_state_dict_round_trip():
    hyper = {"lr": 0.1, "momentum": 0.9}
    checks.check_optimizer(SGDWithOwnBuffers, torch.optim.SGD, hyper, steps=6)
    with pytest.raises(
        AssertionError,
        match=r"after step 4, parameter 0 .* It matched before the state_dict round "
        r"trip at step 3: keep all per-parameter state in self\.state\[p\]",
    ):
        checks.check_optimizer(SGDWithOwnBuffers, torch.optim.SGD, hyper, steps=6, round_trip_at=3)


def test_check_module_reports_a_gradient_autograd_does_not_reach():
    class DetachedLinear(nn.Linear):
        def forward(self, x):
            return x @ self.weight.detach().T + self.bias

    inputs = [np.random.default_rng(0).normal(size=(4, 3))]
    with pytest.raises(
        AssertionError,
        match=re.escape(
            "DetachedLinear(3, 2): at step 1 (training mode), your "
            "gradient of weight is None: autograd did not reach it."
        ),
    ):
        checks.check_module(DetachedLinear, nn.Linear, inputs, training=[True], args=(3, 2))


class TwoLayers(nn.Module):
    def __init__(self, width):
        super().__init__()
        self.first, self.second = nn.Linear(width, 4), nn.Linear(4, 2)

    def forward(self, x):
        return self.second(torch.tanh(self.first(x)))


class TwoLayersBuiltBackwards(TwoLayers):
    """TwoLayers with its layers created the other way round, so they draw other initial weights."""

    def __init__(self, width):
        nn.Module.__init__(self)
        self.second = nn.Linear(4, 2)
        self.first = nn.Linear(width, 4)


class BackwardsWithoutTanh(TwoLayersBuiltBackwards):
    def forward(self, x):
        return self.second(self.first(x))


MODULE_INPUTS = [np.random.default_rng(6).normal(size=(5, 3)) for _ in range(3)]


def test_check_module_compares_behaviour_not_the_order_layers_are_built_in():
    checks.check_module(TwoLayersBuiltBackwards, TwoLayers, MODULE_INPUTS, training=[True, False, True], args=(3,))
    with pytest.raises(
        AssertionError,
        match=r"^BackwardsWithoutTanh\(3\): at step 1 \(training mode\), your output is .*"
        r"That is what you get if you forget the tanh\.$",
    ):
        checks.check_module(
            BackwardsWithoutTanh,
            TwoLayers,
            MODULE_INPUTS,
            training=[True, False, True],
            args=(3,),
            mistakes={"forget the tanh": BackwardsWithoutTanh},
        )


def test_check_module_compares_initial_values_that_do_not_depend_on_the_seed_and_shapes_of_the_others():
    class Scale(nn.Module):
        def __init__(self, width, start=1.0, bias_width=None):
            super().__init__()
            self.weight = nn.Parameter(torch.full((width,), start))
            self.bias = nn.Parameter(torch.randn(bias_width or width))

        def forward(self, x):
            return x * self.weight + self.bias

    with pytest.raises(
        AssertionError, match=re.escape("before any step, your initial weight is [0., 0., 0.], expected [1., 1., 1.].")
    ):
        checks.check_module(lambda: Scale(3, start=0.0), lambda: Scale(3), MODULE_INPUTS, training=[True])
    with pytest.raises(AssertionError, match=re.escape("before any step, your initial bias has shape (1,), expected")):
        checks.check_module(lambda: Scale(3, bias_width=1), lambda: Scale(3), MODULE_INPUTS, training=[True])


def test_check_in_place_compares_the_result_and_the_inputs_afterwards():
    make = checks.parameters_from([np.ones(2), np.zeros(1)], [np.array([3.0, 4.0]), None])

    def halve(parameters):
        for parameter in parameters:
            if parameter.grad is not None:
                parameter.grad /= 2
        return 5.0

    def halve_and_forget_to_return(parameters):
        halve(parameters)

    checks.check_in_place(halve, halve, lambda: (make(),), observe=lambda args: checks.parameter_observations(args[0]))
    with pytest.raises(
        AssertionError,
        match=r"^halve_and_forget_to_return: the value returned is None, "
        r"expected 5\.$",
    ):
        checks.check_in_place(
            halve_and_forget_to_return,
            halve,
            lambda: (make(),),
            observe=lambda args: checks.parameter_observations(args[0]),
        )


def test_check_in_place_reports_a_nan_where_a_number_was_expected_as_a_difference():
    make = checks.parameters_from([np.ones(2)], [np.array([3.0, 4.0])])
    observe = lambda args: checks.parameter_observations(args[0])  # noqa: E731

    def scale(factor):
        def scale_gradients(parameters):
            for parameter in parameters:
                parameter.grad *= factor

        return scale_gradients

    checks.check_in_place(scale(np.nan), scale(np.nan), lambda: (make(),), observe=observe)
    with pytest.raises(
        AssertionError,
        match=re.escape("scale_gradients: the gradient of parameter 0 is [nan, nan], expected [1.5, 2. ]."),
    ):
        checks.check_in_place(scale(np.nan), scale(0.5), lambda: (make(),), observe=observe)


def test_check_function_and_check_in_place_name_the_values_of_a_tuple_result():
    def backward(dout):
        return 2 * dout, dout.sum(), {"scale": 2.0}

    def forgets_the_factor(dout):
        return dout, dout.sum(), {"scale": 2.0}

    def returns_two(dout):
        return 2 * dout, dout.sum()

    names = ("dx", "dgamma", "cache")
    dout = np.array([1.0, 3.0])
    checks.check_function(backward, backward, args=(dout,), names=names)
    with pytest.raises(AssertionError, match=re.escape("forgets_the_factor: dx is [1., 3.], expected [2., 6.].")):
        checks.check_function(forgets_the_factor, backward, args=(dout,), names=names)
    with pytest.raises(
        AssertionError, match=re.escape("returns_two must return a tuple of 3 values (dx, dgamma, cache), got a tuple")
    ):
        checks.check_function(returns_two, backward, args=(dout,), names=names)
    with pytest.raises(AssertionError, match=re.escape("cache['scale'] is 3, expected 2.")):
        checks.check_in_place(
            lambda dout: (2 * dout, dout.sum(), {"scale": 3.0}),
            backward,
            lambda: (dout.copy(),),
            observe=lambda args: {},
            names=names,
        )


def test_held_gradients_are_named_by_parameter():
    make = checks.parameters_from([np.ones(2), np.zeros(1)], [np.array([3.0, 4.0]), None])

    def halve_in_place(parameters):
        for parameter in parameters:
            if parameter.grad is not None:
                parameter.grad.mul_(0.5)

    def halve_into_new_tensors(parameters):
        for parameter in parameters:
            if parameter.grad is not None:
                parameter.grad = parameter.grad * 0.5

    held = checks.held_gradient_names(2)
    assert held == ("the gradient of parameter 0 the caller held", "the gradient of parameter 1 the caller held")
    run = lambda clip: checks.check_in_place(  # noqa: E731
        checks.held_gradients(clip),
        checks.held_gradients(halve_in_place),
        lambda: (make(),),
        observe=lambda args: {},
        names=held,
        what="the gradients held",
    )
    run(halve_in_place)
    with pytest.raises(
        AssertionError,
        match=re.escape("the gradients held: the gradient of parameter 0 the caller held is [3., 4.], expected"),
    ):
        run(halve_into_new_tensors)


def test_check_function_passes_a_none_the_reference_also_returns():
    checks.check_function(lambda: None, lambda: None)
    with pytest.raises(AssertionError, match=r"the result should be None, got 1\."):
        checks.check_function(lambda: 1.0, lambda: None)


# --- the package --------------------------------------------------------------------------------------------------


def test_public_functions_are_plain_attributes_of_the_package():
    # The grading kernel's guard restores replaced callables of autograder.checks: they must live on it.
    for name in checks.__all__:
        value = vars(checks)[name]
        assert not isinstance(value, types.ModuleType)
        assert callable(value) or name == "STATELESS"


def test_forbidding_blocks_the_named_functions_only_inside_and_restores_them():
    original = torch.nn.utils.clip_grad_norm_
    with checks.forbidding(["torch.nn.utils.clip_grad_norm_", "torch.nn.functional.dropout"], "clip_grad_norm"):
        with pytest.raises(
            AssertionError, match=r"your answer calls torch.nn.utils.clip_grad_norm_, .* clip_grad_norm"
        ):
            torch.nn.utils.clip_grad_norm_([], 1.0)
        with pytest.raises(AssertionError, match="torch.nn.functional.dropout"):
            torch.nn.Dropout(0.5)(torch.ones(3))  # reached through a module, not named in the answer's text
    assert torch.nn.utils.clip_grad_norm_ is original
    assert torch.nn.functional.dropout(torch.ones(3), 0.0).tolist() == [1.0, 1.0, 1.0]


def test_forbidding_restores_the_functions_when_the_block_raises():
    original = np.linalg.norm
    with pytest.raises(ZeroDivisionError), checks.forbidding(["numpy.linalg.norm"]):
        raise ZeroDivisionError
    assert np.linalg.norm is original


def test_forbidding_an_unknown_name_says_so():
    with (
        pytest.raises(ValueError, match="no_such_module.f names no importable function"),
        checks.forbidding(["no_such_module.f"]),
    ):
        pass


def test_a_check_runs_only_the_students_answer_with_the_forbidden_functions_blocked():
    def reference(x):
        return np.linalg.norm(x)  # the reference may use what the student may not

    def honest(x):
        return float(np.sqrt((x**2).sum()))

    def hands_it_over(x):
        return np.linalg.norm(x)

    x = np.array([3.0, 4.0])
    checks.check_function(honest, reference, args=(x,), forbidden=["numpy.linalg.norm"])
    with pytest.raises(AssertionError, match="your answer calls numpy.linalg.norm"):
        checks.check_function(hands_it_over, reference, args=(x,), forbidden=["numpy.linalg.norm"])


def test_forbidding_a_function_this_torch_lacks_blocks_nothing_and_raises_nothing():
    with checks.forbidding(["torch.nn.utils.no_such_function_in_any_torch"]):
        assert not hasattr(torch.nn.utils, "no_such_function_in_any_torch")


def test_a_number_is_described_without_a_trailing_point():
    with pytest.raises(AssertionError, match=r"the result is 0, expected 1\.$"):
        checks.check_function(lambda: 0.0, lambda: 1.0, what="f")
    assert checks.describe(np.float64(0.25)) == "0.25"
