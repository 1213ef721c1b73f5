"""The GPU capstones' code: the CIFAR-10 reader (`cifar10`), augmentation on the device (`augment`), training
recipes (`recipes`: an optimizer factory, lr and momentum as functions of the step, optional clipping, batch size
and length) and the one trainer (`trainer.train`), which notebooks 08/09 and the command line both run:

    python -m capstone.cifar10 [--download]     # where CIFAR-10 is expected, and whether it is there
    python -m capstone --help                   # train a CIFAR ResNet (torchrun for several GPUs)

Nothing is imported here, so that `python -m capstone.cifar10` runs its module exactly once.
"""
