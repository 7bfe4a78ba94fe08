"""zmic_lessons: the package behind the ZMIC course."""

__version__ = "0.1.0"
