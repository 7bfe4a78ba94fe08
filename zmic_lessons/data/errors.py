"""Errors raised by the data loaders: one ``DataError(ValueError)`` hierarchy.

Every message names the file (or folder) and says what was expected, so that a reader who points
the package at a real data set learns from the message alone what to fix.

``DataError`` subclasses ``ValueError`` so that the command line (which catches ``ValueError``)
prints the message instead of a traceback.
"""

from __future__ import annotations


class DataError(ValueError):
    """Base class: a data set on disk is not what the loader expects."""


class MissingDataError(DataError, FileNotFoundError):
    """A folder or file that the published layout requires is absent (or the folder is empty)."""


class FileFormatError(DataError):
    """A file cannot be read as the expected format (corrupt gzip, not NIfTI, wrong rank, NaNs)."""


class LabelError(DataError):
    """A label map holds a value that is not one of the data set's published codes."""


class GeometryError(DataError):
    """Image and label (or two sequences that must be aligned) differ in shape or spacing."""
