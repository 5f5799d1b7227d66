"""Backbones: Keras layers that turn features into a sequence, with no task head.

Every backbone takes features `[batch, frames, num_features]` (frames may be dynamic) and
returns `[batch, ceil(frames / time_stride), output_channels]`. A task adds the head on top:
pooling and a classifier for keyword spotting, a per-frame dense layer for CTC. `num_features`
comes from the feature extractor, never from the recipe.
"""
