"""Open311 client systems and their API keys (issue 15): an administrator issues a key to a
named system (a city's app, a county's work-order system) on the admin page or with
`hotline open311 key create NAME`; the system files appeals with it (hotline.open311).

A key is shown once, when it is made; only its SHA-256 digest is kept, with its first
characters so that an administrator can tell keys apart. Revoking is final: the row stays (the
appeals it filed name it) and its name may be issued again to a new client. Each change is
one transaction with its history event (no business key).
"""
import hashlib
import secrets

from sqlalchemy import select

from runtime import clock, history
from runtime.errors import Conflict, Forbidden, InvalidInput, NotFound

from . import texts
from .access import require
from .models import Open311Client, User

KEY_PREFIX = "o311_"
ROLE = "open311_client"  # the client's own account: no capability (hotline.access), never signs in
SHOWN = 9  # characters of the key kept to tell keys apart: the prefix and 4 of the secret
MAX_NAME = 100
ACTIONS = ("open311_client_created", "open311_client_revoked")


def digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def create(db, name: str, actor) -> tuple[Open311Client, str]:
    """A new client and its key (returned once, never kept). `actor` is an administrator, or
    for the command line an object whose `id` is None. Raises Forbidden, InvalidInput (no
    name, too long, control characters, the name of a client whose key still works)."""
    if getattr(actor, "id", None) is not None:
        require(actor, "administer")
    name = texts.required(name, "name", "请填写客户端系统的名称", MAX_NAME)
    if problems := texts.line_problems(name):
        raise InvalidInput("bad client name", {"name": problems})
    key = KEY_PREFIX + secrets.token_urlsafe(32)
    with db.transaction() as session:
        if session.scalar(select(Open311Client.id).where(Open311Client.name == name,
                                                         Open311Client.revoked_at.is_(None))) is not None:
            raise InvalidInput("name taken", {"name": ["已有同名且密钥有效的客户端系统，请先吊销其密钥或换一个名称"]})
        # the account appeals it files are registered by: "@open311-<id>" (no username a person
        # can have, hotline.accounts.USERNAME), inactive and without a password
        user = User(username=f"@open311-{secrets.token_hex(8)}", display_name=f"Open311 {name}"[:100], role=ROLE,
                    password_hash="!", active=False)
        session.add(user)
        session.flush()
        client = Open311Client(name=name, key_hash=digest(key), key_prefix=key[:SHOWN], user_id=user.id,
                               created_by_id=getattr(actor, "id", None), created_at=clock.now())
        session.add(client)
        session.flush()
        user.username = f"@open311-{client.id}"
        history.record(session, "open311_client_created", actor_id=client.created_by_id,
                       detail={"client_id": client.id, "name": name, "key_prefix": client.key_prefix,
                               **_cli(actor)})
    return client, key


def revoke(db, client_id: int, actor) -> Open311Client:
    """The client's key stops working at once. Raises Forbidden, NotFound, Conflict (revoked already)."""
    if getattr(actor, "id", None) is not None:
        require(actor, "administer")
    with db.transaction() as session:
        client = session.get(Open311Client, client_id, with_for_update=True)
        if client is None:
            raise NotFound(f"Open311 client {client_id} does not exist")
        if client.revoked_at is not None:
            raise Conflict("this client's key is revoked already", "revoked")
        client.revoked_at, client.revoked_by_id = clock.now(), getattr(actor, "id", None)
        history.record(session, "open311_client_revoked", actor_id=client.revoked_by_id,
                       detail={"client_id": client.id, "name": client.name, **_cli(actor)})
        return client


def active_named(session, name: str) -> Open311Client:
    """The client of that name whose key still works. Raises NotFound."""
    client = session.scalar(select(Open311Client).where(Open311Client.name == name,
                                                        Open311Client.revoked_at.is_(None)))
    if client is None:
        raise NotFound(f"no Open311 client named {name!r} has a working key")
    return client


def listing(session) -> list[dict]:
    """Every client, working keys first, newest first: {client, created_by, revoked_by} (names)."""
    clients = list(session.scalars(select(Open311Client).order_by(Open311Client.revoked_at.is_not(None),
                                                                  Open311Client.id.desc())))
    ids = {i for c in clients for i in (c.created_by_id, c.revoked_by_id) if i}
    people = dict(session.execute(select(User.id, User.display_name).where(User.id.in_(ids))).all()) if ids else {}
    return [{"client": c, "created_by": people.get(c.created_by_id), "revoked_by": people.get(c.revoked_by_id)}
            for c in clients]


def authenticate(session, key: str | None) -> tuple[Open311Client, User]:
    """The client whose working key this is, and its account. Raises Forbidden (reason
    `api_key_missing`, or `api_key_invalid`: unknown or revoked)."""
    if not key:
        raise Forbidden("api_key is missing", "api_key_missing")
    found = session.execute(select(Open311Client, User).join(User, User.id == Open311Client.user_id)
                            .where(Open311Client.key_hash == digest(key))).first()
    if found is None or found[0].revoked_at is not None:
        raise Forbidden("api_key is not valid", "api_key_invalid")
    return found[0], found[1]


def _cli(actor) -> dict:
    """Who acted from the command line (`--by`), for history: there is no user id."""
    return {"by": actor.username} if getattr(actor, "id", None) is None and getattr(actor, "username", None) else {}
