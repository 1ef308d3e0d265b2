"""Generator and discriminator architectures; importing this package registers ``mlp``, ``dcgan``, ``biggan`` and
``progan``.

Build networks by name through the registry (``ganaug.builders.build_generator("biggan", arch_args)``); every
network keeps its constructor arguments as ``net.arch_args`` so it can be rebuilt from ``config.json`` alone.
"""

from __future__ import annotations

from .biggan import BigganDiscriminator, BigganGenerator
from .dcgan import DcganDiscriminator, DcganGenerator
from .layers import count_parameters, plan_resolution
from .mlp import MlpDiscriminator, MlpGenerator
from .progan import ProganDiscriminator, ProganGenerator

__all__ = [
    "BigganDiscriminator",
    "BigganGenerator",
    "DcganDiscriminator",
    "DcganGenerator",
    "MlpDiscriminator",
    "MlpGenerator",
    "ProganDiscriminator",
    "ProganGenerator",
    "count_parameters",
    "plan_resolution",
]
