"""The review workflow: confirm, dismiss, fix, send back and comment on flags, atomically, with history and undo.

Every action is one atomic MongoDB update guarded by the flag's ``version``
(optimistic concurrency): if someone changed the flag since the caller read
it, nothing is written and :class:`ConflictError` says who did. The action is
appended to the flag's own ``history`` in that same update, so a decision and
its record can never be separated by a crash; a copy goes to a history
collection for cross-item queries (my queue, undo of a bulk action).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timezone

from datasteward import flags as flaglib
from datasteward import store
from datasteward.errors import AccessDenied, ConflictError, DataStewardError

ROLES = ("viewer", "reviewer", "admin")
ACTIONS = {"confirm": "confirmed", "dismiss": "dismissed", "send_back": "sent_back", "fix": "fixed", "comment": None,
           "reopen": "open"}
HISTORY = "datasteward_history"


@dataclass(frozen=True)
class Actor:
    """Who acts, and with which role (``viewer``, ``reviewer`` or ``admin``)."""

    name: str
    role: str = "reviewer"

    def require(self, action: str) -> None:
        if self.role not in ROLES:
            raise AccessDenied(f"{self.name}: unknown role {self.role!r}")
        if self.role == "viewer":
            raise AccessDenied(f"{self.name} is a viewer and cannot {action.replace('_', ' ')} flags")


@dataclass
class BulkResult:
    """What a bulk action did: the id to undo it by, the flags changed and the conflicts."""

    bulk_id: str
    done: list[tuple[str, str]]
    conflicts: list[tuple[str, str, str]]


def _now() -> datetime:
    return datetime.now(timezone.utc).replace(tzinfo=None)


def act(ds, sample_id: str, check: str, action: str, actor: Actor, *, version: int, assignee: str | None = None,
        note: str = "", bulk_id: str | None = None) -> dict:
    """Apply one review action to one flag; returns the history entry.

    Parameters
    ----------
    action : str
        ``confirm`` (assigns the flag to its owning layer and optionally to a
        person), ``dismiss`` (a false alarm), ``send_back`` (to the vendor, with
        ``note`` as the reason), ``comment`` or ``reopen``.
    version : int
        The flag's version the caller saw.

    Raises
    ------
    AccessDenied
        If ``actor`` is a viewer.
    ConflictError
        If the flag changed since ``version``, or is gone (a rescan removed
        it, the item was deleted); nothing is written.
    """
    from bson import ObjectId

    actor.require(action)
    if action not in ACTIONS or action == "fix":
        raise DataStewardError(f"unknown review action {action!r}; use one of {', '.join(a for a in ACTIONS if a != 'fix')}")
    if action == "send_back" and not note.strip():
        raise DataStewardError("sending an item back to the vendor needs a reason")
    try:
        current = _flag(ds, sample_id, check)
    except DataStewardError as exc:  # the caller read its version, so it was there: rescanned away or deleted since
        raise ConflictError(f"{check} on {sample_id} was removed since you read it ({exc}); reload") from None
    now = _now()
    entry = {"action": action, "check": check, "who": actor.name, "role": actor.role, "when": now, "note": note,
             "before": current.get("status"), "after": ACTIONS[action] or current.get("status"),
             "version": version + 1, "bulk_id": bulk_id}
    changes = {"flags.$.version": version + 1, "flags.$.updated_at": now, "flags.$.updated_by": actor.name}
    if ACTIONS[action]:
        changes["flags.$.status"] = ACTIONS[action]
    if action == "confirm" and assignee is not None:
        changes["flags.$.assignee"] = assignee
        entry["assignee"] = assignee
    if action == "send_back":
        changes["flags.$.returned_reason"] = note
    result = ds._sample_collection.update_one(
        {"_id": ObjectId(sample_id), "flags": {"$elemMatch": {"check": check, "version": version}}},
        {"$set": changes, "$push": {"flags.$.history": entry}, "$inc": {"flags_rev": 1}},
    )
    if result.matched_count != 1:
        latest = _flag(ds, sample_id, check)
        raise ConflictError(f"{check} on {sample_id} was changed by {latest.get('updated_by')} at "
                            f"{latest.get('updated_at')} (now version {latest.get('version')}, {latest.get('status')}); "
                            "reload and try again")
    _mirror_tags(ds, sample_id)
    _log(ds, sample_id, entry)
    return entry


def fix_label(ds, sample_id: str, actor: Actor, *, label: str | None = None, transcript: str | None = None,
              checks: list[str] | None = None, versions: dict[str, int] | None = None) -> dict:
    """Write a corrected label or transcript, keep the old value, and mark the item's flags fixed.

    The correction and the flag changes are one atomic update, guarded by the
    sample's ``flags_rev`` (and each listed flag's version, if given).
    """
    from bson import ObjectId

    actor.require("fix")
    if label is None and transcript is None:
        raise DataStewardError("a fix needs a new label or transcript")
    store.ensure_scan_fields(ds)  # declares `corrections`
    doc = ds._sample_collection.find_one({"_id": ObjectId(sample_id)})
    if doc is None:
        raise DataStewardError(f"no sample {sample_id}")
    now = _now()
    old_label = (doc.get("ground_truth") or {}).get("label")
    correction = {"who": actor.name, "when": now, "old_label": old_label, "new_label": label,
                  "old_transcript": doc.get("transcript"), "new_transcript": transcript}
    flags = []
    for flag in doc.get("flags") or []:
        if (checks is None or flag["check"] in checks) and flag.get("status") in ("open", "confirmed", "sent_back"):
            if versions and flag["check"] in versions and versions[flag["check"]] != flag.get("version"):
                raise ConflictError(f"{flag['check']} on {sample_id} changed since you read it; reload and try again")
            entry = {"action": "fix", "check": flag["check"], "who": actor.name, "role": actor.role, "when": now,
                     "note": f"label {old_label!r} -> {label!r}" if label is not None else "transcript corrected",
                     "before": flag.get("status"), "after": "fixed", "version": flag.get("version", 0) + 1, "bulk_id": None}
            flag = {**flag, "status": "fixed", "version": entry["version"], "updated_at": now, "updated_by": actor.name,
                    "history": [*(flag.get("history") or []), entry]}
        flags.append(flag)
    update = {"flags": flags, "tags": flaglib.derived_tags(doc.get("tags"), flags), "last_modified_at": now}
    if label is not None:
        update["ground_truth.label"] = label
    if transcript is not None:
        update["transcript"] = transcript
    rev = int(doc.get("flags_rev") or 0)
    result = ds._sample_collection.update_one(
        {"_id": ObjectId(sample_id), "flags_rev": {"$in": [0, None]} if rev == 0 else rev},
        {"$set": {**update, "flags_rev": rev + 1}, "$push": {"corrections": correction}},
    )
    if result.matched_count != 1:
        raise ConflictError(f"{sample_id} was changed by someone else while you fixed it; reload and try again")
    _log(ds, sample_id, {"action": "fix", "check": None, "who": actor.name, "role": actor.role, "when": now,
                         "note": correction["new_label"] or "transcript", "before": old_label, "after": label,
                         "bulk_id": None})
    return correction


def flag_item(ds, sample_id: str, actor: Actor, reason: str, check: str = "manual", *, owner: str = "annotation",
              severity: str = "medium") -> dict:
    """Flag an item by hand, with a reason, for the ``owner`` layer to review; returns the new flag.

    The flag is open, created by ``actor`` and carries ``reason`` as its
    detail; it goes through the same review actions as a scan's flags, and
    scans leave it alone (no check of that name scores it). An item holds one
    flag per check: flagging it again while its ``check`` flag is still active
    is refused, and a dismissed or fixed one is reopened with the new reason.
    Atomic, guarded by the sample's ``flags_rev``.

    Raises
    ------
    AccessDenied
        If ``actor`` is a viewer.
    ConflictError
        If the item changed while it was being flagged; nothing is written.
    """
    from bson import ObjectId
    from bson.errors import InvalidId

    from datasteward.checks.registry import OWNERS, SEVERITIES

    actor.require("flag")
    if not reason.strip():
        raise DataStewardError("flagging an item by hand needs a reason")
    if owner not in OWNERS or severity not in SEVERITIES:
        raise DataStewardError(f"owner must be one of {', '.join(OWNERS)} and severity one of {', '.join(SEVERITIES)}")
    store.ensure_scan_fields(ds)  # declares `flags` and `flags_rev` on a dataset never scanned
    try:
        doc = ds._sample_collection.find_one({"_id": ObjectId(sample_id)}, {"flags": 1, "flags_rev": 1, "tags": 1})
    except (InvalidId, TypeError):
        doc = None
    if doc is None:
        raise DataStewardError(f"no sample {sample_id} in {ds.name}")
    flags = list(doc.get("flags") or [])
    old = next((f for f in flags if f.get("check") == check), None)
    if old is not None and old.get("status") in flaglib.ACTIVE:
        raise DataStewardError(f"{sample_id} already has an {old['status']} {check!r} flag "
                               f"({old.get('detail') or 'no reason given'}); comment on it in Review instead")
    now = _now()
    now = now.replace(microsecond=now.microsecond // 1000 * 1000)  # as MongoDB stores it
    flag = flaglib.new_flag({"check": check, "owner": owner, "severity": severity, "detail": reason.strip()},
                            now=now, by=actor.name)
    if old is not None:  # reopen in place: one flag per check, its history kept
        flag = {**old, **{k: flag[k] for k in ("owner", "severity", "detail", "status", "updated_at", "updated_by")},
                "assignee": None, "version": int(old.get("version") or 0) + 1}
    entry = {"action": "flag", "check": check, "who": actor.name, "role": actor.role, "when": now,
             "note": reason.strip(), "before": old.get("status") if old else None, "after": "open",
             "version": flag["version"], "bulk_id": None, "owner": owner, "severity": severity}
    flag["history"] = [*(old.get("history") or [] if old else []), entry]
    flags = [f for f in flags if f is not old] + [flag]
    rev = int(doc.get("flags_rev") or 0)
    result = ds._sample_collection.update_one(
        {"_id": ObjectId(sample_id), "flags_rev": {"$in": [0, None]} if rev == 0 else rev},
        {"$set": {"flags": flags, "tags": flaglib.derived_tags(doc.get("tags"), flags), "flags_rev": rev + 1,
                  "last_modified_at": now}},
    )
    if result.matched_count != 1:
        raise ConflictError(f"{sample_id} was changed by someone else while you flagged it; reload and try again")
    _log(ds, sample_id, entry)
    return flag


def bulk(ds, items: list[tuple[str, str, int]], action: str, actor: Actor, *, note: str = "",
         assignee: str | None = None) -> BulkResult:
    """Apply ``action`` to many ``(sample id, check, version)`` flags; conflicts are reported, not fatal."""
    actor.require(action)
    result = BulkResult(uuid.uuid4().hex[:12], [], [])
    for sample_id, check, version in items:
        try:
            act(ds, sample_id, check, action, actor, version=version, note=note, assignee=assignee,
                bulk_id=result.bulk_id)
            result.done.append((sample_id, check))
        except ConflictError as exc:
            result.conflicts.append((sample_id, check, str(exc)))
    return result


def undo(ds, bulk_id: str, actor: Actor) -> BulkResult:
    """Undo a bulk action: put each flag back to its earlier status, unless it has changed since."""
    actor.require("undo")
    entries = list(history_collection(ds).find({"dataset": ds.name, "bulk_id": bulk_id}))
    if not entries:
        raise DataStewardError(f"no bulk action {bulk_id!r} in {ds.name}")
    result = BulkResult(uuid.uuid4().hex[:12], [], [])
    for entry in entries:
        sid, check = entry["sample_id"], entry["check"]
        try:
            flag = _flag(ds, sid, check)
        except DataStewardError:  # rescanned away or deleted since
            result.conflicts.append((sid, check, "removed since; nothing to undo"))
            continue
        if flag.get("version") != entry["version"]:
            result.conflicts.append((sid, check, f"changed since by {flag.get('updated_by')}; left as it is"))
            continue
        try:
            _restore(ds, sid, check, entry, actor, result.bulk_id)
            result.done.append((sid, check))
        except ConflictError as exc:
            result.conflicts.append((sid, check, str(exc)))
    return result


def _restore(ds, sample_id: str, check: str, entry: dict, actor: Actor, bulk_id: str) -> None:
    from bson import ObjectId

    now = _now()
    version = entry["version"]
    record = {"action": "undo", "check": check, "who": actor.name, "role": actor.role, "when": now,
              "note": f"undo of {entry['action']} ({entry['bulk_id']})", "before": entry["after"],
              "after": entry["before"], "version": version + 1, "bulk_id": bulk_id}
    result = ds._sample_collection.update_one(
        {"_id": ObjectId(sample_id), "flags": {"$elemMatch": {"check": check, "version": version}}},
        {"$set": {"flags.$.status": entry["before"], "flags.$.version": version + 1, "flags.$.updated_at": now,
                  "flags.$.updated_by": actor.name}, "$push": {"flags.$.history": record}, "$inc": {"flags_rev": 1}})
    if result.matched_count != 1:
        raise ConflictError(f"{check} on {sample_id} changed during the undo; left as it is")
    _mirror_tags(ds, sample_id)
    _log(ds, sample_id, record)


def _flag(ds, sample_id: str, check: str) -> dict:
    from bson import ObjectId

    doc = ds._sample_collection.find_one({"_id": ObjectId(sample_id)}, {"flags": 1})
    if doc is None:
        raise DataStewardError(f"no sample {sample_id} in {ds.name}")
    for flag in doc.get("flags") or []:
        if flag.get("check") == check:
            return flag
    raise DataStewardError(f"sample {sample_id} has no {check!r} flag")


def _mirror_tags(ds, sample_id: str) -> None:
    """Rebuild the tag mirror from the flags (tags never decide anything)."""
    from bson import ObjectId

    doc = ds._sample_collection.find_one({"_id": ObjectId(sample_id)}, {"flags": 1, "tags": 1, "flags_rev": 1})
    tags = flaglib.derived_tags(doc.get("tags"), doc.get("flags"))
    if tags != doc.get("tags"):
        # Only over the flags just read: if another reviewer changed them since, their own
        # mirror (which reads after their change) writes the tags, and this stale one must not.
        ds._sample_collection.update_one({"_id": ObjectId(sample_id), "flags_rev": doc.get("flags_rev")},
                                         {"$set": {"tags": tags}})


def rebuild_tags(ds, *, batch_size: int = 1000) -> int:
    """Rebuild every sample's tag mirror from its flags; returns how many samples' tags were corrected.

    Tags decide nothing: an edit of ``flag:*`` or ``review:*`` tags in the
    FiftyOne App changes no review decision, and this puts the mirror back.
    The sample's own tags (any other prefix) are kept.
    """
    from pymongo import UpdateOne

    coll = ds._sample_collection
    changed, ops = 0, []
    for doc in coll.find({}, {"flags.check": 1, "flags.status": 1, "tags": 1, "flags_rev": 1}):
        tags = flaglib.derived_tags(doc.get("tags"), doc.get("flags"))
        if tags != (doc.get("tags") or []):  # a review since the read writes its own mirror; leave that one alone
            ops.append(UpdateOne({"_id": doc["_id"], "flags_rev": doc.get("flags_rev")}, {"$set": {"tags": tags}}))
        if len(ops) >= batch_size:
            changed += coll.bulk_write(ops, ordered=False).modified_count
            ops = []
    if ops:
        changed += coll.bulk_write(ops, ordered=False).modified_count
    return changed


def history_collection(ds):
    """The append-only collection of review actions, shared by all datasets of the database."""
    import fiftyone.core.odm as foo

    db = foo.get_db_conn()
    coll = db[HISTORY]
    if db.name not in _INDEXED:  # once per database and process, not on every action
        coll.create_index([("dataset", 1), ("sample_id", 1), ("when", 1)])
        coll.create_index([("dataset", 1), ("bulk_id", 1)])
        _INDEXED.add(db.name)
    return coll


_INDEXED: set[str] = set()


def _log(ds, sample_id: str | None, entry: dict) -> None:
    from pymongo.errors import DuplicateKeyError

    try:
        history_collection(ds).insert_one(_history_doc(ds, sample_id, entry))
    except DuplicateKeyError:
        pass  # repair_history copied it from the flag first
    store.touch(ds)


def _history_doc(ds, sample_id: str | None, entry: dict) -> dict:
    """The history document of one entry; a flag's entry is keyed by its flag and version, so it is stored once."""
    doc = {"dataset": ds.name, "sample_id": sample_id, **entry}
    if sample_id and entry.get("check") and entry.get("version") is not None:
        doc["_id"] = f"{ds.name}/{sample_id}/{entry['check']}/{entry['version']}"
    return doc


def repair_history(ds) -> int:
    """Copy into the history collection each flag action a crash kept out of it; returns how many were missing.

    A review action is one atomic update of the flag, which holds its own
    history; the copy in the history collection follows it. A process killed in
    between keeps the decision but leaves it out of the history queries (item
    history, undo). Safe while others review: a copy is keyed by flag and
    version, so an action is never stored twice. Label fixes, recorded per item
    in ``corrections``, are not copied.
    """
    from pymongo.errors import BulkWriteError

    coll = history_collection(ds)
    have = {(d.get("sample_id"), d.get("check"), d.get("version"))
            for d in coll.find({"dataset": ds.name, "check": {"$ne": None}}, {"sample_id": 1, "check": 1, "version": 1})}
    missing = []
    for doc in ds._sample_collection.find({"flags.history.0": {"$exists": True}}, {"flags.history": 1}):
        sid = str(doc["_id"])
        for flag in doc.get("flags") or []:
            for entry in flag.get("history") or []:
                if entry.get("action") != "fix" and (sid, entry.get("check"), entry.get("version")) not in have:
                    missing.append(_history_doc(ds, sid, entry))
    if not missing:
        return 0
    try:
        coll.insert_many(missing, ordered=False)
        added = len(missing)
    except BulkWriteError as exc:  # a reviewer's own copy arrived meanwhile
        added = exc.details["nInserted"]
    store.touch(ds)
    return added


def log_event(ds, actor: Actor, action: str, note: str = "", **details) -> dict:
    """Record a dataset-level decision (saved thresholds, a rejected batch) in the history, with who made it."""
    entry = {"action": action, "check": None, "who": actor.name, "role": actor.role, "when": _now(), "note": note,
             "bulk_id": None, **details}
    _log(ds, None, entry)
    return entry


def history(ds, sample_id: str | None = None) -> list[dict]:
    """Review actions in time order, for one sample or the whole dataset."""
    query = {"dataset": ds.name} | ({"sample_id": sample_id} if sample_id else {})
    return [{k: v for k, v in d.items() if k != "_id"} for d in history_collection(ds).find(query).sort("when", 1)]


def my_queue(ds, person: str) -> list[tuple[str, dict]]:
    """Flags assigned to ``person`` that are still confirmed (not yet fixed or dismissed)."""
    docs = ds._sample_collection.find({"flags": {"$elemMatch": {"assignee": person, "status": "confirmed"}}},
                                      {"flags": 1})
    return [(str(d["_id"]), f) for d in docs for f in d["flags"] if f.get("assignee") == person
            and f.get("status") == "confirmed"]


QUEUE_FILTERS = ("owner", "check", "severity", "status", "assignee")
SAMPLE_FILTERS = ("batch", "language", "vendor", "modality")


def queue(ds, *, limit: int = 200, skip: int = 0, **filters) -> tuple[int, list[dict]]:
    """Flags matching ``filters`` (each a value or a list of values), paged in the database.

    Filters on the flag: owner, check, severity, status, assignee. Filters on
    the sample: batch, language, vendor, modality, and ``search`` (see
    :func:`search_condition`). Returns the total number of
    matching flags and one page of rows, highest severity and score first.
    """
    flag_cond, sample_cond = {}, {}
    for key, value in filters.items():
        if value in (None, [], ""):
            continue
        if key == "search":
            sample_cond.update(search_condition(value))
            continue
        cond = {"$in": list(value)} if isinstance(value, (list, tuple, set)) else value
        if key in QUEUE_FILTERS:
            flag_cond[key] = cond
        elif key in SAMPLE_FILTERS:
            sample_cond[key] = cond
        else:
            raise DataStewardError(f"unknown queue filter {key!r}")
    match = dict(sample_cond)
    if flag_cond:
        match["flags"] = {"$elemMatch": flag_cond}
    else:
        match["flags.0"] = {"$exists": True}
    pipeline = [{"$match": match}, {"$unwind": "$flags"},
                {"$match": {f"flags.{k}": v for k, v in flag_cond.items()}},
                {"$addFields": {"_rank": {"$indexOfArray": [["high", "medium", "low"], "$flags.severity"]}}}]
    total = next(iter(ds._sample_collection.aggregate(pipeline + [{"$count": "n"}])), {"n": 0})["n"]
    page = pipeline + [{"$sort": {"_rank": 1, "flags.score": -1, "_id": 1}}, {"$skip": skip}, {"$limit": limit},
                       {"$project": {"media_path": 1, "batch": 1, "language": 1, "vendor": 1, "modality": 1,
                                     "flags": 1}}]
    rows = []
    for doc in ds._sample_collection.aggregate(page):
        flag = doc["flags"]
        rows.append({"sample_id": str(doc["_id"]), "filepath": doc.get("media_path"), "modality": doc.get("modality"),
                     "check": flag.get("check"), "owner": flag.get("owner"), "severity": flag.get("severity"),
                     "status": flag.get("status"), "score": flag.get("score"), "threshold": flag.get("threshold"),
                     "assignee": flag.get("assignee"), "version": flag.get("version"), "batch": doc.get("batch"),
                     "language": doc.get("language"), "vendor": doc.get("vendor"), "detail": flag.get("detail")})
    return total, rows


def search_condition(text: str) -> dict:
    """A MongoDB condition for the sample whose id is ``text``, else for samples whose file path contains it.

    Paths match case-insensitively. An id is looked up through the ``_id``
    index alone: at 100,000 samples an ``$or`` with the path would scan them all.
    """
    import re

    from bson import ObjectId

    text = text.strip()
    if ObjectId.is_valid(text):
        return {"_id": ObjectId(text)}
    return {"media_path": {"$regex": re.escape(text), "$options": "i"}}


def item_details(ds, sample_id: str) -> dict | None:
    """What a reviewer needs to judge one item: file, current label and transcript, every annotator's answer,
    the prediction, its flags and earlier corrections; ``None`` if there is no such sample."""
    from bson import ObjectId
    from bson.errors import InvalidId

    try:
        doc = ds._sample_collection.find_one({"_id": ObjectId(sample_id)}, {
            "media_path": 1, "filepath": 1, "modality": 1, "ground_truth": 1, "transcript": 1, "annotations": 1,
            "prediction": 1, "flags": 1, "corrections": 1, "batch": 1, "language": 1, "vendor": 1, "media_error": 1,
            "flags_rev": 1, "thumbnail": 1})
    except (InvalidId, TypeError):
        return None
    if doc is None:
        return None
    # A corrupt image keeps its original as `filepath` (for the FiftyOne App's own broken-media tile);
    # the page shows the placeholder that says why, never the file that failed to decode (a bomb, say).
    truth, prediction = doc.get("ground_truth") or {}, doc.get("prediction") or {}
    return {"sample_id": sample_id, "media_path": doc.get("media_path"), "picture": doc.get("thumbnail") if doc.get("media_error") else doc.get("filepath"),
            "modality": doc.get("modality"), "batch": doc.get("batch"), "language": doc.get("language"),
            "vendor": doc.get("vendor"), "media_error": doc.get("media_error"),
            "label": truth.get("label"), "label_kind": truth.get("_cls"), "transcript": doc.get("transcript"),
            "annotations": [{k: v for k, v in a.items() if not k.startswith("_")}
                            for a in doc.get("annotations") or []],
            "prediction": prediction.get("label"), "confidence": prediction.get("confidence"),
            "flags": [{k: v for k, v in f.items() if k != "history"} for f in doc.get("flags") or []],
            "corrections": list(doc.get("corrections") or [])}
