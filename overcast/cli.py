"""The ``overcast`` command: serve, dashboard, bootstrap, db upgrade, keys rotate, clouds-yaml, coverage."""

from __future__ import annotations

import os
import shlex
import shutil
import sys
import time
from pathlib import Path
from typing import Any

import click

from overcast import __version__
from overcast.config import ConfigError, Settings, load_settings
from overcast.datadir import make_private


def _settings(ctx: click.Context, **server: Any) -> Settings:
    """The settings of this command; its data directory is made private (0700, files 0600)."""
    opts = ctx.obj
    try:
        overrides = {k: v for k, v in server.items() if v is not None}
        settings = load_settings(opts["config"], data_dir=opts["data_dir"], server=overrides)
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None
    make_private(settings.data_dir, create=False)  # those that need one make it (0700 under umask 077)
    return settings


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", "-V", prog_name="overcast", message="%(prog)s %(version)s")
@click.option("--config", type=click.Path(dir_okay=False, path_type=Path), envvar="OVERCAST_CONFIG",
              help="TOML configuration file (default: none; OVERCAST_* variables still apply).")
@click.option("--data-dir", type=click.Path(file_okay=False, path_type=Path), envvar="OVERCAST_DATA_DIR",
              help="Where the database, keys and clouds.yaml live (default: .overcast).")
@click.pass_context
def main(ctx: click.Context, config: Path | None, data_dir: Path | None) -> None:
    """Overcast: the OpenStack APIs in front of any cloud."""
    ctx.obj = {"config": config, "data_dir": data_dir}


def _bootstrap(settings: Settings, *, force: bool = False):  # noqa: ANN202
    from overcast.bootstrap import bootstrap

    return bootstrap(settings, force=force)


def _try_lines(clouds: Path) -> list[str]:
    """Commands that work as printed in a fresh shell: absolute paths wherever PATH may not help."""
    openstack = _on_path_or_beside_python("openstack")
    overcast = _on_path_or_beside_python("overcast")
    lines = []
    if openstack:
        lines.append(f"try: OS_CLIENT_CONFIG_FILE={shlex.quote(str(clouds))} {openstack} --os-cloud overcast "
                     f"token issue")
    else:
        lines.append("try: pip install python-openstackclient, then "
                     f"OS_CLIENT_CONFIG_FILE={shlex.quote(str(clouds))} openstack --os-cloud overcast token issue")
    if overcast:
        lines.append(f"status: {overcast} --data-dir {shlex.quote(str(clouds.parent))} status")
    return lines


def _on_path_or_beside_python(name: str) -> str | None:
    """``name`` if a fresh shell finds this very program on PATH, else its absolute path (the one
    installed beside this Python, e.g. in the virtualenv), else None."""
    beside = Path(sys.executable).parent / name
    found = shutil.which(name, path=_FRESH_PATH)
    if beside.exists():
        if found and Path(found).resolve() == beside.resolve():
            return name
        return shlex.quote(str(beside.absolute()))
    return name if found else None


#: what a fresh login shell's PATH holds on Debian (no virtualenv activated)
_FRESH_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


def _embedded(settings: Settings) -> bool:
    """The embedded default keeps its database in the data directory (SQLite): only one server may
    use it. On PostgreSQL several API processes share one data directory (scale-out; the local
    cloud's own files are safe for several processes)."""
    return settings.database_url.startswith("sqlite")


@main.command()
@click.option("--config", "config_", type=click.Path(dir_okay=False, path_type=Path),
              help="TOML configuration file (same as the global --config).")
@click.option("--host", help="Address to listen on (default 127.0.0.1).")
@click.option("--port", type=int, help="Port to listen on (default 8780).")
@click.option("--data-dir", "data_dir_", type=click.Path(file_okay=False, path_type=Path),
              help="Data directory (same as the global --data-dir).")
@click.option("--workers", type=int, help="Server processes (default: one per CPU core).")
@click.option("--threads", type=int, help="Threads per process for blocking work (default 4).")
@click.pass_context
def serve(ctx: click.Context, config_: Path | None, data_dir_: Path | None, **server: Any) -> None:
    """Bootstrap if needed, then serve every API on one URL. Ctrl-C (or SIGTERM) stops it."""
    from overcast.serving import DataDirLock, ServeError, check_port

    from overcast.core.cdn import describe_default

    if config_:
        ctx.obj["config"] = config_
    if data_dir_:
        ctx.obj["data_dir"] = data_dir_
    settings = _settings(ctx, **server)
    workers = settings.server.workers or os.cpu_count() or 1
    lock = DataDirLock(settings.data_dir)
    try:
        check_port(settings.server.host, settings.server.port)
        if _embedded(settings):
            settings.data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
            lock.acquire(url=settings.public_url, data_dir=str(settings.data_dir.resolve()))
    except ServeError as exc:
        raise click.ClickException(str(exc)) from None
    try:
        accounts = _bootstrap(settings)
        _prepare_processes(settings)
        clouds = (settings.data_dir / "clouds.yaml").resolve()
        click.echo(f"Overcast is serving at {settings.public_url} ({workers} worker process"
                   f"{'es' if workers != 1 else ''}; Ctrl-C stops it)")
        click.echo(f"  identity: {settings.public_url}/identity (regions: {', '.join(settings.regions)})")
        for account in accounts:
            shown = account.password if sys.stdout.isatty() else "(in clouds.yaml)"
            click.echo(f"  user {account.username} / project {account.project}: password {shown}")
        click.echo(f"  clouds.yaml: {clouds}")
        click.echo(f"  cdn: {settings.public_url}/cdn/v1.0, {describe_default(settings)}")
        for line in _try_lines(clouds):
            click.echo(f"  {line}")
        sys.stdout.flush()
        code = 0
        try:
            _run_server(ctx, settings, workers)
        except SystemExit as exc:  # granian's way of saying a worker died
            code = exc.code if isinstance(exc.code, int) else 1
    finally:
        lock.release()
    # Every server process has ended: leave without tearing down the interpreter (with every module
    # imported for the server processes, that alone took seconds on a loaded machine).
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


def _prepare_processes(settings: Settings) -> None:
    """What the server processes share, set up once before they start: the configuration's fault
    rules, and the directory their metrics are added up in."""
    from overcast.core import faults

    if faults.enabled(settings):
        from overcast.core.errors import Invalid
        from overcast.store.db import Store

        store = Store(settings.database_url)
        try:
            faults.FaultBook(settings, store).sync_config()
        except Invalid as exc:
            raise click.ClickException(exc.message) from None
        finally:
            store.dispose()
    if settings.metrics.enabled:
        from overcast.api.metrics import clear_multiprocess_dir

        metrics_dir = (settings.data_dir / "metrics").resolve()
        clear_multiprocess_dir(metrics_dir)
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(metrics_dir)


def _run_server(ctx: click.Context, settings: Settings, workers: int) -> None:
    from granian import Granian
    from granian.constants import Interfaces

    from overcast.app import preload

    preload()  # imported once here, inherited by every server process granian forks

    # Server processes rebuild the same settings from the environment (overcast.wsgi).
    env = {"OVERCAST_DATA_DIR": str(settings.data_dir.resolve()),
           "OVERCAST_SERVER_HOST": settings.server.host, "OVERCAST_SERVER_PORT": str(settings.server.port)}
    if ctx.obj["config"]:
        env["OVERCAST_CONFIG"] = str(Path(ctx.obj["config"]).resolve())
    os.environ.update(env)
    try:
        Granian(
            "overcast.wsgi:application",
            factory=True,
            address=settings.server.host,
            port=settings.server.port,
            interface=Interfaces.WSGI,
            workers=workers,
            blocking_threads=settings.server.threads,
            log_level=settings.server.log_level.lower(),
            log_access=False,
            # each server process ends itself once its requests in flight are answered (overcast.serving);
            # one that has not ended this long after the stop signal is killed (granian takes a float)
            workers_kill_timeout=settings.server.stop_grace + 0.3,
        ).serve()
    finally:
        _stop_cdn_edges(settings)


def _stop_cdn_edges(settings: Settings) -> None:
    """Stop a local edge the CDN started (server processes may end without their exit handlers)."""
    from overcast.core.cdn import build_cdn

    build_cdn(settings, store=None).shutdown()  # type: ignore[arg-type] - providers need no store to stop


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address the dashboard listens on.")
@click.option("--port", default=8781, show_default=True, type=int, help="Port the dashboard listens on.")
@click.option("--workers", default=2, show_default=True, type=int, help="gunicorn worker processes.")
@click.option("--venv", type=click.Path(file_okay=False, path_type=Path), envvar="OVERCAST_DASHBOARD_VENV",
              help="Horizon's virtual environment (default: a per-user cache directory).")
@click.option("--prepare-only", is_flag=True, help="Install Horizon and write its settings, then stop.")
@click.pass_context
def dashboard(ctx: click.Context, host: str, port: int, workers: int, venv: Path | None, prepare_only: bool) -> None:
    """Serve Horizon, OpenStack's dashboard, over this Overcast (installed into its own venv on first use)."""
    from overcast.dashboard import Dashboard, DashboardError, default_venv

    board = Dashboard(_settings(ctx), venv or default_venv(), host=host, port=port, workers=workers)
    try:
        board.prepare(progress=lambda text: click.echo(text, err=True))
    except DashboardError as exc:
        raise click.ClickException(str(exc)) from None
    if prepare_only:
        click.echo(f"Horizon is ready in {board.venv}; settings in {board.settings_dir}")
        return
    click.echo(f"Horizon is serving at {board.url} (Overcast's Keystone: {board.keystone_url}); "
               f"log: {board.log_path}")
    sys.stdout.flush()
    command = board.command()
    os.execve(command[0], command, board.environ())


@main.command()
@click.option("--config", "config_", type=click.Path(dir_okay=False, path_type=Path),
              help="TOML configuration file (same as the global --config).")
@click.option("--data-dir", "data_dir_", type=click.Path(file_okay=False, path_type=Path),
              help="Data directory (same as the global --data-dir).")
@click.option("--threads", type=int, help="Worker threads (default: [ops] threads, 4).")
@click.option("--no-reconcile", is_flag=True, help="Leave reconciling to other processes.")
@click.pass_context
def worker(ctx: click.Context, config_: Path | None, data_dir_: Path | None, threads: int | None,
           no_reconcile: bool) -> None:
    """Run operation workers (and the reconciler) without the API, until SIGTERM; settings from
    the same config as `overcast serve` (the [ops] section)."""
    import dataclasses

    from overcast import logs
    from overcast.app import build_operations
    from overcast.core.compute import build_compute
    from overcast.core.identity import build_identity
    from overcast.ops.cli import run_until_signalled

    if config_:
        ctx.obj["config"] = config_
    if data_dir_:
        ctx.obj["data_dir"] = data_dir_
    settings = _settings(ctx)
    logs.configure(settings.server.log_level)
    from overcast.core.cdn import build_cdn

    identity = build_identity(settings)
    compute = build_compute(settings, identity)
    cdn = build_cdn(settings, identity.store, compute.backends)
    ops = dataclasses.replace(settings.ops, threads=threads) if threads is not None else settings.ops
    runtime = build_operations(compute, ops, cdn=cdn)
    run_until_signalled(runtime, reconcile=not no_reconcile)
    cdn.close()
    identity.store.dispose()


@main.command()
@click.option("--region", required=True, help="The region (a [clouds.NAME] with driver = \"agent\") this host serves.")
@click.option("--host", "host_name", required=True, help="This host's name (unique in the region).")
@click.option("--bus", help="Broker URL, or a reference (env:NAME, file:PATH); default: the `bus` option of the "
                            "agent region with this --region in --config, else $OVERCAST_AGENT_BUS.")
@click.option("--libvirt-uri", default="qemu:///system", show_default=True)
@click.option("--state-dir", type=click.Path(file_okay=False), help="Images, disks, consoles, network state "
              "(default /var/lib/overcast-agent/<host>); QEMU must be able to read it.")
@click.option("--zone", default="nova", show_default=True, help="Availability zone of this host.")
@click.option("--heartbeat", type=float, default=5.0, show_default=True, help="Seconds between heartbeats.")
@click.option("--domain-type", type=click.Choice(["auto", "kvm", "qemu"]), default="auto", show_default=True,
              help="kvm, qemu (TCG) or auto (KVM where the host offers it).")
@click.option("--tunnel-ip", help="This host's VXLAN endpoint address (none: a single host, no tunnel).")
@click.option("--tunnel-port", type=int, default=4789, show_default=True)
@click.option("--threads", type=int, default=8, show_default=True, help="Commands run at once.")
@click.pass_context
def agent(ctx: click.Context, region: str, host_name: str, bus: str | None, libvirt_uri: str, state_dir: str | None,
          zone: str, heartbeat: float, domain_type: str, tunnel_ip: str | None, tunnel_port: int, threads: int) -> None:
    """Run a hypervisor host's agent: registers, heartbeats and runs Overcast's commands over the bus."""
    import signal
    import threading

    from overcast import logs
    from overcast.config import resolve_reference
    from overcast.drivers.agent import region_bus
    from overcast.drivers.agent.bus import redact
    from overcast.drivers.agent.process import Agent
    from overcast.drivers.hosts.hostnet import Endpoint

    logs.configure("INFO")
    url = bus
    if url is None and ctx.obj.get("config"):
        url = region_bus(_settings(ctx).clouds, region)
    url = url or os.environ.get("OVERCAST_AGENT_BUS")
    if not url:
        raise click.ClickException("no message bus: give --bus, the region's `bus` option, or OVERCAST_AGENT_BUS")
    try:
        url = resolve_reference(url)
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None
    tunnel = Endpoint(host_name, tunnel_ip, tunnel_port) if tunnel_ip else None
    running = Agent(region=region, host=host_name, bus_url=url, libvirt_uri=libvirt_uri,
                    state_dir=state_dir or f"/var/lib/overcast-agent/{host_name}", zone=zone, heartbeat=heartbeat,
                    domain_type=domain_type, tunnel=tunnel, threads=threads)
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    running.start()
    click.echo(f"overcast agent: host {host_name} of region {region} on {redact(url)}, libvirt {libvirt_uri}",
               err=True)
    stop.wait()
    running.stop()


@main.command()
@click.pass_context
def bootstrap(ctx: click.Context) -> None:
    """Create keys, schema, the default domain, roles and the DevStack accounts (idempotent)."""
    settings = _settings(ctx)
    accounts = _bootstrap(settings, force=True)
    click.echo(f"bootstrapped {', '.join(a.username for a in accounts)}; "
               f"clouds.yaml at {(settings.data_dir / 'clouds.yaml').resolve()}")


def _state_call(ctx: click.Context, action):  # noqa: ANN001, ANN202
    """Run ``action(settings, store)`` on an existing data directory; core errors become messages."""
    from overcast.core.errors import OvercastError
    from overcast.store.db import Store

    settings = _settings(ctx)
    _existing_data_dir(settings, "clouds.yaml")
    store = Store(settings.database_url)
    try:
        return action(settings, store)
    except OvercastError as exc:
        raise click.ClickException(exc.message) from None
    finally:
        store.dispose()


@main.command()
@click.pass_context
def reset(ctx: click.Context) -> None:
    """Put the data directory back to what the first start made (a running server keeps serving)."""
    from overcast.core import state

    took = _state_call(ctx, state.reset)
    click.echo(f"reset {_settings(ctx).data_dir.absolute()} to its bootstrap state in {took:.2f} s")


@main.group("state")
def state_group() -> None:
    """Saved states of the data directory: save one, load it later (while a server runs)."""


@state_group.command("save")
@click.argument("name")
@click.pass_context
def state_save(ctx: click.Context, name: str) -> None:
    """Save everything the data directory holds now as NAME (replacing a state of that name)."""
    from overcast.core import state

    info = _state_call(ctx.parent, lambda settings, store: state.save(settings, store, name))
    click.echo(f"saved state {info.name} ({info.rows} rows)")


@state_group.command("load")
@click.argument("name")
@click.pass_context
def state_load(ctx: click.Context, name: str) -> None:
    """Put the data directory back in state NAME."""
    from overcast.core import state

    took = _state_call(ctx.parent, lambda settings, store: state.load(settings, store, name))
    click.echo(f"loaded state {name} in {took:.2f} s")


@state_group.command("list")
@click.pass_context
def state_list(ctx: click.Context) -> None:
    """The saved states."""
    from overcast.core import state

    for info in _state_call(ctx.parent, lambda settings, store: state.states(settings)):
        when = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(info.saved_at))
        click.echo(f"{info.name:24} {when}  {info.rows} rows")


@state_group.command("delete")
@click.argument("name")
@click.pass_context
def state_delete(ctx: click.Context, name: str) -> None:
    """Delete the saved state NAME."""
    from overcast.core import state

    _state_call(ctx.parent, lambda settings, store: state.delete(settings, name))
    click.echo(f"deleted state {name}")


@main.group()
def db() -> None:
    """Database schema commands."""


@db.command("upgrade")
@click.pass_context
def db_upgrade(ctx: click.Context) -> None:
    """Apply every pending Alembic migration."""
    from overcast.store.db import Store

    settings = _settings(ctx.parent)
    store = Store(settings.database_url)
    store.upgrade(settings.regions[0])
    store.dispose()
    click.echo("database is at the newest revision")


@main.group()
def keys() -> None:
    """Fernet key repository commands."""


@keys.command("rotate")
@click.option("--credentials", is_flag=True,
              help="Rotate the credential encryption keys instead, re-encrypting every stored credential.")
@click.pass_context
def keys_rotate(ctx: click.Context, credentials: bool) -> None:
    """Promote the staged key to primary, stage a new one, drop the oldest (Keystone's rotation)."""
    from overcast.core.identity import build_identity
    from overcast.core.identity.credentials import reencrypt_all

    identity = build_identity(_settings(ctx.parent))
    repo = identity.credentials.keys if credentials else identity.tokens.keys
    repo.setup()
    primary = repo.rotate()
    if credentials:
        with identity.store.session() as session:
            count = reencrypt_all(session, identity.credentials)
        click.echo(f"re-encrypted {count} credentials")
    identity.store.dispose()
    click.echo(f"primary key is now {primary}")


def _existing_data_dir(settings: Settings, needs: str) -> Path:
    """The data directory of a read-only command, which never creates one.

    :raises click.ClickException: it (or ``needs`` in it) does not exist; says where it looked.
    """
    data_dir = settings.data_dir
    source = ("--data-dir" if click.get_current_context().find_root().params.get("data_dir") is not None
              else "OVERCAST_DATA_DIR" if os.environ.get("OVERCAST_DATA_DIR") else
              "the default, .overcast in the current directory")
    if not (data_dir / needs).exists():
        raise click.ClickException(
            f"no Overcast data directory with {needs} at {data_dir.absolute()} (from {source}); "
            f"start a server there with `overcast serve`, or point --data-dir at the one it made")
    return data_dir


@main.command("clouds-yaml")
@click.pass_context
def clouds_yaml(ctx: click.Context) -> None:
    """Print the clouds.yaml of an existing data directory (never creates one)."""
    settings = _settings(ctx)
    data_dir = _existing_data_dir(settings, "clouds.yaml")
    click.echo((data_dir / "clouds.yaml").read_text(), nl=False)


@main.command()
@click.pass_context
def status(ctx: click.Context) -> None:
    """Whether a server serves this data directory, where, and what it holds (reads only)."""
    from overcast.serving import read_lock

    settings = _settings(ctx)
    data_dir = settings.data_dir
    click.echo(f"data directory: {data_dir.absolute()}" + ("" if data_dir.exists() else " (does not exist)"))
    holder = read_lock(data_dir) if data_dir.exists() else None
    if holder is None:
        click.echo("server: not running")
    else:
        url = holder.get("url") or settings.public_url
        since = holder.get("started")
        uptime = f", up {_duration(time.time() - since)}" if since else ""
        answer = _probe(url)
        click.echo(f"server: running, pid {holder.get('pid', '?')}{uptime}, {url} ({answer})")
    if (data_dir / "clouds.yaml").exists():
        click.echo(f"clouds.yaml: {(data_dir / 'clouds.yaml').absolute()}")
    click.echo(f"database: {_safe_url(settings.database_url)}")
    click.echo(f"regions: {', '.join(f'{c.name} ({c.driver})' for c in settings.clouds)}")
    saved = sorted(p.name for p in (data_dir / "states").iterdir()
                   if not p.name.startswith((".", "_"))) if (data_dir / "states").is_dir() else []
    if saved:
        click.echo(f"saved states: {', '.join(saved)}")
    ctx.exit(0 if holder is not None else 3)


def _duration(seconds: float) -> str:
    seconds = int(max(0, seconds))
    hours, rest = divmod(seconds, 3600)
    return f"{hours}h{rest // 60:02d}m" if hours else f"{rest // 60}m{rest % 60:02d}s"


def _probe(url: str) -> str:
    import urllib.error
    import urllib.request

    try:
        with urllib.request.urlopen(url + "/", timeout=2) as resp:  # noqa: S310 - our own URL
            return f"answers {resp.status}"
    except urllib.error.HTTPError as exc:
        return f"answers {exc.code}"
    except OSError as exc:
        return f"does not answer: {getattr(exc, 'reason', exc)}"


def _safe_url(url: str) -> str:
    """A database URL without its password."""
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return urlunsplit(parts._replace(netloc=netloc))


@main.command()
@click.option("--service", help="Only this service (identity, compute, ...).")
@click.option("--region", help="Only this region's capabilities (a configured cloud's name).")
@click.pass_context
def coverage(ctx: click.Context, service: str | None, region: str | None) -> None:
    """List every named endpoint and whether Overcast implements it, and what each region's driver
    offers (reads and writes nothing)."""
    import tempfile

    from overcast.app import create_app
    from overcast.config import DatabaseSettings
    from overcast.drivers.compute import ComputeDriver
    from overcast.drivers.registry import FAMILIES

    settings = _settings(ctx)
    with tempfile.TemporaryDirectory(prefix="overcast-coverage-") as scratch:
        # The drivers are loaded to ask what they state; against a scratch directory and database,
        # so the command never creates or touches a data directory.
        app = create_app(settings.replace(data_dir=Path(scratch), database=DatabaseSettings()))
        try:
            registry = app.registry
            rows = registry.endpoints(service)
            done = 0
            for endpoint in rows:
                ok = registry.is_implemented(endpoint)
                done += ok
                mark = "yes" if ok else "NO "
                click.echo(f"{mark}  {endpoint.service:9} {endpoint.name:34} "
                           f"{','.join(sorted(endpoint.methods)):28} {endpoint.path}")
            click.echo(f"{done}/{len(rows)} endpoints implemented")
            click.echo("\ncapabilities by region (what each cloud's drivers state they support):")
            clouds = app.compute.clouds
            if region is not None and region not in clouds:
                raise click.BadParameter(f"no region {region!r}; configured: {', '.join(clouds)}",
                                         param_hint="--region")
            for name, cloud in clouds.items() if region is None else [(region, clouds[region])]:
                offered = cloud.capabilities()
                for family in FAMILIES:
                    if family not in offered:
                        text = (f"served by Overcast (Glance v2, image data in the {settings.image.store} store)"
                                if family == "image" else "not offered")
                        click.echo(f"  {name:14} {cloud.name:10} {family:8} {text}")
                        continue
                    stated, every = offered[family]
                    missing = sorted(every - stated)
                    text = (f"{len(every & stated)}/{len(every)}"
                            + (f"; lacks {', '.join(missing)}" if missing else ""))
                    click.echo(f"  {name:14} {cloud.name:10} {family:8} {text}")
                if cloud.compute is not None:
                    own = type(cloud.compute).images is not ComputeDriver.images
                    click.echo(f"  {name:14} {cloud.name:10} images   "
                               + ("the backend's own, listed in the region" if own else "Overcast's image store")
                               + ("; boots Overcast's images" if cloud.compute.boots_overcast_images
                                  else "; boots only the backend's images"))
                if cloud.network is not None:
                    click.echo(f"  {name:14} {cloud.name:10} addresses owned by {cloud.network.addresses.value}")
                if cloud.volume is not None and cloud.volume.backup_location:
                    click.echo(f"  {name:14} {cloud.name:10} backups  {cloud.volume.backup_service}: "
                               f"{cloud.volume.backup_location}")
        finally:
            app.compute.close()
            app.identity.store.dispose()
