"""Architecture search and the latency lookup table it can use as its cost.

- :mod:`.space`: a DMaskingNAS search space read from YAML (``configs/search/``);
- :mod:`.supernet`: the masked supernet (channel masks, op mixtures, resolution by subsample + zero-interleave);
- :mod:`.cost`: the differentiable cost (expected MACs under the architecture distribution), :mod:`.lut_tables`
  the same from a latency table;
- :mod:`.search`: the search loop; :mod:`.derive`: the searched network as an FBNet definition file;
- :mod:`.latency_table`: the FBNet-style block latency table; :mod:`.validation_space`: the sampled space that
  validates it;
- sample-based search: :mod:`.discrete_space` (categorical spaces: encoding, sampling, mutation), :mod:`.searchers`
  (the ask/tell interface, random search, regularized evolution), :mod:`.lanas` (LaNAS), :mod:`.algorithms` (by name), :mod:`.tabular`
  (NAS-Bench-201 and synthetic tables), :mod:`.oneshot` (a DMaskingNAS space scored by its supernet under a
  latency budget).
"""
