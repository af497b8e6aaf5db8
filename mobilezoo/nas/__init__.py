"""Architecture search and the latency lookup table it uses as its cost.

- :mod:`.latency_table`: the FBNet-style block latency table (one runtime per table);
- :mod:`.validation_space`: the sampled space that validates it.
"""
