"""Layer-depth limits of BuildKit's overlayfs snapshotter.

A state's `depth` counts the layers its file system stacks: the layers of
its image, plus one per exec or file op on the root. BuildKit mounts a
snapshot with one overlayfs lower directory per layer.
"""

# BuildKit's maintainers give 127 layers as the historic limit: beyond it a
# mount fails with "max depth exceeded" (Docker's overlay2 docs say 128).
MAX_LAYER_DEPTH = 127

# Depth at which the compiler should call `State.flatten()`. Before BuildKit's
# 2024 fix "executor: fix overlay layer limit for non-rootfs mounts", a state
# mounted somewhere other than / failed from about 70 layers, because runc
# cut the long overlayfs mount options; 64 stays below that on every daemon.
FLATTEN_DEPTH = 64
