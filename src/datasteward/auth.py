"""Who uses a shared Data Steward: the identity from Streamlit's OIDC login, and roles from the configuration.

Login is on when ``.streamlit/secrets.toml`` has an ``[auth]`` section (Streamlit's
own ``st.login`` settings). A user's name in the review history is then their
login identity (the ``email`` claim, else ``sub``), and their role comes from a
mapping of identity to ``viewer``, ``reviewer`` or ``admin``, read from

- the TOML file named by ``DATASTEWARD_ROLES_FILE``, table ``[roles]``;
- the secrets table ``[datasteward.roles]`` (the file wins where both name a user).

An entry ``"*"`` sets the role of everyone not listed; without it, they are
viewers. Identities match without regard to case.

    [roles]
    "lead@example.com" = "admin"
    "ana@example.com" = "reviewer"
    "*" = "viewer"
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from datasteward.errors import SetupError

ROLES_FILE_ENV = "DATASTEWARD_ROLES_FILE"
ROLES = ("viewer", "reviewer", "admin")
DEFAULT_ROLE = "viewer"


def identity(user: Mapping) -> str | None:
    """The login identity of an OIDC user (``st.user``): the email claim, else the subject; None if absent."""
    for claim in ("email", "sub"):
        value = user.get(claim)
        if value:
            return str(value)
    return None


def read_roles(path: str | Path | None = None, secrets: Mapping | None = None) -> dict[str, str]:
    """Identity (lower-cased) -> role, from the roles file and the secrets' ``[datasteward.roles]``.

    Parameters
    ----------
    path : path, optional
        The roles TOML file; default ``$DATASTEWARD_ROLES_FILE`` if set.
    secrets : mapping, optional
        ``st.secrets`` or a plain dict of the same shape.

    Raises
    ------
    SetupError
        If the file cannot be read or parsed, or a role is not one of :data:`ROLES`.
    """
    import tomllib

    roles: dict[str, str] = {}
    from_secrets = ((secrets or {}).get("datasteward") or {}).get("roles") or {}
    roles.update(_checked(from_secrets, "secrets.toml [datasteward.roles]"))
    path = path or os.environ.get(ROLES_FILE_ENV)
    if path:
        try:
            table = tomllib.loads(Path(path).read_text(encoding="utf-8")).get("roles", {})
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise SetupError(f"{path}: cannot read the roles file ({exc})") from exc
        roles.update(_checked(table, f"{path} [roles]"))
    return roles


def _checked(table: Mapping, where: str) -> dict[str, str]:
    out = {}
    for who, role in dict(table).items():
        if role not in ROLES:
            raise SetupError(f"{where}: {who!r} has role {role!r}; use one of {', '.join(ROLES)}")
        out[str(who).strip().lower()] = role
    return out


def role_for(who: str, roles: Mapping[str, str]) -> str:
    """The role of identity ``who``: its own entry, else the ``"*"`` entry, else viewer."""
    return roles.get(who.strip().lower()) or roles.get("*") or DEFAULT_ROLE
