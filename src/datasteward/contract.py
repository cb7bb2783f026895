"""The quality contract: a TOML file, versioned with the data, that overrides check thresholds and owners and states acceptance rules."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping

from datasteward.checks.registry import OWNERS, SEVERITIES, CheckSpec
from datasteward.errors import InputError

GATE_KEYS = {"max_open_high_rate": float, "max_open_rate": float, "min_agreement": float, "min_samples": int}
COVERAGE_KINDS = ("share", "min_count")


@dataclass
class CheckOverride:
    """What the contract says about one check; None means "the check's default"."""

    threshold: float | None = None
    owner: str | None = None
    severity: str | None = None
    enabled: bool = True
    languages: dict[str, float] = field(default_factory=dict)


@dataclass
class CoverageRule:
    """A Product expectation on each batch, such as a minimum share of low-light photos.

    ``kind="share"``: the share of the batch's ``modality`` items whose
    ``metric`` is below ``below`` (or above ``above``) must be at least ``min``.
    ``kind="min_count"``: every value of ``by`` (e.g. accent, language) present
    in the batch must have at least ``min`` items.
    """

    name: str
    kind: str
    min: float
    modality: str | None = None
    metric: str | None = None
    below: float | None = None
    above: float | None = None
    by: str | None = None
    description: str = ""


@dataclass
class Contract:
    """Thresholds, owners and acceptance rules for one dataset."""

    checks: dict[str, CheckOverride] = field(default_factory=dict)
    gate: dict[str, float] = field(default_factory=dict)
    coverage: list[CoverageRule] = field(default_factory=list)
    path: Path | None = None
    version: int = 1

    def threshold(self, spec: CheckSpec, language: str | None = None) -> float:
        """Threshold for ``spec``: the language's override, else the contract's, else the default."""
        override = self.checks.get(spec.name)
        if override is None:
            return spec.default_threshold
        if language is not None and language in override.languages:
            return override.languages[language]
        return spec.default_threshold if override.threshold is None else override.threshold

    def owner(self, spec: CheckSpec) -> str:
        override = self.checks.get(spec.name)
        return override.owner if override and override.owner else spec.owner

    def severity(self, spec: CheckSpec) -> str:
        override = self.checks.get(spec.name)
        return override.severity if override and override.severity else spec.severity

    def enabled(self, spec: CheckSpec) -> bool:
        override = self.checks.get(spec.name)
        return override.enabled if override else True


def load_contract(path: str | Path | None, known_checks: Mapping[str, CheckSpec]) -> Contract:
    """Read and validate a contract file; ``None`` gives the empty contract (all defaults).

    Raises
    ------
    InputError
        Naming the file and the key for TOML syntax errors, unknown checks,
        owners or severities, and values of the wrong type.
    """
    if path is None:
        return Contract()
    path = Path(path)
    try:
        doc = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise InputError("contract file not found", str(path)) from exc
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise InputError(f"not a valid TOML file ({exc})", str(path)) from exc
    where = str(path)
    contract = Contract(path=path, version=int(doc.get("version", 1)))
    for name, body in (doc.get("checks") or {}).items():
        if name not in known_checks:
            raise InputError(f"[checks.{name}]: unknown check; known checks: {', '.join(known_checks)}", where)
        contract.checks[name] = _override(name, body, where)
    for key, value in (doc.get("gate") or {}).items():
        if key not in GATE_KEYS:
            raise InputError(f"[gate] {key}: unknown rule; known rules: {', '.join(GATE_KEYS)}", where)
        contract.gate[key] = _number(value, f"[gate] {key}", where)
    for i, body in enumerate(doc.get("coverage") or []):
        contract.coverage.append(_coverage(i, body, where))
    return contract


def _override(name: str, body: dict, where: str) -> CheckOverride:
    if not isinstance(body, dict):
        raise InputError(f"[checks.{name}] must be a table", where)
    out = CheckOverride()
    if "threshold" in body:
        out.threshold = _number(body["threshold"], f"[checks.{name}] threshold", where)
    if "owner" in body:
        if body["owner"] not in OWNERS:
            raise InputError(f"[checks.{name}] owner {body['owner']!r} is not one of {', '.join(OWNERS)}", where)
        out.owner = body["owner"]
    if "severity" in body:
        if body["severity"] not in SEVERITIES:
            raise InputError(f"[checks.{name}] severity {body['severity']!r} is not one of {', '.join(SEVERITIES)}", where)
        out.severity = body["severity"]
    out.enabled = bool(body.get("enabled", True))
    for language, value in (body.get("languages") or {}).items():
        out.languages[language] = _number(value, f"[checks.{name}.languages] {language}", where)
    return out


def _coverage(i: int, body: dict, where: str) -> CoverageRule:
    label = f"[[coverage]] #{i + 1}"
    kind = body.get("kind", "share")
    if kind not in COVERAGE_KINDS:
        raise InputError(f"{label}: kind {kind!r} is not one of {', '.join(COVERAGE_KINDS)}", where)
    if "min" not in body:
        raise InputError(f"{label}: needs 'min'", where)
    rule = CoverageRule(
        name=str(body.get("name", f"coverage {i + 1}")), kind=kind, min=_number(body["min"], f"{label} min", where),
        modality=body.get("modality"), metric=body.get("metric"), by=body.get("by"),
        description=str(body.get("description", "")),
    )
    if kind == "share":
        if not rule.metric or ("below" not in body and "above" not in body):
            raise InputError(f"{label}: a share rule needs 'metric' and 'below' or 'above'", where)
        rule.below = _number(body["below"], f"{label} below", where) if "below" in body else None
        rule.above = _number(body["above"], f"{label} above", where) if "above" in body else None
    elif not rule.by:
        raise InputError(f"{label}: a min_count rule needs 'by' (for example accent or language)", where)
    return rule


def _number(value, what: str, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise InputError(f"{what} must be a number, not {value!r}", where)
    return float(value)


def save_thresholds(path: str | Path, thresholds: Mapping[str, float],
                    languages: Mapping[str, Mapping[str, float]] | None = None) -> None:
    """Write check thresholds into the contract file, keeping its comments and layout.

    ``languages`` maps a check to ``{language: threshold}`` overrides, written
    under ``[checks.<name>.languages]``.
    """
    import tomlkit

    path = Path(path)
    doc = tomlkit.parse(path.read_text(encoding="utf-8")) if path.exists() else tomlkit.document()
    if "version" not in doc:
        doc["version"] = 1
    checks = doc.setdefault("checks", tomlkit.table(is_super_table=True))
    for name, value in thresholds.items():
        table = checks.setdefault(name, tomlkit.table())
        table["threshold"] = float(value)
    for name, values in (languages or {}).items():
        per_language = checks.setdefault(name, tomlkit.table()).setdefault("languages", tomlkit.table())
        for language, value in values.items():
            per_language[language] = float(value)
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(tomlkit.dumps(doc), encoding="utf-8")
    tmp.replace(path)
