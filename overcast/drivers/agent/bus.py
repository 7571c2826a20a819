"""RPC between Overcast's workers and the agents over RabbitMQ (kombu; see docs/decisions).

Layout on the broker, per region (``overcast.<region>``):

- a **topic exchange** ``overcast.<region>``; each host has a durable queue
  ``overcast.<region>.host.<host>`` bound to ``host.<host>`` (its own commands) and ``all``
  (what every host must hear: networks, security groups). Commands are persistent and acked
  only after they ran, so an agent that dies mid-command gets it again when it comes back; the
  command's idempotency key makes the second delivery answer what the first did instead of
  doing it twice (:class:`ResultCache` on the agent, and the guest's UUID derived from the key);
- **replies** go through RabbitMQ's direct reply-to (``amq.rabbitmq.reply-to``): no queue per
  caller, no declare per call. A command carries an expiration equal to the caller's timeout, so
  one its caller gave up on is dropped by the broker instead of running late;
- a **fanout exchange** ``overcast.<region>.reports``: agents publish registrations, heartbeats
  and what changed under them; every Overcast process that drives the region has its own
  exclusive, auto-deleted queue on it, so each one sees every host without a database round trip.

kombu connections are not thread-safe: callers get one connection per thread; the agent's
consumer thread does every broker operation itself and runs commands on a pool.
"""

from __future__ import annotations

import json
import logging
import queue
import socket
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable, Mapping

from overcast.drivers import errors

log = logging.getLogger(__name__)

REPLY_TO = "amq.rabbitmq.reply-to"

#: driver errors a reply may carry, by name
ERRORS: dict[str, type[errors.DriverError]] = {
    cls.__name__: cls for cls in (errors.DriverError, errors.NotFound, errors.Conflict, errors.InvalidRequest,
                                  errors.NotSupported, errors.BuildFailed, errors.DeleteFailed,
                                  errors.NotSuspended, errors.Unavailable, errors.QuotaExceeded)}


class BusTimeout(errors.Unavailable):
    """No answer within the call's timeout (the host is down, busy, or the broker is)."""


def _kombu() -> Any:
    import kombu

    return kombu


def redact(url: str) -> str:
    """The URL without its password, for logs and messages."""
    if "@" not in url or "://" not in url:
        return url
    scheme, rest = url.split("://", 1)
    creds, host = rest.rsplit("@", 1)
    user = creds.split(":", 1)[0]
    return f"{scheme}://{user}:***@{host}"


class Bus:
    """The broker seen from one process, for one region."""

    def __init__(self, url: str, region: str, *, connect_timeout: float = 5.0) -> None:
        self.url = url
        self.region = region
        self.connect_timeout = connect_timeout
        self._local = threading.local()
        #: every thread's connection, so close() releases them all
        self._clients: set[_Client] = set()
        self._clients_lock = threading.Lock()
        kombu = _kombu()
        self.exchange = kombu.Exchange(f"overcast.{region}", type="topic", durable=True)
        self.reports_exchange = kombu.Exchange(f"overcast.{region}.reports", type="fanout", durable=False)

    def __repr__(self) -> str:
        return f"Bus({redact(self.url)!r}, {self.region!r})"

    def connection(self) -> Any:
        return _kombu().Connection(self.url, connect_timeout=self.connect_timeout, heartbeat=0)

    def host_queue(self, host: str) -> Any:
        kombu = _kombu()
        return kombu.Queue(f"overcast.{self.region}.host.{host}", exchange=self.exchange, durable=True,
                           bindings=[kombu.binding(self.exchange, routing_key=f"host.{host}"),
                                     kombu.binding(self.exchange, routing_key="all")])

    # -- caller side --------------------------------------------------------------------------
    def _client(self) -> "_Client":
        client = getattr(self._local, "client", None)
        if client is None or client.broken:
            if client is not None:
                client.close()
                with self._clients_lock:
                    self._clients.discard(client)
            client = _Client(self)
            self._local.client = client
            with self._clients_lock:
                self._clients.add(client)
        return client

    def call(self, host: str, method: str, args: Mapping[str, Any] | None = None, *, timeout: float = 30.0,
             idempotency_key: str | None = None) -> Any:
        """Run ``method`` on ``host`` and return its result.

        :raises BusTimeout: no answer within ``timeout``. :raises Unavailable: the broker cannot
            be reached. :raises DriverError: (its subclass) what the agent raised.
        """
        try:
            return self._client().call(f"host.{host}", method, dict(args or {}), timeout, idempotency_key)
        except (OSError, socket.error) as exc:
            self._local.client = None
            raise errors.Unavailable(f"message bus {redact(self.url)} unreachable: {exc}") from exc
        except Exception as exc:
            if isinstance(exc, errors.DriverError):
                raise
            if type(exc).__module__.startswith(("amqp", "kombu")):
                self._local.client = None
                raise errors.Unavailable(f"message bus {redact(self.url)}: {type(exc).__name__}: {exc}") from exc
            raise

    def cast(self, host: str | None, method: str, args: Mapping[str, Any] | None = None, *,
             idempotency_key: str | None = None, ttl: float | None = None) -> None:
        """Send ``method`` to ``host`` (None: every host) without waiting; it waits in the host's
        queue while the host is down."""
        try:
            self._client().publish(f"host.{host}" if host else "all", method, dict(args or {}), idempotency_key,
                                   ttl=ttl)
        except Exception as exc:
            if isinstance(exc, errors.DriverError):
                raise
            self._local.client = None
            raise errors.Unavailable(f"message bus {redact(self.url)}: {type(exc).__name__}: {exc}") from exc

    def send_reply(self, reply_to: str, correlation_id: str | None, body: Mapping[str, Any]) -> None:
        """An agent's answer to a call (RabbitMQ's direct reply-to: from any channel)."""
        try:
            self._client().reply_producer.publish(dict(body), routing_key=reply_to,
                                            correlation_id=correlation_id, serializer="json", delivery_mode=1)
        except Exception:
            self._local.client = None
            raise

    def publish_report(self, report: Mapping[str, Any]) -> None:
        """An agent's registration, heartbeat or event, to every Overcast process."""
        self._client().report(report)

    def close(self) -> None:
        """Release every thread's connection."""
        with self._clients_lock:
            clients, self._clients = self._clients, set()
        for client in clients:
            client.close()
        self._local = threading.local()


class _Client:
    """One thread's connection: publishes commands and waits for their direct replies."""

    def __init__(self, bus: Bus) -> None:
        kombu = _kombu()
        self.bus = bus
        self.broken = False
        self.conn = bus.connection()
        self.conn.ensure_connection(max_retries=1)
        self.channel = self.conn.channel()
        self.producer = kombu.Producer(self.channel, exchange=bus.exchange)
        #: answers go through the default exchange (direct reply-to)
        self.reply_producer = kombu.Producer(self.channel)
        self.replies: dict[str, Any] = {}
        self.consumer = kombu.Consumer(self.channel, queues=[kombu.Queue(REPLY_TO, no_declare=True)],
                                       callbacks=[self._on_reply], no_ack=True, accept=["json"])
        self.consumer.consume()
        self._declared: set[str] = set()

    def _on_reply(self, body: Any, message: Any) -> None:
        cid = message.properties.get("correlation_id")
        if cid:
            self.replies[cid] = body

    def publish(self, routing_key: str, method: str, args: dict[str, Any], key: str | None, *,
                reply: str | None = None, ttl: float | None = None) -> None:
        headers = {"method": method}
        if key:
            headers["idempotency_key"] = key
        props: dict[str, Any] = {}
        if reply:
            props.update(reply_to=REPLY_TO, correlation_id=reply)
        if ttl:
            props["expiration"] = max(0.001, ttl)
        self.producer.publish({"method": method, "args": args, "idempotency_key": key}, routing_key=routing_key,
                              serializer="json", delivery_mode=2, headers=headers, **props)

    def call(self, routing_key: str, method: str, args: dict[str, Any], timeout: float, key: str | None) -> Any:
        cid = uuid.uuid4().hex
        end = time.monotonic() + timeout
        try:
            self.publish(routing_key, method, args, key, reply=cid, ttl=timeout)
            while cid not in self.replies:
                left = end - time.monotonic()
                if left <= 0:
                    raise BusTimeout(f"{routing_key.removeprefix('host.')} did not answer {method} within "
                                     f"{timeout:.0f}s")
                try:
                    self.conn.drain_events(timeout=min(left, 1.0))
                except socket.timeout:
                    continue
        except BusTimeout:
            raise
        except Exception:
            self.broken = True
            raise
        body = self.replies.pop(cid)
        if body.get("ok"):
            return body.get("result")
        cls = ERRORS.get(body.get("error_type", ""), errors.DriverError)
        exc = cls(body.get("error", "the agent failed"))
        if isinstance(exc, errors.Unavailable):
            exc.retry_after = body.get("retry_after")
        raise exc

    def report(self, report: Mapping[str, Any]) -> None:
        kombu = _kombu()
        producer = kombu.Producer(self.channel, exchange=self.bus.reports_exchange)
        producer.publish(dict(report), serializer="json", routing_key="", delivery_mode=1,
                         declare=[self.bus.reports_exchange] if "reports" not in self._declared else [])
        self._declared.add("reports")

    def close(self) -> None:
        try:
            self.conn.release()
        except Exception:  # noqa: BLE001 - closing a broken connection
            pass


class ReportListener:
    """Receives every agent report of a region on this process's own queue (a thread)."""

    def __init__(self, bus: Bus, on_report: Callable[[dict[str, Any]], None]) -> None:
        self.bus = bus
        self.on_report = on_report
        self._stop = threading.Event()
        self.ready = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"overcast-reports-{bus.region}", daemon=True)

    def start(self) -> "ReportListener":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def _run(self) -> None:
        kombu = _kombu()
        delay = 0.5
        while not self._stop.is_set():
            try:
                with self.bus.connection() as conn:
                    q = kombu.Queue(f"overcast.{self.bus.region}.reports.{uuid.uuid4().hex[:12]}",
                                    exchange=self.bus.reports_exchange, exclusive=True, auto_delete=True,
                                    durable=False)
                    with conn.Consumer([q], callbacks=[self._on_message], no_ack=True, accept=["json"]):
                        self.ready.set()
                        delay = 0.5
                        while not self._stop.is_set():
                            try:
                                conn.drain_events(timeout=0.5)
                            except socket.timeout:
                                continue
            except Exception as exc:  # noqa: BLE001 - a lost broker: reconnect with backoff
                log.warning("reports of region %s: %s; reconnecting", self.bus.region, exc)
                self._stop.wait(delay)
                delay = min(delay * 2, 10)

    def _on_message(self, body: Any, _message: Any) -> None:
        try:
            self.on_report(dict(body))
        except Exception:  # noqa: BLE001 - a bad report must not stop the listener
            log.exception("handling an agent report")


class ResultCache:
    """Results of the commands a host ran, by idempotency key (newest ``size`` kept, in a JSON
    file): a command delivered again answers what it answered the first time."""

    def __init__(self, path: str | None, size: int = 2000) -> None:
        self.path = path
        self.size = size
        self._lock = threading.Lock()
        self._running: dict[str, threading.Event] = {}
        self._results: dict[str, dict[str, Any]] = {}
        if path:
            try:
                with open(path) as handle:
                    self._results = dict(json.load(handle))
            except (OSError, ValueError):
                self._results = {}

    def run(self, key: str | None, fn: Callable[[], dict[str, Any]]) -> dict[str, Any]:
        if not key:
            return fn()
        while True:
            with self._lock:
                if key in self._results:
                    return self._results[key]
                event = self._running.get(key)
                if event is None:
                    event = self._running[key] = threading.Event()
                    break
            event.wait()
        try:
            reply = fn()
            # a transient failure is not remembered: the command may be tried again
            if reply.get("ok") or reply.get("error_type") not in ("Unavailable", "BusTimeout"):
                with self._lock:
                    self._results[key] = reply
                    while len(self._results) > self.size:
                        self._results.pop(next(iter(self._results)))
                    self._save()
            return reply
        finally:
            with self._lock:
                self._running.pop(key, None)
            event.set()

    def _save(self) -> None:
        if not self.path:
            return
        tmp = f"{self.path}.tmp"
        with open(tmp, "w") as handle:
            json.dump(self._results, handle)
        import os

        os.replace(tmp, self.path)


class CommandServer:
    """An agent's side: consumes its host's queue, runs each command on a pool, replies, acks.

    ``handler(method, args) -> result`` (JSON-able) or raises a DriverError. Acks come after the
    reply, so a command is never lost by a crash in between (it is delivered again and
    :class:`ResultCache` answers it)."""

    def __init__(self, bus: Bus, host: str, handler: Callable[[str, dict[str, Any]], Any], *,
                 threads: int = 8, cache: ResultCache | None = None,
                 ordered: Callable[[str], bool] | None = None) -> None:
        self.bus = bus
        self.host = host
        self.handler = handler
        self.cache = cache or ResultCache(None)
        self.pool = ThreadPoolExecutor(threads, thread_name_prefix=f"agent-{host}")
        #: commands that must run one after another in the order they were sent (a network, then
        #: its subnet, then its ports): one thread of their own
        self.ordered = ordered or (lambda _method: False)
        self.serial = ThreadPoolExecutor(1, thread_name_prefix=f"agent-{host}-ordered")
        self._done: queue.Queue[tuple[Any, dict[str, Any] | None]] = queue.Queue()
        self._stop = threading.Event()
        self.ready = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"overcast-agent-{host}", daemon=True)
        self.threads = threads

    def start(self) -> "CommandServer":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)
        self.pool.shutdown(wait=False, cancel_futures=True)
        self.serial.shutdown(wait=False, cancel_futures=True)

    def _execute(self, body: dict[str, Any]) -> dict[str, Any]:
        method = str(body.get("method"))
        try:
            result = self.handler(method, dict(body.get("args") or {}))
            return {"ok": True, "result": result}
        except errors.DriverError as exc:
            reply = {"ok": False, "error_type": type(exc).__name__, "error": str(exc)}
            if isinstance(exc, errors.Unavailable) and exc.retry_after is not None:
                reply["retry_after"] = exc.retry_after
            return reply
        except Exception as exc:  # noqa: BLE001 - a bug on the host: answered, logged with its traceback
            log.exception("command %s failed", method)
            return {"ok": False, "error_type": "DriverError", "error": f"{type(exc).__name__} on host: {exc}"}

    def _on_message(self, body: Any, message: Any) -> None:
        body = dict(body)
        key = body.get("idempotency_key")

        props = message.properties

        def work() -> None:
            reply: dict[str, Any] | None = self.cache.run(key, lambda: self._execute(body))
            if reply is not None and props.get("reply_to"):
                # answered at once from this thread (its own connection): the consumer's loop
                # only acks, after the answer is out
                try:
                    self.bus.send_reply(props["reply_to"], props.get("correlation_id"), reply)
                    reply = None
                except Exception as exc:  # noqa: BLE001 - the consumer's loop tries again
                    log.warning("agent %s: answering %s: %s", self.host, body.get("method"), exc)
            self._done.put((message, reply))

        (self.serial if self.ordered(str(body.get("method"))) else self.pool).submit(work)

    def _run(self) -> None:
        kombu = _kombu()
        delay = 0.5
        while not self._stop.is_set():
            try:
                with self.bus.connection() as conn:
                    channel = conn.channel()
                    producer = kombu.Producer(channel)
                    q = self.bus.host_queue(self.host)
                    with kombu.Consumer(channel, [q], callbacks=[self._on_message], accept=["json"],
                                        prefetch_count=self.threads * 2):
                        self.ready.set()
                        delay = 0.5
                        while not self._stop.is_set():
                            self._flush(producer)
                            try:
                                conn.drain_events(timeout=0.05)
                            except socket.timeout:
                                pass
                        self._flush(producer)
            except Exception as exc:  # noqa: BLE001 - broker lost: unacked commands come back on reconnect
                log.warning("agent %s: message bus: %s; reconnecting", self.host, exc)
                self._drop_pending()
                self._stop.wait(delay)
                delay = min(delay * 2, 10)

    def _drop_pending(self) -> None:
        # their deliveries died with the channel; the broker delivers them again
        while True:
            try:
                self._done.get_nowait()
            except queue.Empty:
                return

    def _flush(self, producer: Any) -> None:
        while True:
            try:
                message, reply = self._done.get_nowait()
            except queue.Empty:
                return
            props = message.properties
            if reply is not None and props.get("reply_to"):
                producer.publish(reply, routing_key=props["reply_to"], correlation_id=props.get("correlation_id"),
                                 serializer="json", delivery_mode=1)
            message.ack()
