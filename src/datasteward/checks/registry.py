"""Check specifications and the one explicit registry that holds them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Mapping

OWNERS = ("data_ops", "annotation", "ml", "product")
SEVERITIES = ("low", "medium", "high")
MODALITIES = ("image", "audio", "any")
DIRECTIONS = ("above", "below")
LEVELS = ("item", "dataset")


@dataclass(frozen=True)
class CheckSpec:
    """What a check measures, who owns its findings, and when it fires.

    Parameters
    ----------
    name : str
        Stable id used in flags, tags and exports (``dark``, ``clipping``).
    modality : str
        ``image``, ``audio`` or ``any``.
    owner : str
        Owning layer: ``data_ops``, ``annotation``, ``ml`` or ``product``.
    severity : str
        ``low``, ``medium`` or ``high``.
    describes : str
        What it measures, in one line.
    direction : str
        ``above``: fires when the score exceeds the threshold; ``below``: when it is under it.
    default_threshold : float
        Used unless the quality contract overrides it.
    unit : str
        Unit of the score (``ratio``, ``dB``, ``robust z``).
    level : str
        ``item``: scored from one item's media; ``dataset``: scored against the whole table.
    version : int
        Bumped when the computation changes, so an incremental scan recomputes it.
    """

    name: str
    modality: str
    owner: str
    severity: str
    describes: str
    direction: str
    default_threshold: float
    unit: str
    level: str = "item"
    version: int = 1

    def __post_init__(self):
        for value, allowed, what in [(self.owner, OWNERS, "owner"), (self.severity, SEVERITIES, "severity"),
                                     (self.modality, MODALITIES, "modality"), (self.direction, DIRECTIONS, "direction"),
                                     (self.level, LEVELS, "level")]:
            if value not in allowed:
                raise ValueError(f"check {self.name!r}: {what} {value!r} is not one of {', '.join(allowed)}")

    def fires(self, score: float | None, threshold: float) -> bool:
        """Whether ``score`` crosses ``threshold`` in this check's direction (NaN never fires)."""
        if score is None or score != score:
            return False
        return score > threshold if self.direction == "above" else score < threshold


class Registry(Mapping[str, CheckSpec]):
    """Checks by name; a duplicate name is an error, an unknown one a KeyError that lists the known."""

    def __init__(self, specs: Iterable[CheckSpec]):
        self._specs: dict[str, CheckSpec] = {}
        for spec in specs:
            if spec.name in self._specs:
                raise ValueError(f"check {spec.name!r} is registered twice")
            self._specs[spec.name] = spec

    def __getitem__(self, name: str) -> CheckSpec:
        try:
            return self._specs[name]
        except KeyError:
            raise KeyError(f"unknown check {name!r}; known checks: {', '.join(self._specs)}") from None

    def __iter__(self):
        return iter(self._specs)

    def __len__(self) -> int:
        return len(self._specs)

    def for_modality(self, modality: str) -> list[CheckSpec]:
        return [s for s in self._specs.values() if s.modality in (modality, "any")]
