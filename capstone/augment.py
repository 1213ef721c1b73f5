"""Data augmentation done on the training device, a whole batch at a time (no per-image Python work)."""

import torch
import torch.nn.functional as F

# Per-channel mean and standard deviation of the CIFAR-10 training images, on the 0..1 scale.
CIFAR10_MEAN = (0.4914, 0.4822, 0.4465)
CIFAR10_STD = (0.2470, 0.2435, 0.2616)


def random_crop_flip(images, generator, padding=4):
    """Pad each image by `padding` zeros on every side, cut a random window of the original size and mirror
    it left-right with probability 1/2: He et al.'s CIFAR augmentation, as torchvision's
    RandomCrop(32, padding=4) + RandomHorizontalFlip, for a batch (B, C, H, W) of any dtype.

    Offsets (0 .. 2·padding in each direction) and flips come from `generator`, which lives on the images'
    device, so nothing waits for the host. Crop and flip are one gather: a flipped window reads its columns
    in reverse order.
    """
    batch, channels, height, width = images.shape
    device = images.device
    offsets = torch.randint(0, 2 * padding + 1, (2, batch), device=device, generator=generator)
    flipped = torch.rand(batch, device=device, generator=generator) < 0.5
    padded = F.pad(images, (padding, padding, padding, padding))
    rows = offsets[0, :, None] + torch.arange(height, device=device)
    columns = torch.arange(width, device=device)
    columns = torch.where(flipped[:, None], columns.flip(0), columns) + offsets[1, :, None]
    return padded[
        torch.arange(batch, device=device)[:, None, None, None],
        torch.arange(channels, device=device)[None, :, None, None],
        rows[:, None, :, None],
        columns[:, None, None, :],
    ]


def normalize(images, channels_last=False):
    """uint8 images (B, 3, H, W) -> float32, per-channel standardized, optionally in channels_last memory order."""
    mean = torch.tensor(CIFAR10_MEAN, device=images.device).view(1, 3, 1, 1)
    std = torch.tensor(CIFAR10_STD, device=images.device).view(1, 3, 1, 1)
    out = (images.float() / 255 - mean) / std
    return out.contiguous(memory_format=torch.channels_last) if channels_last else out
