"""Reading data: manifests, class folders, dataset preparers and tf.data pipelines."""
