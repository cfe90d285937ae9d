"""`tfbridge train`: run a training script in a profile's environment, then fingerprint, verify and
record every `.h5` it wrote.

`helpers/` holds the in-env module (`tfbridge_keras`) training scripts import; it runs under any
Python and TensorFlow tfbridge starts, so it is never imported by tfbridge itself.
"""
