"""Audio reading, in-graph signal ops, feature layers and augmentation."""
