"""Linear baselines fitted beside a task's model (`train.baseline`).

Each is the model a user of the task would have tried first (TF-IDF + logistic regression,
a CRF over word features, MFCC statistics + logistic regression), fitted with scikit-learn or
CRFsuite and then written as a Keras model with the same input and output as the task's own,
so that it is evaluated, exported and served as the run's model is.
"""
