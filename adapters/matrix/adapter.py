"""The Matrix adapter: sync, translate events into core invocations, send what the core says.

No business rules here. The flow per event: the sync loop enqueues it (dispatch.py, per-room
order), a worker turns it into an invocation with the event id (the core records it in the
handler's transaction), the reply goes out through the one paced sender with a transaction id
derived from the event id (so a replay after a crash is deduplicated by the homeserver), and
only when every event of a sync is handled is its token stored.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from nio import (
    AsyncClient,
    ErrorResponse,
    ForwardedRoomKeyEvent,
    InviteMemberEvent,
    JoinError,
    LocalProtocolError,
    MatrixRoom,
    MegolmEvent,
    MessageDirection,
    RoomGetEventResponse,
    RoomKeyEvent,
    RoomMessagesResponse,
    RoomSendResponse,
    SyncResponse,
)
from nio.event_builders import RoomKeyRequestMessage

from adapters.matrix import media
from adapters.matrix.client import (
    TokenRevokedError,
    build_client,
    check_store_matches_server,
    jittered,
    revoked_message,
    upload_keys,
    whoami_until_up,
)
from adapters.matrix.cross_signing import CrossSigningError, ensure_cross_signed
from adapters.matrix.db_store import StoreConnection
from adapters.matrix.deliverer import MatrixDeliverer
from adapters.matrix.dispatch import Batch, Dispatcher, Work
from adapters.matrix.dm_rooms import DirectRooms
from adapters.matrix.events import command_line, is_own_join, sent_at
from adapters.matrix.formatting import message_content
from adapters.matrix.pacing import (
    PRIORITY_REPLY,
    PRIORITY_URGENT,
    PacedSender,
    SendFailed,
)
from adapters.matrix.private_rooms import PrivateRooms
from adapters.matrix.reactions import action_key
from adapters.matrix.sync_state import SyncTokenStore
from adapters.matrix.undecryptable import PendingEvent, SessionMark, UndecryptableStore
from adapters.matrix.usage import usage_text
from bot.answer import Answer, Attachment
from bot.config import Settings
from bot.dispatcher import Core
from bot.refs import Place, RoomRef, UserRef
from bot.texts import Texts

log = logging.getLogger(__name__)

PLATFORM = "matrix"
ADMIN_LEVEL = 50  # Matrix "moderator": a platform admin of the room, steward by right
TIMELINE_LIMIT = 50
BACKFILL_MAX = 1000  # events fetched to close one gap after a long outage
SYNC_FILTER: dict[str, Any] = {"room": {"timeline": {"limit": TIMELINE_LIMIT}}}
UNDECRYPTABLE_KEEP = 200  # undecryptable events kept to retry when their key arrives


@dataclass
class _Waiting:
    """A row of the undecryptable table, with the event once it is in hand again."""

    pending: PendingEvent
    event: MegolmEvent | None = None


def txn_id(kind: str, ident: str) -> str:
    """A transaction id derived from what caused the send: the same cause, the same id, and the
    homeserver answers a repeat with the first event instead of posting twice."""
    return f"pc-{kind}-{hashlib.sha256(ident.encode()).hexdigest()[:32]}"


class MatrixAdapter:
    platform = PLATFORM

    def __init__(self, settings: Settings, core: Core, *, reconnect_base: float = 2.0,
                 reconnect_max: float = 300.0, sync_timeout_ms: int = 30_000,
                 send_backoff: float = 0.5) -> None:
        self.settings = settings
        self.cfg = settings.matrix
        self.core = core
        self.reconnect_base = reconnect_base
        self.reconnect_max = reconnect_max
        self.sync_timeout_ms = sync_timeout_ms
        self.crypto_lock = asyncio.Lock()
        self.sender = PacedSender(backoff_base=send_backoff, lock=self.crypto_lock,
                                  on_token_revoked=self._token_revoked)
        self.deliverer = MatrixDeliverer(self)
        self.client: AsyncClient | None = None
        self.dms: DirectRooms | None = None
        self.rooms: PrivateRooms | None = None
        self.tokens: SyncTokenStore | None = None
        self.dispatcher = Dispatcher(self._batch_done)
        self.ready = asyncio.Event()  # logged in and first sync handled
        self.syncs = 0  # completed syncs (tests and wait_for_room watch it)
        self._synced = asyncio.Event()
        self._stop: asyncio.Event | None = None
        self._fatal: str | None = None
        self._invites_done: set[str] = set()
        # Events waiting for their room key and what was done per session: the database is the
        # source of truth (undecryptable.py); these mirror it, loaded at start, written through.
        self.undecryptable: UndecryptableStore | None = None
        self._waiting: dict[str, _Waiting] = {}  # by event id
        self._sessions: dict[str, SessionMark] = {}  # by megolm session id
        self._in_flight: set[str] = set()  # decrypted and being handled
        self._fetch_waiting = False  # rows loaded at start whose events are not fetched yet

    # -- lifecycle ----------------------------------------------------------------------------
    async def run(self, stop: asyncio.Event) -> None:
        """Run until `stop`; a revoked token sets `stop` (the whole bot ends) and raises
        TokenRevokedError with the message for the host."""
        self._stop = stop
        # On PostgreSQL the end-to-end store is in the database, shared with a standby.
        e2e = (StoreConnection(self.core.db.url, self.core.db.epoch)
               if self.core.db.dialect == "postgresql" else None)
        try:
            client, _new_store = build_client(self.cfg, e2e)
        except BaseException:
            if e2e is not None:
                e2e.close()
            raise
        self.client = client
        tasks: list[asyncio.Task[Any]] = []
        try:
            await whoami_until_up(client, self.cfg, stop, base=self.reconnect_base,
                                  cap=self.reconnect_max)
            if stop.is_set():
                return
            await check_store_matches_server(client, self.cfg)
            await upload_keys(client)
            await self._cross_sign(client)
            self.tokens = SyncTokenStore(self.core.db, self.cfg.user_id, self.cfg.device_id,
                                         self.core.clock)
            self.dms = DirectRooms(client, self.core.db, self.wait_for_room, self.core.clock)
            await self.dms.load()
            self.rooms = PrivateRooms(client, self.core.db, self.wait_for_room, self.core.clock)
            await self._load_undecryptable()
            token = await self.tokens.load()
            tasks = [asyncio.create_task(self.sender.run(stop), name="matrix-sender"),
                     asyncio.create_task(self._sync_loop(stop, token), name="matrix-sync")]
            stopper = asyncio.create_task(stop.wait())
            done, _ = await asyncio.wait([*tasks, stopper], return_when=asyncio.FIRST_COMPLETED)
            stopper.cancel()
            for task in done:
                if task is not stopper and not task.cancelled() and task.exception():
                    raise task.exception()  # type: ignore[misc]
        except TokenRevokedError as exc:
            self._fatal = str(exc)
        finally:
            self.ready.clear()
            await self.dispatcher.stop()
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            await client.close()
            if e2e is not None:
                e2e.close()
        if self._fatal:
            log.critical("%s", self._fatal)
            stop.set()
            raise TokenRevokedError(self._fatal)

    def _token_revoked(self, _reason: str) -> None:
        self._fatal = revoked_message(self.cfg)
        if self._stop is not None:
            self._stop.set()

    async def _cross_sign(self, client: AsyncClient) -> None:
        """Checked at every start, without a password: signing a new device with keys we hold
        needs none; creating the identity is `peercircle matrix cross-sign`, once. Without it
        the bot still works; only clients that refuse unverified devices won't talk to it."""
        try:
            result = await ensure_cross_signed(client, None,
                                               key_store_path=Path(self.cfg.store_path))
        except CrossSigningError as exc:
            log.warning("matrix: could not check cross-signing of this device: %s", exc)
            return
        if not result.ok:
            log.warning("matrix: this device is not cross-signed: %s", result.detail)

    async def wait_for_room(self, room_id: str, member: str | None = None,
                            within: float = 15.0) -> bool:
        """Wait until a sync has shown the room, and `member` in it (joined or invited): nio
        shares an encrypted room's key only with the members it knows of when it sends."""
        assert self.client is not None
        client = self.client
        loop = asyncio.get_running_loop()
        deadline = loop.time() + within

        def seen() -> bool:
            room = client.rooms.get(room_id)
            return room is not None and (member is None or member in room.users)

        while not seen():
            left = deadline - loop.time()
            if left <= 0:
                return False
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._synced.wait(), timeout=left)
        return True

    # -- sync ---------------------------------------------------------------------------------
    async def _sync_loop(self, stop: asyncio.Event, token: str | None) -> None:
        assert self.client is not None
        client = self.client
        first_ever = token is None  # no token: everything in the first sync is history
        since = token
        initial = True
        failures = 0
        while not stop.is_set():
            try:
                resp: Any = await client.sync(
                    timeout=0 if initial else self.sync_timeout_ms, since=since,
                    full_state=True if initial else None, sync_filter=SYNC_FILTER)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # connection refused/reset, timeouts, bad gateway bodies
                resp = exc
            if isinstance(resp, SyncResponse):
                if failures:
                    log.info("matrix: sync is back after %d failed attempt(s)", failures)
                failures = 0
                await self._handle_sync(resp, since, history_only=first_ever and initial)
                if initial:
                    log.info("matrix: first sync handled; answering from here")
                since = resp.next_batch
                initial = False
                self.syncs += 1
                self._synced.set()
                self._synced = asyncio.Event()
                self.ready.set()
                continue
            if isinstance(resp, ErrorResponse) and resp.status_code == "M_UNKNOWN_TOKEN":
                raise TokenRevokedError(revoked_message(self.cfg))
            failures += 1
            delay = jittered(failures, self.reconnect_base, self.reconnect_max)
            what = getattr(resp, "status_code", None) or type(resp).__name__
            log.warning("matrix: sync failed (%s); reconnecting in %.1fs", what, delay)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=delay)

    async def _keys_maintenance(self) -> None:
        """What nio's sync_forever does between syncs: to-device messages, key upload, query
        and claim, so members' devices can encrypt for the bot and the bot for them."""
        client = self.client
        assert client is not None
        async with self.crypto_lock:
            try:
                if client.outgoing_to_device_messages:
                    _dedupe_key_requests(client)
                    await client.send_to_device_messages()
                if client.should_upload_keys:
                    await client.keys_upload()
                if client.should_query_keys:
                    await client.keys_query()
                if client.should_claim_keys:
                    await client.keys_claim(client.get_users_for_key_claiming())
            except (LocalProtocolError, OSError, TimeoutError) as exc:
                log.warning("matrix: key maintenance failed (%s); next sync retries",
                            type(exc).__name__)
            except Exception as exc:
                log.warning("matrix: key maintenance failed (%s); next sync retries",
                            type(exc).__name__)

    async def _handle_sync(self, resp: SyncResponse, since: str | None, *,
                           history_only: bool) -> None:
        assert self.client is not None
        me = self.client.user_id
        to_handle: list[tuple[str, list[Any]]] = []
        for room_id, info in resp.rooms.join.items():
            self._invites_done.discard(room_id)
            if history_only:
                continue
            events = list(info.timeline.events)
            if (info.timeline.limited and since is not None
                    and not any(is_own_join(e.source, me) for e in events)):
                events = await self._backfill(room_id, info.timeline.prev_batch, since) + events
            start = 0
            for i, event in enumerate(events):
                if is_own_join(event.source, me):
                    start = i + 1  # what came before the bot joined is history, not commands
            to_handle.append((room_id, events[start:]))
            for event in events[start:]:
                if isinstance(event, MegolmEvent) and event.sender != me:
                    try:
                        await self._request_key(event)  # goes out with the maintenance below
                    except Exception as exc:  # the database: the event's own work asks again
                        log.warning("matrix: could not record a key request (%s)",
                                    type(exc).__name__)
        await self._keys_maintenance()
        batch = self.dispatcher.new_batch(resp.next_batch)
        for room_id, info in resp.rooms.invite.items():
            await self._on_invite(room_id, info.invite_state)
        # Waiting events are older than this sync's: retried first, so a room keeps its order.
        keys_came = any(isinstance(e, RoomKeyEvent | ForwardedRoomKeyEvent)
                        for e in resp.to_device_events)
        await self._retry_undecryptable(batch, fetch=keys_came or self._fetch_waiting)
        self._fetch_waiting = False
        for room_id, events in to_handle:
            for event in events:
                await self._enqueue(room_id, event, batch)
        await self.dispatcher.seal(batch)

    async def _backfill(self, room_id: str, prev_batch: str | None, since: str) -> list[Any]:
        """Events between the stored token and a limited timeline: after a long outage more
        than a timeline's worth may have come in, and none of it may be dropped."""
        assert self.client is not None
        found: list[Any] = []
        start = prev_batch
        while start and len(found) < BACKFILL_MAX:
            resp = await self.client.room_messages(room_id, start=start, end=since,
                                                   direction=MessageDirection.back, limit=100)
            if not isinstance(resp, RoomMessagesResponse) or not resp.chunk:
                break
            found.extend(resp.chunk)
            if resp.end is None or resp.end == start:
                break
            start = resp.end
        found.reverse()
        return found

    async def _on_invite(self, room_id: str, invite_state: list[Any]) -> None:
        assert self.client is not None and self.dms is not None
        if room_id in self._invites_done:
            return
        me = self.client.user_id
        inviter: str | None = None
        is_direct = False
        for event in invite_state:
            # nio gives stripped invite-state events as objects whose source lacks "type".
            if (isinstance(event, InviteMemberEvent) and event.state_key == me
                    and event.membership == "invite"):
                inviter = event.sender
                is_direct = bool((event.content or {}).get("is_direct"))
        self._invites_done.add(room_id)
        if inviter is None or not self.allowed_inviter(inviter):
            log.info("matrix: ignoring an invite to %s from %s (not an allowed inviter)",
                     room_id, inviter)
            return
        resp = await self.client.join(room_id)
        if isinstance(resp, JoinError):
            log.warning("matrix: could not join %s: %s", room_id, resp.status_code)
            self._invites_done.discard(room_id)  # try again on the next sync
            return
        log.info("matrix: joined %s on the invite of %s", room_id, inviter)
        if is_direct:
            await self.dms.adopt(room_id, inviter)

    def allowed_inviter(self, user_id: str) -> bool:
        server = user_id.split(":", 1)[1] if ":" in user_id else ""
        allowed = self.cfg.allowed_inviters
        if not allowed:
            return server == self.cfg.user_id.split(":", 1)[1]
        for entry in allowed:
            if entry.startswith("@") and entry == user_id:
                return True
            if entry.startswith(":") and server == entry[1:]:
                return True
        return False

    async def _enqueue(self, room_id: str, event: Any, batch: Batch | None) -> None:
        run = self._runner(room_id, event, batch)
        if run is not None:
            await self.dispatcher.put(Work(room_id, run,
                                           f"event {(event.source or {}).get('event_id')}",
                                           batch))

    def _runner(self, room_id: str, event: Any,
                batch: Batch | None) -> Callable[[], Awaitable[None]] | None:
        """What handling `event` means, or None when it is nothing for the bot."""
        assert self.client is not None
        src: dict[str, Any] = event.source or {}
        sender = src.get("sender")
        if not sender or sender == self.client.user_id:
            return None
        if isinstance(event, MegolmEvent):
            return self._undecryptable_runner(room_id, event, batch)
        if src.get("type") == "m.reaction":
            def run() -> Awaitable[None]:
                return self._on_reaction(room_id, src)
            return run
        if src.get("type") == "m.room.message":
            def run() -> Awaitable[None]:
                return self._on_message(room_id, src)
            return run
        return None

    async def _batch_done(self, token: str) -> None:
        assert self.tokens is not None
        await self.tokens.save(token)

    # -- commands -----------------------------------------------------------------------------
    async def _on_message(self, room_id: str, src: dict[str, Any]) -> None:
        assert self.client is not None and self.dms is not None
        sender: str = src["sender"]
        direct = self.dms.is_direct_with(room_id, sender)
        content = src.get("content") or {}
        line = command_line(content, prefix=self.cfg.command_prefix, direct=direct)
        if line is None:
            body = content.get("body")
            if (not direct and isinstance(body, str) and content.get("msgtype") == "m.text"
                    and body.strip() == self.cfg.command_prefix):
                # A bare prefix: show the commands as they are typed here.
                t = await self._texts(sender, room_id)
                await self._send_reply(room_id, src["event_id"], sender,
                                       Answer(usage_text(self.core.table,
                                                         self.cfg.command_prefix, t.lang)),
                                       direct)
            return
        room = self.client.rooms.get(room_id)
        actor = UserRef(PLATFORM, sender, _display_name(room, sender))
        if direct:
            place = Place.direct()
        else:
            level = room.power_levels.get_user_level(sender) if room is not None else 0
            place = Place(RoomRef(PLATFORM, room_id), actor_is_room_admin=level >= ADMIN_LEVEL)
        reply = await self.invoke(line, actor, place, src["event_id"], sent_at(src))
        await self._send_reply(room_id, src["event_id"], sender, reply, direct)

    async def _texts(self, sender: str, room_id: str) -> Texts:
        """What the adapter says itself, in the member's language, else the circle's."""
        return await self.core.texts_for(UserRef(PLATFORM, sender),
                                         Place(RoomRef(PLATFORM, room_id)))

    async def invoke(self, line: str, actor: UserRef, place: Place, event_id: str,
                     when: datetime | None) -> Answer:
        """The core call. The event id goes with it: the core records it in the handler's own
        transaction and answers a redelivered event with the stored reply."""
        return await self.core.handle_text(line, actor, place, event_id, sent_at=when)

    async def _send_reply(self, room_id: str, event_id: str, sender: str, reply: Answer,
                          direct: bool) -> None:
        """Exactly one reply per command: an m.notice naming the command, in the room; or, when
        what was typed should not stay in a shared room, in the member's direct room."""
        assert self.dms is not None
        if reply.private and not direct:
            redacted = await self._redact(room_id, event_id)
            text = reply.text
            t = await self._texts(sender, room_id)
            if not redacted:
                text += "\n\n" + t("matrix.room_saw_it")
            try:
                dm_room = await self.dms.room_for(sender)
            except SendFailed as exc:
                log.warning("matrix: no direct room for a private answer (%s)", exc.reason)
                # Never the reply itself in the room: only that it could not be delivered.
                await self.send_event(room_id, message_content(
                    t("matrix.no_direct_room"), reply_to=event_id),
                    txn=txn_id("reply", event_id), priority=PRIORITY_REPLY, label="reply")
                return
            await self.send_event(dm_room, message_content(text), txn=txn_id("reply", event_id),
                                  priority=PRIORITY_URGENT, label="private reply")
            await self._send_attachments(dm_room, event_id, reply)
            return
        await self.send_event(room_id, message_content(reply.text, reply_to=event_id),
                              txn=txn_id("reply", event_id),
                              priority=PRIORITY_URGENT if reply.private else PRIORITY_REPLY,
                              label="reply")
        await self._send_attachments(room_id, event_id, reply)

    async def _send_attachments(self, room_id: str, event_id: str, reply: Answer) -> None:
        for n, attachment in enumerate(reply.attachments):
            await self.send_attachment(room_id, attachment, txn=txn_id(f"file{n}", event_id),
                                       priority=PRIORITY_REPLY)

    async def _redact(self, room_id: str, event_id: str) -> bool:
        assert self.client is not None
        room = self.client.rooms.get(room_id)
        if room is None or not room.power_levels.can_user_redact(self.client.user_id):
            return False
        client = self.client
        try:
            await self.sender.call(
                lambda: client.room_redact(room_id, event_id, tx_id=txn_id("redact", event_id)),
                label="redaction", priority=PRIORITY_URGENT, max_attempts=4)
        except SendFailed:
            return False
        return True

    # -- reactions ----------------------------------------------------------------------------
    async def _on_reaction(self, room_id: str, src: dict[str, Any]) -> None:
        assert self.client is not None and self.dms is not None
        relates = (src.get("content") or {}).get("m.relates_to") or {}
        target, key = relates.get("event_id"), relates.get("key")
        if relates.get("rel_type") != "m.annotation" or not target or not isinstance(key, str):
            return
        sender: str = src["sender"]
        room = self.client.rooms.get(room_id)
        actor = UserRef(PLATFORM, sender, _display_name(room, sender))
        # The core checks that the reacting member is the one the message went to.
        inv = await self.core.action_invocation(PLATFORM, target, action_key(key), actor,
                                                event_id=src["event_id"], sent_at=sent_at(src))
        if inv is None:
            return
        reply = await self.core.invoke(inv)
        in_dm = self.dms.is_direct_with(room_id, sender)
        dm_room = room_id if in_dm else await self.dms.room_for(sender)
        await self.send_event(dm_room, message_content(reply.text,
                                                       reply_to=target if in_dm else None),
                              txn=txn_id("reply", src["event_id"]), priority=PRIORITY_URGENT,
                              label="page answer")

    # -- undecryptable events -----------------------------------------------------------------
    # An event the bot cannot decrypt yet is recorded in the database by the work item that
    # handles it, so before its sync's token can be stored; it leaves the table once handled
    # (after its key came, in this run or after a restart) or after 24 hours.

    async def _load_undecryptable(self) -> None:
        """At start: what waited for a key before the restart, and which sessions were already
        asked for their key and noticed. The events themselves are fetched at the first sync."""
        self.undecryptable = UndecryptableStore(self.core.db, self.core.clock.now)
        events, sessions = await self.undecryptable.load()
        self._waiting = {p.event_id: _Waiting(p) for p in events}
        self._sessions = {m.session_id: m for m in sessions}
        self._in_flight.clear()
        self._fetch_waiting = bool(self._waiting)
        if events:
            log.info("matrix: %d encrypted event(s) still wait for their key", len(events))

    def _undecryptable_runner(self, room_id: str, event: MegolmEvent,
                              batch: Batch | None) -> Callable[[], Any]:
        async def run() -> None:
            await self._on_undecryptable(room_id, event, batch)
        return run

    async def _on_undecryptable(self, room_id: str, event: MegolmEvent,
                                batch: Batch | None) -> None:
        """Keep the event (in the database) to handle when the key comes, ask the sender's
        devices for the key once, and tell the room once per session."""
        assert self.client is not None
        client = self.client
        session = event.session_id
        if event.event_id in self._in_flight:
            return  # its key came and it is being handled already
        await self._remember(room_id, event)
        # The key may have come since the sync that brought the event, before it was recorded.
        clear = self._decrypt_waiting(event.event_id)
        if clear is not None:
            await self._handle_late(room_id, clear, event.event_id, batch)
            return
        if await self._request_key(event):  # normally asked already, as the sync came in
            async with self.crypto_lock:
                try:
                    _dedupe_key_requests(client)
                    await client.send_to_device_messages()
                except Exception as exc:  # offline: the next sync's maintenance sends it
                    log.info("matrix: key request for a session failed: %s",
                             type(exc).__name__)
        mark = self._session_mark(session)
        if mark.noticed:
            return
        mark.noticed = True  # at most one notice: recorded before it is sent
        try:
            await self._save_mark(mark)
        except BaseException:
            mark.noticed = False
            raise
        t = await self._texts(event.sender, room_id)
        await self.send_event(room_id, message_content(t("matrix.undecryptable"),
                                                       reply_to=event.event_id),
                              txn=txn_id("undecryptable", session), priority=PRIORITY_REPLY,
                              label="undecryptable notice")

    async def _remember(self, room_id: str, event: MegolmEvent) -> None:
        assert self.undecryptable is not None
        waiting = self._waiting.get(event.event_id)
        if waiting is not None:
            waiting.event = waiting.event or event
            return
        if len(self._waiting) >= UNDECRYPTABLE_KEEP:
            log.warning("matrix: %d encrypted events already wait for their keys; one more "
                        "will not be retried", len(self._waiting))
            return
        when = sent_at(event.source or {})
        pending = PendingEvent(room_id=room_id, event_id=event.event_id,
                               session_id=event.session_id or "", sender=event.sender,
                               sent_at=when.isoformat() if when else None,
                               first_seen=self.core.clock.now().isoformat())
        await self.undecryptable.record(pending, None)
        self._waiting[event.event_id] = _Waiting(pending, event)

    def _session_mark(self, session: str) -> SessionMark:
        """The session's record; a new one (not yet stored) when none, or when it expired."""
        mark = self._sessions.get(session)
        assert self.undecryptable is not None
        if mark is None or self.undecryptable.expired(mark.seen_at()):
            mark = SessionMark(session, first_seen=self.core.clock.now().isoformat())
            self._sessions[session] = mark
        return mark

    async def _save_mark(self, mark: SessionMark) -> None:
        assert self.undecryptable is not None
        await self.undecryptable.record(None, mark)

    async def _request_key(self, event: MegolmEvent) -> bool:
        """Ask for a session's key once, ever (the database remembers across restarts): one
        request (its id is the session id) to the bot's own other devices and to the device
        that sent the event, which is the one that has the key. Returns whether a request was
        queued."""
        assert self.client is not None
        client = self.client
        session = event.session_id
        if not session or client.olm is None:
            return False
        mark = self._session_mark(session)
        if mark.requested:
            return False
        mark.requested = True  # recorded before the request goes out: at most one, ever
        try:
            await self._save_mark(mark)
        except BaseException:
            mark.requested = False
            raise
        assert client.user_id and client.device_id
        queue = client.outgoing_to_device_messages
        queue.append(event.as_key_request(client.user_id, client.device_id))
        if event.sender != client.user_id:
            queue.append(event.as_key_request(event.sender, client.device_id,
                                              device_id=event.device_id))
        return True

    def _decrypt_waiting(self, event_id: str) -> Any | None:
        """The clear event when a waiting event decrypts now (and claims it: handled once)."""
        assert self.client is not None
        waiting = self._waiting.get(event_id)
        if (waiting is None or waiting.event is None or event_id in self._in_flight
                or self.client.olm is None):
            return None
        try:
            clear = self.client.decrypt_event(waiting.event)
        except Exception:
            return None
        if clear is None or isinstance(clear, MegolmEvent):
            return None
        self._in_flight.add(event_id)
        return clear

    async def _handle_late(self, room_id: str, clear: Any, event_id: str,
                           batch: Batch | None) -> None:
        """A waiting event decrypted: handled as a live one would be (the core's processed
        events answer a repeat), then it leaves the table."""
        run = self._runner(room_id, clear, batch)
        if run is not None:
            await run()
        await self._forget(event_id)

    async def _forget(self, event_id: str) -> None:
        assert self.undecryptable is not None
        await self.undecryptable.drop_events([event_id])
        self._waiting.pop(event_id, None)
        self._in_flight.discard(event_id)

    async def _retry_undecryptable(self, batch: Batch, *, fetch: bool) -> None:
        """Handle the waiting events whose key is here now. `fetch`: at the first sync after a
        start (the rows came from the database) and whenever room keys arrive, events not in
        hand are fetched from the homeserver first."""
        assert self.client is not None
        await self._expire_undecryptable()
        if not self._waiting or self.client.olm is None:
            return
        if fetch:
            await self._fetch_waiting_events()
        order = sorted(self._waiting.values(),
                       key=lambda w: (w.pending.sent_at or w.pending.first_seen,
                                      w.pending.first_seen))
        for waiting in order:
            event_id = waiting.pending.event_id
            clear = self._decrypt_waiting(event_id)
            if clear is None:
                continue
            room_id = waiting.pending.room_id

            def run(room_id: str = room_id, clear: Any = clear,
                    event_id: str = event_id) -> Awaitable[None]:
                return self._handle_late(room_id, clear, event_id, batch)

            await self.dispatcher.put(Work(room_id, run, f"event {event_id}", batch))

    async def _fetch_waiting_events(self) -> None:
        assert self.client is not None
        for waiting in list(self._waiting.values()):
            if waiting.event is not None:
                continue
            pending = waiting.pending
            try:
                resp = await self.client.room_get_event(pending.room_id, pending.event_id)
            except Exception as exc:  # the homeserver is away: the next key or start retries
                log.info("matrix: could not fetch a waiting encrypted event (%s)",
                         type(exc).__name__)
                continue
            if not isinstance(resp, RoomGetEventResponse):
                log.info("matrix: could not fetch a waiting encrypted event (%s)",
                         getattr(resp, "status_code", None) or type(resp).__name__)
                continue
            event = resp.event
            if not isinstance(event, MegolmEvent):
                # Redacted, or not encrypted after all: nothing is left to decrypt.
                await self._forget(pending.event_id)
                continue
            event.room_id = pending.room_id
            waiting.event = event

    async def _expire_undecryptable(self) -> None:
        store = self.undecryptable
        assert store is not None
        stale = [eid for eid, w in self._waiting.items()
                 if eid not in self._in_flight and store.expired(w.pending.seen_at())]
        if stale:
            await store.drop_events(stale, expired=True)
            for eid in stale:
                self._waiting.pop(eid, None)
        old = [sid for sid, m in self._sessions.items() if store.expired(m.seen_at())]
        if old:
            await store.drop_sessions(old)
            for sid in old:
                self._sessions.pop(sid, None)

    # -- sending ------------------------------------------------------------------------------
    async def send_event(self, room_id: str, content: dict[str, Any], *, txn: str,
                         priority: int, label: str, max_attempts: int | None = None,
                         event_type: str = "m.room.message") -> str:
        """Send through the paced sender; returns the event id or raises SendFailed."""
        client = self.client
        assert client is not None
        if room_id not in client.rooms:
            await self.wait_for_room(room_id, within=5)

        async def op() -> Any:
            room = client.rooms.get(room_id)
            if room is not None and room.encrypted and client.should_query_keys:
                # nio shares the room key only with devices it knows; a member invited a
                # moment ago (a new direct room) must be queried first or cannot decrypt.
                await client.keys_query()
            return await client.room_send(room_id, event_type, content, tx_id=txn,
                                          ignore_unverified_devices=True)

        resp = await self.sender.call(op, label=label, priority=priority,
                                      max_attempts=max_attempts)
        assert isinstance(resp, RoomSendResponse)
        return resp.event_id

    async def send_attachment(self, room_id: str, attachment: Attachment, *, txn: str,
                              priority: int) -> str:
        """A core attachment as a file in the room (encrypted in encrypted rooms)."""
        client = self.client
        assert client is not None
        room = client.rooms.get(room_id)
        encrypted = bool(room is not None and room.encrypted)
        upload = await self.sender.call(
            lambda: media.upload(client, attachment.data, attachment.filename, attachment.mime,
                                 encrypted),
            label="upload", priority=priority, max_attempts=5)
        content = media.file_content(upload, attachment.data, attachment.filename,
                                     attachment.mime, attachment.alt)
        return await self.send_event(room_id, content, txn=txn, priority=priority,
                                     label="attachment", max_attempts=6)

    async def send_image(self, room_id: str, png_bytes: bytes, filename: str) -> str:
        """A PNG as m.image through the content repository (encrypted in encrypted rooms)."""
        client = self.client
        assert client is not None
        room = client.rooms.get(room_id)
        encrypted = bool(room is not None and room.encrypted)
        upload = await self.sender.call(
            lambda: media.upload_png(client, png_bytes, filename, encrypted),
            label="image upload", priority=PRIORITY_REPLY, max_attempts=5)
        content = media.image_content(upload, png_bytes, filename)
        digest = hashlib.sha256(png_bytes).hexdigest()
        return await self.send_event(room_id, content, txn=txn_id("image", room_id + digest),
                                     priority=PRIORITY_REPLY, label="image", max_attempts=6)


def _dedupe_key_requests(client: AsyncClient) -> None:
    """nio queues a key request of its own at every failed decryption while it has a fresh Olm
    session with the sender, until the first one has gone out: a burst of undecryptable events
    would be a burst of identical requests. Keep one per recipient and request id."""
    queue = client.outgoing_to_device_messages
    seen: set[tuple[str, str, str]] = set()
    kept = []
    for message in queue:
        if isinstance(message, RoomKeyRequestMessage):
            key = (message.recipient, message.recipient_device, message.request_id)
            if key in seen:
                continue
            seen.add(key)
        kept.append(message)
    if len(kept) != len(queue):
        queue[:] = kept


def _display_name(room: MatrixRoom | None, user_id: str) -> str:
    if room is None:
        return ""
    user = room.users.get(user_id)
    return (user.display_name if user is not None and user.display_name else "") or ""
