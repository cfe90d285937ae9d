"""Convert newer-Keras `.h5` models into the dialect the exam's TensorFlow 2.9 loads.

Importing this package does not import h5py or numpy; converting does.
"""

from tfbridge.convert.converter import convert, default_output
from tfbridge.convert.parity import ParityMismatch
from tfbridge.convert.report import ConversionRefused, ConversionReport, Dropped, ParityCheck

__all__ = [
    "ConversionRefused",
    "ConversionReport",
    "Dropped",
    "ParityCheck",
    "ParityMismatch",
    "convert",
    "default_output",
]
