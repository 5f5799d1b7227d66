"""Speech and text recognition recipes on Keras 3 and TensorFlow.

Importing this package is cheap: TensorFlow is imported only by the modules that need it.
"""

from toolkit import quiet as _quiet

__version__ = "0.1.0"

# TensorFlow's start-up notices stay off the screen (TOOLKIT_DEBUG=1 shows them); nothing is
# imported here, a finder waits for the first `import tensorflow`.
_quiet.install()
