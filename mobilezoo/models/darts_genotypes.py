"""DARTS-space genotypes, as data: the published DARTS cells and the cells UnNAS found with each pretext task.

A genotype holds a normal and a reduction cell. Each cell lists 4 intermediate nodes; each node is written as two
``op@input`` terms (input 0 = the cell before the previous one, 1 = the previous cell, k >= 2 = intermediate node
k - 2), the node being the sum of the two ops. A cell's output concatenates intermediate nodes 2..5. Abbreviations:
s3 / s5 sep_conv_3x3 / 5x5, d3 / d5 dil_conv_3x3 / 5x5, mp max_pool_3x3, ap avg_pool_3x3, sk skip_connect, no none.

Facts from DARTS (arXiv 1806.09055, DARTS_V1 first order, DARTS_V2 second order) and UnNAS (arXiv 2003.12056,
facebookresearch/unnas ``genotypes.py``), with the ImageNet mobile-setting widths of the UnNAS evaluation configs.
"""

from __future__ import annotations

#: op abbreviations -> DARTS op names
OPS = {"s3": "sep_conv_3x3", "s5": "sep_conv_5x5", "d3": "dil_conv_3x3", "d5": "dil_conv_5x5",
       "mp": "max_pool_3x3", "ap": "avg_pool_3x3", "sk": "skip_connect", "no": "none"}

#: name -> (normal cell, reduction cell, ImageNet width C of the UnNAS / DARTS evaluation)
GENOTYPES: dict[str, tuple[str, str, int]] = {
    "darts_v1": ("s3@1 s3@0 | sk@0 s3@1 | sk@0 s3@1 | s3@0 sk@2", "mp@0 mp@1 | sk@2 mp@0 | mp@0 sk@2 | sk@2 ap@0", 48),
    "darts_v2": ("s3@0 s3@1 | s3@0 s3@1 | s3@1 sk@0 | sk@0 d3@2", "mp@0 mp@1 | sk@2 mp@1 | mp@0 sk@2 | sk@2 mp@1", 48),
    "unnas_imagenet_cls": ("s3@1 s3@0 | s3@1 s3@0 | s3@0 s3@2 | s5@1 s3@0", "mp@0 sk@1 | mp@0 d5@2 | mp@0 s3@2 | s3@4 d5@3", 44),
    "unnas_imagenet_rot": ("s3@0 s3@1 | s3@0 s3@1 | s3@1 s3@0 | s3@0 s3@1", "s3@1 s3@0 | s3@2 s3@1 | s3@1 s3@2 | s3@4 s5@2", 42),
    "unnas_imagenet_col": ("sk@0 s3@1 | s3@1 sk@0 | s3@0 s3@3 | s3@0 s3@2", "mp@0 s3@1 | mp@0 s3@1 | mp@0 s5@3 | mp@0 s3@4", 46),
    "unnas_imagenet_jig": ("s3@0 s3@1 | s3@0 s3@1 | s3@0 s3@3 | s3@1 s5@0", "s5@0 s3@1 | s3@0 s3@1 | s3@0 s3@1 | s5@0 s3@1", 42),
    "unnas_imagenet22k_cls": ("s3@1 sk@0 | s3@1 s3@2 | s3@1 s3@2 | s3@1 s3@0", "mp@0 mp@1 | d5@2 mp@0 | d5@3 d5@2 | d5@4 d5@3", 46),
    "unnas_imagenet22k_rot": ("s3@0 s3@1 | s3@0 s3@1 | s3@0 s3@1 | s3@0 s3@1", "mp@0 s5@1 | d5@2 s5@0 | d5@3 s3@2 | s3@4 s3@3", 42),
    "unnas_imagenet22k_col": ("s3@0 s3@1 | s3@0 s3@1 | s3@2 s3@1 | s3@3 s3@0", "mp@0 sk@1 | d5@2 s3@0 | s3@3 s3@0 | s3@4 s5@1", 42),
    "unnas_imagenet22k_jig": ("s3@0 s3@1 | s3@0 s3@1 | s3@1 s3@0 | s3@0 s3@4", "s5@0 sk@1 | s5@0 s3@2 | s5@0 s5@3 | s5@0 s5@4", 42),
    "unnas_cityscapes_seg": ("sk@0 s5@1 | s3@1 s3@0 | s3@0 s3@1 | s3@0 s3@1", "s3@0 ap@1 | ap@1 s5@0 | s3@2 s5@0 | s3@4 s5@2", 44),
    "unnas_cityscapes_rot": ("s3@1 s3@0 | s3@2 s3@1 | s3@0 s3@3 | s3@1 s3@0", "mp@0 s5@1 | s5@2 s5@1 | s5@3 d5@2 | s5@2 s5@0", 42),
    "unnas_cityscapes_col": ("d3@1 s3@0 | sk@0 s5@2 | d3@3 sk@0 | sk@0 s3@1", "ap@1 ap@0 | ap@1 ap@0 | ap@1 ap@0 | ap@1 sk@4", 54),
    "unnas_cityscapes_jig": ("d5@1 s5@0 | s3@0 s3@1 | s3@0 s3@2 | s3@0 d5@1", "ap@0 sk@1 | d5@1 d5@2 | d5@2 d5@0 | d5@3 d5@2", 44),
}

#: parameters (auxiliary head excluded) and conv + fc MACs at 224 px, 1000 classes, 14 cells, of the reference
#: implementation (unnas ``NetworkImageNet``); thop MACs are what the UnNAS trainer logged (BN counted at 2 per
#: element, pooling at 1)
PUBLISHED: dict[str, dict[str, int | float]] = {
    "darts_v2": {"params": 4_718_752, "macs_m": 529.9, "thop_macs": 538_228_992},
    "darts_v1": {"params": 4_510_432, "macs_m": 505.9, "thop_macs_m": 513.68},
    "unnas_imagenet_cls": {"params": 5_254_622, "macs_m": 581.1, "thop_macs": 591_483_200},
    "unnas_imagenet_rot": {"params": 5_138_083, "macs_m": 551.5, "thop_macs": 561_864_576},
    "unnas_imagenet_col": {"params": 4_934_845, "macs_m": 539.6, "thop_macs": 548_512_832},
    "unnas_imagenet_jig": {"params": 5_183_779, "macs_m": 559.7, "thop_macs": 570_030_720},
    "unnas_imagenet22k_cls": {"params": 5_195_849, "macs_m": 574.6, "thop_macs": 584_333_400},
    "unnas_imagenet22k_rot": {"params": 5_002_003, "macs_m": 541.1, "thop_macs": 551_294_688},
    "unnas_imagenet22k_col": {"params": 4_987_639, "macs_m": 539.7, "thop_macs": 549_887_016},
    "unnas_imagenet22k_jig": {"params": 5_138_083, "macs_m": 552.2, "thop_macs": 562_556_064},
    "unnas_cityscapes_seg": {"params": 5_129_662, "macs_m": 558.5, "thop_macs": 568_284_640},
    "unnas_cityscapes_rot": {"params": 5_068_279, "macs_m": 546.9, "thop_macs": 557_098_248},
    "unnas_cityscapes_col": {"params": 5_103_649, "macs_m": 584.9, "thop_macs": 592_732_728},
    "unnas_cityscapes_jig": {"params": 4_958_590, "macs_m": 549.7, "thop_macs": 559_151_824},
}

#: parameters of NetworkCIFAR (C 36, 20 cells, 10 classes, auxiliary head excluded)
PUBLISHED_CIFAR: dict[str, int] = {
    "darts_v2": 3_349_342, "darts_v1": 3_169_414, "unnas_imagenet_cls": 4_500_406, "unnas_imagenet_rot": 4_708_630,
    "unnas_imagenet_col": 3_762_550, "unnas_imagenet_jig": 4_763_926, "unnas_imagenet22k_cls": 4_047_886,
    "unnas_imagenet22k_rot": 4_609_270, "unnas_imagenet22k_col": 4_596_958, "unnas_imagenet22k_jig": 4_712_950,
    "unnas_cityscapes_seg": 4_297_798, "unnas_cityscapes_rot": 4_661_758, "unnas_cityscapes_col": 2_857_942,
    "unnas_cityscapes_jig": 4_202_758,
}
