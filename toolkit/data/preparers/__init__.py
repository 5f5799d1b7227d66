"""Dataset preparers: turn a dataset's own layout into train/valid/test manifests.

Each dataset module has `prepare(root, **options) -> {"train": ..., "test": ...}` (plus "valid"
where the dataset defines one) and `download(root)`. `folder` reads the user's own data.
"""
