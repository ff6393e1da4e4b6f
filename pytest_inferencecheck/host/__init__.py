"""What this machine has and lacks: the C++ compiler, target devices, host faults, the C++
runner's build, and work prewarmed in the background."""
