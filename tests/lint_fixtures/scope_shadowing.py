import torch
from torch import jit


def shadowed(model):
    jit = make_compiler()  # a local variable shadows the import in this function
    return jit.script(model)  # negative


def parameter(jit, model):
    return jit.trace(model)  # negative: the parameter shadows the import


def local_import(model):
    import torch.jit as tj

    return tj.script(model)


def elsewhere(model):
    return tj.script(model)  # negative: tj is local to local_import


def module_level(model):
    return jit.script(model)
