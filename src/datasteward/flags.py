"""The flag lifecycle as pure functions: merge a scan's findings into a sample's flags, and derive its tags.

A flag is a plain dict (stored in the sample's ``flags`` list)::

    {check, score, threshold, owner, severity, status, assignee, version, detail,
     created_at, updated_at, created_by, updated_by, last_score, recheck}

Statuses: ``open``, ``confirmed``, ``dismissed``, ``fixed`` and ``sent_back`` (returned to the vendor). A rescan never
reopens a dismissed flag and never drops a review decision.
"""

from __future__ import annotations

from datetime import datetime

STATUSES = ("open", "confirmed", "dismissed", "fixed", "sent_back")
ACTIVE = ("open", "confirmed", "sent_back")  # statuses whose problem is still there
AUTO = "auto"
FLAG_TAG, REVIEW_TAG = "flag:", "review:"


def new_flag(finding: dict, *, now: datetime, by: str = AUTO) -> dict:
    """An open flag from one finding (``check``, ``score``, ``threshold``, ``owner``, ``severity``, ``detail``)."""
    return {
        "check": finding["check"],
        "score": _num(finding.get("score")),
        "threshold": _num(finding.get("threshold")),
        "owner": finding["owner"],
        "severity": finding["severity"],
        "detail": finding.get("detail") or "",
        "status": "open",
        "assignee": None,
        "version": 1,
        "created_at": now,
        "updated_at": now,
        "created_by": by,
        "updated_by": by,
    }


def merge_flags(existing: list[dict] | None, findings: dict[str, dict], scanned: set[str], *, now: datetime) -> list[dict]:
    """The sample's flags after a scan.

    Parameters
    ----------
    existing : list of dict
        The sample's current flags.
    findings : dict
        Check name -> finding, for every check that was scored on this sample
        (fired or not); a finding has ``fired`` (bool) and the fields of :func:`new_flag`.
    scanned : set of str
        Checks this scan ran; flags of other checks are left as they are.

    Rules
    -----
    - fired, no flag yet: a new open flag;
    - open automatic flag: refreshed while it fires, removed when it no longer
      does (nobody has decided anything about it yet);
    - confirmed or dismissed: kept; the new score is recorded in ``last_score``;
    - fixed: kept; the re-check of the fixed label is recorded in ``recheck``
      beside the old score.
    """
    out: list[dict] = []
    seen: set[str] = set()
    for flag in existing or []:
        check = flag.get("check")
        finding = findings.get(check) if check in scanned else None
        if finding is None:
            if check in scanned and flag.get("status") == "open" and flag.get("created_by") == AUTO:
                continue  # the automatic finding no longer applies to this sample
            out.append(flag)
            seen.add(check)
            continue
        seen.add(check)
        status = flag.get("status")
        if status == "open" and flag.get("created_by") == AUTO:
            if finding["fired"]:
                out.append(_refresh(flag, finding, now))
            continue
        if status == "fixed":
            out.append({**flag, "recheck": _result(finding, now)})
        elif status in ("confirmed", "dismissed", "sent_back"):
            out.append({**flag, "last_score": _num(finding.get("score")), "last_fired": bool(finding["fired"]),
                        "last_checked_at": now})
        else:
            out.append(flag)
    for check, finding in findings.items():
        if check not in seen and finding["fired"]:
            out.append(new_flag(finding, now=now))
    return out


def _refresh(flag: dict, finding: dict, now: datetime) -> dict:
    updated = {**flag, "score": _num(finding.get("score")), "threshold": _num(finding.get("threshold")),
               "detail": finding.get("detail") or "", "owner": finding["owner"], "severity": finding["severity"]}
    if updated != flag:
        updated["updated_at"] = now
    return updated


def _result(finding: dict, now: datetime) -> dict:
    return {"score": _num(finding.get("score")), "threshold": _num(finding.get("threshold")),
            "fired": bool(finding["fired"]), "at": now}


def _num(value) -> float | None:
    if value is None:
        return None
    value = float(value)
    return None if value != value else value


def derived_tags(tags: list[str] | None, flags: list[dict] | None) -> list[str]:
    """The sample's tags: its own tags plus a mirror of its flags (``flag:dark``, ``review:confirmed``).

    The mirror is rebuilt from the flags every time, so editing tags in the
    FiftyOne App never changes a review decision.
    """
    own = [t for t in (tags or []) if not t.startswith((FLAG_TAG, REVIEW_TAG))]
    mirror = set()
    for flag in flags or []:
        if flag.get("status") in ACTIVE:
            mirror.add(FLAG_TAG + flag["check"])
        if flag.get("status") != "open":
            mirror.add(REVIEW_TAG + flag["status"])
    return own + sorted(mirror)


def comparable(flags: list[dict] | None) -> list[dict]:
    """Flags without timestamps, to tell whether a merge changed anything."""
    drop = {"updated_at", "last_checked_at", "recheck"}
    out = []
    for flag in flags or []:
        item = {k: v for k, v in flag.items() if k not in drop}
        if "recheck" in flag:
            item["recheck"] = {k: v for k, v in flag["recheck"].items() if k != "at"}
        out.append(item)
    return out
