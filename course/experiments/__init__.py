"""The small training runs that the lessons and their views draw, apart from the drawing: one module per topic,
plain functions, torch autograd wherever the backward pass is not what the lesson teaches.

- `classifier`: the training loop of the lessons' MNIST-1D experiments, and loss-curve smoothing;
- `gradient_flow` (lesson 00): deep plain MLPs whose per-layer gradient norms vanish or explode;
- `momentum` (01): SGD, heavy-ball and Nesterov, each at its learning rate chosen on validation, over seeds
  (recorded at full size in results/01_momentum.json, see course/results.py);
- `batch_norm` (03): a hidden unit's pre-activations through batch norm in training and evaluation mode;
- `schedules` (04): a small MLP trained under any per-step learning rate and momentum;
- `clipping` (05): a tanh RNN trained on the adding problem, with or without clipping;
- `normalization` (06): batch norm's dependence on the batch, and dropout on a net made to overfit;
- `init_residual` (07): activation and gradient spread layer by layer, plain vs residual;
- `capstone_depth` (08): plain, residual and pre-activation nets at two depths, batch-norm ablation, gradient
  norms (recorded in results/08_capstone_resnet_depth.json);
- `capstone_recipe` (09): the training-recipe ablation and a fair SGD/AdamW comparison (recorded in
  results/09_capstone_training_recipe.json);
- `divergence`: when a run counts as diverged.
"""

from .classifier import smooth, train_classifier
from .gradient_flow import deep_mlp

__all__ = ["deep_mlp", "smooth", "train_classifier"]
