"""Network design spaces as in "On Network Design Spaces for Visual Recognition" (arXiv 1905.13214).

:mod:`.spaces` samples networks (Vanilla, ResNet, ResNeXt-A, ResNeXt-B) as :class:`~.spaces.NetSpec`, which
build as ``anynet_cifar`` zoo models; :mod:`.complexity` gives their params and MACs analytically;
:mod:`.analysis` compares spaces through error distributions (EDFs, complexity-normalized EDFs, KS tests,
random-search efficiency); :mod:`.report` draws the plots and the markdown summary.
"""

from .analysis import edf, ks_test, normalized_weights, random_search_efficiency
from .complexity import ComplexityRange, count_macs, count_params
from .spaces import SPACES, DesignSpace, NetSpec, get_space

__all__ = ["SPACES", "ComplexityRange", "DesignSpace", "NetSpec", "count_macs", "count_params", "edf", "get_space",
           "ks_test", "normalized_weights", "random_search_efficiency"]
