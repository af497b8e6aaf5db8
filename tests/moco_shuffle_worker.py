"""Run by torchrun in test_moco.py: shuffling BN across 2 gloo ranks against an explicit permuted-batch reference."""

import sys

import torch
import torch.distributed as dist
import torch.nn.functional as F

from mobilezoo.factory import create_model
from mobilezoo.train.moco import MoCo, gather_all

dist.init_process_group("gloo")
rank, world = dist.get_rank(), dist.get_world_size()
torch.manual_seed(0)  # the same model on every rank
moco = MoCo(lambda: create_model("anynet_cifar", num_classes=0, depths=(1, 1, 1), widths=(8, 8, 16), stem_width=8),
            dim=8, queue_size=16).train()
images = torch.randn(4, 3, 16, 16, generator=torch.Generator().manual_seed(100 + rank))  # each rank its own batch

moco.shuffle_generator = torch.Generator().manual_seed(5)  # only rank 0's draw counts: it is broadcast
keys = moco.keys(images)

# reference: the permutation rank 0 drew, applied to the gathered batch by hand; each rank encodes its shard alone
permutation = torch.randperm(4 * world, generator=torch.Generator().manual_seed(5))
everything = gather_all(images)
with torch.no_grad():
    shard_keys = F.normalize(moco.encoder_k(everything[permutation.view(world, -1)[rank]]), dim=1)
    unshuffled_keys = F.normalize(moco.encoder_k(images), dim=1)  # no shuffle: BN on the rank's own batch
permuted_keys = gather_all(shard_keys)  # keys of the permuted batch, in permuted order
reference = torch.empty_like(permuted_keys)
reference[permutation] = permuted_keys  # back to the gathered order
mine = reference.view(world, 4, -1)[rank]
torch.save({"keys": keys, "reference": mine, "unshuffled": unshuffled_keys}, f"{sys.argv[1]}/rank{rank}.pt")
dist.barrier()
dist.destroy_process_group()
