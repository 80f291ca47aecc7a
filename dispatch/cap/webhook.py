"""The CAP webhook: every alert's raise, updates and close, POSTed as CAP 1.2 messages to
`cap.webhook_url`, signed, in order, off the alert path.

The event observer only appends the delivered event to a bounded queue (no parsing, no
I/O): an alert is never delayed by a slow or absent receiver. One background task takes
the queue in order, builds each message, skips one that says nothing new about its alert
(an event that changed only what a CAP message does not carry), and POSTs it; a failure
(no answer, 5xx, 408, 429) is tried again after base * 2^n seconds, at most
`webhook_retry_max_s`, up to `webhook_attempts` times, holding back later messages so
that a receiver gets them in order. When `webhook_queue` messages wait, the oldest is
dropped with a log line. Another 4xx is the receiver refusing that message: logged, and
the next one goes.

The body is signed: `X-Dispatch-Signature: sha256=<hex HMAC-SHA256 of the body with
cap.webhook_secret>`. The first delivery of each alert's messages is written to the audit
trail as a disclosure (by the system). Several server processes each post what they see
(a receiver drops the repeats by identifier, which is made from the alert).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import logging
from collections import OrderedDict, deque
from urllib.parse import urlsplit

import httpx

from dispatch.audit import Action
from dispatch.audit.access import record_alone
from dispatch.cap.message import MEDIA_TYPE, CapMessage, cap_message
from dispatch.config import CapSettings
from dispatch.logs import failure
from dispatch.realtime.events import KIND_ALERT, StoredEvent
from dispatch.storage.db import Database
from dispatch.usecases.context import Clock
from schemas.views import AlertView

log = logging.getLogger("dispatch.cap")

SIGNATURE_HEADER = "X-Dispatch-Signature"
IDENTIFIER_HEADER = "X-Dispatch-CAP-Identifier"
REMEMBERED = 10_000  # alerts whose last message is remembered (to skip repeats)
RETRY_STATUSES = frozenset({408, 429})


def signature(secret: str, body: bytes) -> str:
    digest = hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


class Refused(Exception):
    """The receiver refused this message (a 4xx other than 408 and 429): not retried."""


class CapWebhook:
    def __init__(self, cap: CapSettings, *, db: Database | None, clock: Clock) -> None:
        self._cap, self._db, self._clock = cap, db, clock
        self._queue: deque[StoredEvent] = deque()
        self._waiting = asyncio.Event()
        self._last: OrderedDict[str, str] = OrderedDict()  # alert id -> last content key
        self._disclosed_ids: OrderedDict[str, None] = OrderedDict()  # audited already
        self._task: asyncio.Task[None] | None = None
        self._client: httpx.AsyncClient | None = None
        self.sent = self.dropped = self.failed = 0

    @property
    def enabled(self) -> bool:
        return bool(self._cap.webhook_url)

    def observe(self, event: StoredEvent) -> None:
        """The dispatcher's observer: queue the event, and nothing else."""
        if event.kind != KIND_ALERT or not self.enabled:
            return
        if len(self._queue) >= self._cap.webhook_queue:
            lost = self._queue.popleft()
            self.dropped += 1
            log.warning(
                "CAP webhook: %d messages waiting; dropped the oldest (event %d of alert %s)",
                self._cap.webhook_queue,
                lost.seq,
                lost.entity_id,
                extra={"alert_id": lost.entity_id},
            )
        self._queue.append(event)
        self._waiting.set()

    async def start(self) -> None:
        if not self.enabled or self._task is not None:
            return
        # No proxy from the environment: the officers' positions go where the config says.
        self._client = httpx.AsyncClient(
            timeout=self._cap.webhook_timeout_s, follow_redirects=False, trust_env=False
        )
        self._task = asyncio.create_task(self._run())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    async def _run(self) -> None:
        while True:
            while not self._queue:
                self._waiting.clear()
                await self._waiting.wait()
            event = self._queue.popleft()
            try:
                message = self._message(event)
            except Exception as exc:
                log.error("CAP webhook: could not build event %d: %s", event.seq, failure(exc))
                continue
            if message is not None:
                await self._deliver(event.entity_id, message)

    def _message(self, event: StoredEvent) -> CapMessage | None:
        """The event's message, or None when it says nothing new about its alert."""
        message = cap_message(AlertView.model_validate_json(event.payload), self._cap)
        if self._last.get(event.entity_id) == message.content_key:
            return None
        self._last[event.entity_id] = message.content_key
        self._last.move_to_end(event.entity_id)
        while len(self._last) > REMEMBERED:
            self._last.popitem(last=False)
        return message

    async def _deliver(self, alert_id: str, message: CapMessage) -> None:
        cap = self._cap
        delay = cap.webhook_retry_base_s
        for attempt in range(1, cap.webhook_attempts + 1):
            try:
                await self._post(message)
            except Refused as exc:
                self.failed += 1
                log.error(
                    "CAP webhook: %s refused by the receiver (%s); not sent again",
                    message.identifier,
                    exc,
                    extra={"alert_id": alert_id},
                )
                return
            except Exception as exc:
                if attempt == cap.webhook_attempts:
                    self.failed += 1
                    log.error(
                        "CAP webhook: gave up on %s after %d attempts: %s",
                        message.identifier,
                        attempt,
                        failure(exc),
                        extra={"alert_id": alert_id},
                    )
                    return
                wait = min(delay, cap.webhook_retry_max_s)
                log.warning(
                    "CAP webhook: %s not delivered (%s); trying again in %.1f s",
                    message.identifier,
                    failure(exc),
                    wait,
                    extra={"alert_id": alert_id},
                )
                await asyncio.sleep(wait)
                delay *= 2
            else:
                self.sent += 1
                if alert_id not in self._disclosed_ids:
                    await self._disclosed(alert_id, message)
                return

    async def _post(self, message: CapMessage) -> None:
        assert self._client is not None
        response = await self._client.post(
            self._cap.webhook_url,
            content=message.xml,
            headers={
                "Content-Type": f"{MEDIA_TYPE}; charset=utf-8",
                SIGNATURE_HEADER: signature(self._cap.webhook_secret, message.xml),
                IDENTIFIER_HEADER: message.identifier,
            },
        )
        status = response.status_code
        if 200 <= status < 300:
            return
        if 400 <= status < 500 and status not in RETRY_STATUSES:
            raise Refused(f"HTTP {status}")
        raise OSError(f"HTTP {status}")

    async def _disclosed(self, alert_id: str, message: CapMessage) -> None:
        """The audit row: this alert's position leaves for the receiver (once per alert:
        with its first message; the later ones go to the same receiver)."""
        self._disclosed_ids[alert_id] = None
        while len(self._disclosed_ids) > REMEMBERED:
            self._disclosed_ids.popitem(last=False)
        if self._db is None:
            return
        host = urlsplit(self._cap.webhook_url).hostname or "?"
        try:
            await record_alone(
                self._db,
                None,
                at=self._clock(),
                action=Action.DISCLOSURE,
                object_type="alert",
                object_id=alert_id,
                detail=f"CAP messages of this alert to {host} (webhook), from {message.identifier}",
            )
        except Exception as exc:
            log.error("CAP webhook: could not write the disclosure: %s", failure(exc))
