"""Speech and text recognition recipes on Keras 3 and TensorFlow.

Importing this package is cheap: TensorFlow is imported only by the modules that need it.
"""

__version__ = "0.1.0"
