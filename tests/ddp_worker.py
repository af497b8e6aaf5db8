"""Run by torchrun in test_train.py: train a few steps under DDP (gloo) and dump this rank's weights."""

import sys

import torch

from mobilezoo.train.config import TrainConfig
from mobilezoo.train.distributed import shutdown
from mobilezoo.train.engine import Trainer

config = TrainConfig.from_file(None, sys.argv[2:])
trainer = Trainer(config, show_progress=False)
trainer.fit()
torch.save(trainer.model.state_dict(), f"{sys.argv[1]}/rank{trainer.dist.rank}.pt")
shutdown()
