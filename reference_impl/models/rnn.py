"""A vanilla recurrent network and the adding problem, the classic test of long-range gradients.

The adding problem (Hochreiter & Schmidhuber 1997; used for clipping by Pascanu et al. 2013): each
step carries a random value and a marker; exactly two steps are marked, and the target is the sum of
their values. The marked steps can be far from the end, so the error signal must travel back through
many steps of the recurrence, where it vanishes or explodes.
"""

import torch
from torch import nn


def adding_problem(batch_size, length, generator=None):
    """Inputs shaped (batch, length, 2) — value in [0, 1), marker 0 or 1 — and targets shaped (batch, 1).

    One marked step falls in the first half of the sequence and one in the second half.
    """
    values = torch.rand(batch_size, length, generator=generator)
    half = length // 2
    first = torch.randint(0, half, (batch_size,), generator=generator)
    second = torch.randint(half, length, (batch_size,), generator=generator)
    markers = torch.zeros(batch_size, length)
    rows = torch.arange(batch_size)
    markers[rows, first] = 1.0
    markers[rows, second] = 1.0
    targets = (values * markers).sum(dim=1, keepdim=True)
    return torch.stack([values, markers], dim=-1), targets


class RNNRegressor(nn.Module):
    """One-layer vanilla RNN (h = φ(W_x x + W_h h + b)) read out linearly from its last hidden state.

    `recurrent_scale` multiplies the recurrent weights after torch's default initialization: above
    about 1 (in spectral radius) gradients through time tend to explode, below it they vanish.
    """

    def __init__(self, input_size=2, hidden_size=32, output_size=1, nonlinearity="tanh", recurrent_scale=1.0):
        super().__init__()
        self.rnn = nn.RNN(input_size, hidden_size, nonlinearity=nonlinearity, batch_first=True)
        self.readout = nn.Linear(hidden_size, output_size)
        with torch.no_grad():
            self.rnn.weight_hh_l0.mul_(recurrent_scale)

    def forward(self, inputs):
        states, _ = self.rnn(inputs)
        return self.readout(states[:, -1])
