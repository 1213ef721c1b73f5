"""Lesson 04: learning-rate schedules and the training loss they give."""

import ipywidgets
import numpy as np

from reference_impl import schedules as reference_schedules

from ..data import load_mnist1d
from ..experiments import smooth
from ..experiments.schedules import mlp_training_losses
from ..fallback import implemented_or_reference
from ..settings import sized
from .base import PALETTE, View, controls_row, learning_rate_slider, quick_to_draw, view_figure


class ScheduleExplorer(View):
    """A learning-rate schedule (and momentum, when it cycles) and the training loss it gives, redrawn live.

    `schedules` maps a name to ``(sliders, options, curves)``: dicts of widgets for its parameters, and
    ``curves(values) -> (lrs, momenta or None)`` giving the per-step lr and momentum (None: the fixed
    `momentum`) from the widgets' current values. The menu picks the schedule; `controls` and `options` are the
    widgets of the one shown. Loss curves come from `loss_curve(lrs, momenta)` and are cached per setting; the
    loss at a constant `baseline_lr` is drawn too, for comparison.
    """

    def __init__(
        self, schedules, loss_curve, steps, momentum=0.9, baseline_lr=0.1, title="Learning-rate schedule", initial=None
    ):
        self.schedules = schedules
        self.loss_curve = loss_curve
        self.steps = steps
        self.momentum = momentum
        self.menu = ipywidgets.Dropdown(
            options=list(schedules), value=initial or next(iter(schedules)), description="schedule"
        )
        self._rows = {
            name: controls_row([*sliders.values(), *options.values()])
            for name, (sliders, options, _curves) in schedules.items()
        }
        self._parameters = ipywidgets.Box([self._rows[self.menu.value]])  # holds the row of the schedule shown
        self._cache = {}
        figure, (self.lr_axes, self.loss_axes) = view_figure(
            (9.5, 3.6), 2, left=0.08, right=0.98, bottom=0.14, top=0.9, wspace=0.42
        )
        self.momentum_axes = self.lr_axes.twinx()
        self.momentum_axes.set_visible(False)  # shown, with its legend entry, only for schedules that cycle it
        (self._lr_line,) = self.lr_axes.plot([], [], color=PALETTE[0], label="learning rate")
        (self._momentum_line,) = self.momentum_axes.plot([], [], color=PALETTE[1], linestyle="--", label="momentum")
        self.lr_axes.set(xlabel="step", ylabel="learning rate", title=title)
        self.momentum_axes.set_ylabel("momentum", color=PALETTE[1])
        self.lr_axes.grid(True, alpha=0.3)
        baseline = loss_curve(np.full(steps, baseline_lr), np.full(steps, momentum))
        self.loss_axes.plot(
            np.arange(steps),
            smooth(baseline),
            color=PALETTE[6],
            linewidth=0.8,
            alpha=0.6,
            label=f"constant lr {baseline_lr:g}",
        )
        (self._loss_line,) = self.loss_axes.plot([], [], color=PALETTE[0], label="this schedule")
        self.loss_axes.set(xlabel="step", ylabel="training loss (moving average of 20)", title="Small MLP on MNIST-1D")
        self.loss_axes.legend(loc="upper right", fontsize=8)
        self.loss_axes.grid(True, alpha=0.3)
        quick_to_draw(self.lr_axes, self.momentum_axes, self.loss_axes, ticks=4)
        self.lr_axes.legend(handles=[self._lr_line], loc="upper right", fontsize=8)
        self.menu.observe(lambda _change: self._show_schedule(), names="value")
        sliders, options, _curves = schedules[self.menu.value]
        super().__init__(figure, sliders, options)

    def observed_widgets(self) -> list:
        """Every schedule's widgets, shown or not (the menu swaps them in: see `_show_schedule`)."""
        return [
            widget
            for sliders, options, _curves in self.schedules.values()
            for widget in [*sliders.values(), *options.values()]
        ]

    def control_panel(self) -> ipywidgets.Widget:
        return ipywidgets.VBox([self.menu, self._parameters])

    def curves(self):
        """(lrs, momenta) per step of the schedule shown; momenta is None when it does not cycle."""
        return self.schedules[self.menu.value][2](self.values())

    def update(self) -> None:
        lrs, momenta = self.curves()
        steps = np.arange(len(lrs))
        key = (self.menu.value, tuple(sorted(self.values().items())))
        if key not in self._cache:
            self._cache[key] = self.loss_curve(lrs, np.full(len(lrs), self.momentum) if momenta is None else momenta)
        losses = self._cache[key]
        self._lr_line.set_data(steps, lrs)
        if momenta is not None:
            self._momentum_line.set_data(steps, momenta)
        self._momentum_line.set_visible(momenta is not None)
        if self.momentum_axes.get_visible() != (momenta is not None):
            self.momentum_axes.set_visible(momenta is not None)
            shown = [self._lr_line, self._momentum_line] if momenta is not None else [self._lr_line]
            self.lr_axes.legend(handles=shown, loc="upper right", fontsize=8)
        self._loss_line.set_data(steps, smooth(losses))
        for axes in (self.lr_axes, self.momentum_axes, self.loss_axes):  # limits follow the new curves
            axes.relim()
            axes.autoscale_view()
        finite = losses[np.isfinite(losses)]
        final = (
            f"final training loss {finite[-20:].mean():.3f}"
            if len(finite) == len(losses)
            else f"<b>diverged</b> at step {len(finite)}"
        )
        momentum_note = "momentum cycled inversely to the lr" if momenta is not None else f"momentum {self.momentum}"
        self.show(
            f"<b>{self.menu.value}</b>: lr from {lrs[0]:.3g} to {lrs[-1]:.3g} (peak {max(lrs):.3g}), "
            f"{momentum_note}; {final}"
        )

    def _show_schedule(self) -> None:
        """Make the menu's schedule the one shown: its widgets become `controls` and `options`, its row appears."""
        self.controls, self.options, _curves = self.schedules[self.menu.value]
        self._parameters.children = [self._rows[self.menu.value]]
        self.update()


def schedule_explorer(
    step_lr=None,
    exponential_lr=None,
    cosine_annealing_lr=None,
    cosine_warm_restarts_lr=None,
    one_cycle=None,
    with_warmup=None,
    data=None,
    steps=None,
    schedule="one-cycle",
):
    """Lesson 04: pick a schedule, move its parameters, see the lr (and momentum) and the training loss.

    Pass the student's functions; any that still raise NotImplementedError are replaced by the
    reference (with a printed note). `data` defaults to MNIST-1D; the loss comes from
    `mlp_training_losses` over `steps` steps (300, or 100 in fast mode).
    """
    reference = reference_schedules
    step_decay = implemented_or_reference(step_lr, reference.step_lr, lambda f: f(0, 0.1, 10, 0.1))
    exponential = implemented_or_reference(exponential_lr, reference.exponential_lr, lambda f: f(0, 0.1, 0.9))
    cosine = implemented_or_reference(cosine_annealing_lr, reference.cosine_annealing_lr, lambda f: f(0, 0.1, 10))
    restarts = implemented_or_reference(
        cosine_warm_restarts_lr, reference.cosine_warm_restarts_lr, lambda f: f(0, 0.1, 10, 2)
    )
    cycle = implemented_or_reference(one_cycle, reference.one_cycle, lambda f: f(0, 0.1, 10))
    warmup = implemented_or_reference(with_warmup, reference.with_warmup, lambda f: f(lambda s: 0.1, 5)(0))
    data = load_mnist1d() if data is None else data
    steps = sized(100, 300) if steps is None else steps
    step_numbers = range(steps)

    def lr_slider(value=0.1):
        return learning_rate_slider(value, low=1e-3, high=3.0)

    def int_slider(description, value, low, high):
        return ipywidgets.IntSlider(
            value=value, min=low, max=high, description=description, style={"description_width": "initial"}
        )

    def float_slider(description, value, low, high, step):
        return ipywidgets.FloatSlider(
            value=value,
            min=low,
            max=high,
            step=step,
            description=description,
            readout_format=".3g",
            style={"description_width": "initial"},
        )

    def lr_curve(schedule_of_step):
        return np.array([schedule_of_step(step) for step in step_numbers], dtype=float), None

    def one_cycle_curves(v):
        pairs = np.array(
            [
                cycle(
                    step,
                    v["max_lr"],
                    steps,
                    pct_start=v["pct_start"],
                    anneal_strategy=v["anneal"],
                    div_factor=v["div_factor"],
                    final_div_factor=v["final_div_factor"],
                    three_phase=v["three_phase"],
                )
                for step in step_numbers
            ],
            dtype=float,
        )
        return pairs[:, 0], pairs[:, 1]

    schedules = {
        "constant": ({"lr": lr_slider()}, {}, lambda v: (np.full(steps, v["lr"]), None)),
        # Lengths in steps default to fractions of the run, so a fast-mode run shows the same shapes.
        "step decay": (
            {
                "lr": lr_slider(),
                "step_size": int_slider("step_size", steps // 3, 10, steps),
                "gamma": float_slider("gamma", 0.1, 0.05, 0.9, 0.05),
            },
            {},
            lambda v: lr_curve(lambda s: step_decay(s, v["lr"], v["step_size"], v["gamma"])),
        ),
        "exponential": (
            {"lr": lr_slider(), "gamma": float_slider("gamma (per step)", 0.99, 0.95, 1.0, 0.001)},
            {},
            lambda v: lr_curve(lambda s: exponential(s, v["lr"], v["gamma"])),
        ),
        "cosine": (
            {"lr": lr_slider(), "T_max": int_slider("T_max", steps, 10, steps)},
            {},
            lambda v: lr_curve(lambda s: cosine(s, v["lr"], v["T_max"])),
        ),
        "warm restarts (SGDR)": (
            {
                "lr": lr_slider(),
                "T_0": int_slider("T_0", steps * 2 // 15, 5, steps),
                "T_mult": int_slider("T_mult", 2, 1, 3),
            },
            {},
            lambda v: lr_curve(lambda s: restarts(s, v["lr"], v["T_0"], v["T_mult"])),
        ),
        "warmup + cosine": (
            {
                "lr": lr_slider(0.3),
                "warmup_steps": int_slider("warmup steps", steps // 10, 1, steps // 2),
                "start_factor": float_slider("start_factor", 0.1, 0.05, 1.0, 0.05),
            },
            {},
            lambda v: lr_curve(
                warmup(lambda s: cosine(s, v["lr"], steps - v["warmup_steps"]), v["warmup_steps"], v["start_factor"])
            ),
        ),
        "one-cycle": (
            {
                "max_lr": lr_slider(0.5),
                "pct_start": float_slider("pct_start", 0.3, 0.05, 0.5, 0.05),
                "div_factor": learning_rate_slider(25.0, 1.0, 1e3, description="div_factor"),
                "final_div_factor": learning_rate_slider(1e4, 1.0, 1e5, description="final_div_factor"),
            },
            {
                "anneal": ipywidgets.ToggleButtons(options=["cos", "linear"], description="anneal"),
                "three_phase": ipywidgets.Checkbox(value=False, description="three phases"),
            },
            one_cycle_curves,
        ),
    }
    return ScheduleExplorer(
        schedules,
        lambda lrs, momenta: mlp_training_losses(data, lrs, momenta),
        steps,
        title="Learning rate (and momentum) by step",
        initial=schedule,
    )
