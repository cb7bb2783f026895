"""One exception root for Data Steward; every message says what went wrong and where."""

from __future__ import annotations


class DataStewardError(Exception):
    """Root of every error Data Steward raises on purpose."""


class SetupError(DataStewardError):
    """The installation or the database is not usable (for example, `mongod` is missing)."""


class InputError(DataStewardError):
    """A source (manifest, folder, annotation file) cannot be read as a whole.

    Parameters
    ----------
    message : str
        What is wrong, in words a user can act on.
    where : str, optional
        ``file`` or ``file:line`` naming the place.
    """

    def __init__(self, message: str, where: str | None = None):
        self.where = where
        self.message = message
        super().__init__(f"{where}: {message}" if where else message)


class UnsafePathError(InputError):
    """A path in a source points outside the source folder."""


class MediaError(DataStewardError):
    """A media file is missing, unreadable or cannot be decoded."""

    def __init__(self, path: str, reason: str):
        self.path = path
        self.reason = reason
        super().__init__(f"{path}: {reason}")


class DatasetNotFoundError(DataStewardError):
    """No dataset has the given name."""


class AccessDenied(DataStewardError):
    """The user's role does not allow this action."""


class ConflictError(DataStewardError):
    """Someone else changed the item first; nothing was overwritten."""
