# Hugging Face's logger adds *_once methods; Dynamo breaks on them too (GB0291, measured).
from torch import nn
from transformers.utils import logging

logger = logging.get_logger(__name__)


class Block(nn.Module):
    def forward(self, x):
        logger.warning_once("use_cache=True is incompatible with gradient checkpointing")
        logger.info_once("forward")
        logger.warning_advice("slow path")
        logger.propagate = False  # negative: not a call
        return x
