"""The ``overcast`` command: serve, dashboard, bootstrap, db upgrade, keys rotate, clouds-yaml, coverage."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import click

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
    make_private(settings.data_dir)
    return settings


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--config", type=click.Path(dir_okay=False, path_type=Path), envvar="OVERCAST_CONFIG",
              help="TOML configuration file (default: none; OVERCAST_* variables still apply).")
@click.option("--data-dir", type=click.Path(file_okay=False, path_type=Path), envvar="OVERCAST_DATA_DIR",
              help="Where the database, keys and clouds.yaml live (default: .overcast).")
@click.pass_context
def main(ctx: click.Context, config: Path | None, data_dir: Path | None) -> None:
    """Overcast: the OpenStack APIs in front of any cloud."""
    ctx.obj = {"config": config, "data_dir": data_dir}


def _bootstrap(settings: Settings):  # noqa: ANN202
    from overcast.bootstrap import bootstrap

    return bootstrap(settings)


@main.command()
@click.option("--config", "config_", type=click.Path(dir_okay=False, path_type=Path),
              help="TOML configuration file (same as the global --config).")
@click.option("--host", help="Address to listen on (default 127.0.0.1).")
@click.option("--port", type=int, help="Port to listen on (default 8780).")
@click.option("--data-dir", "data_dir_", type=click.Path(file_okay=False, path_type=Path),
              help="Data directory (same as the global --data-dir).")
@click.option("--workers", type=int, help="Server processes (default 1).")
@click.option("--threads", type=int, help="Threads per process for blocking work (default 4).")
@click.pass_context
def serve(ctx: click.Context, config_: Path | None, data_dir_: Path | None, **server: Any) -> None:
    """Bootstrap if needed, then serve every API on one URL."""
    from granian import Granian
    from granian.constants import Interfaces

    if config_:
        ctx.obj["config"] = config_
    if data_dir_:
        ctx.obj["data_dir"] = data_dir_
    settings = _settings(ctx, **server)
    accounts = _bootstrap(settings)
    clouds = (settings.data_dir / "clouds.yaml").resolve()
    click.echo(f"Overcast is serving at {settings.public_url}")
    click.echo(f"  identity: {settings.public_url}/identity (regions: {', '.join(settings.regions)})")
    for account in accounts:
        shown = account.password if sys.stdout.isatty() else "(in clouds.yaml)"
        click.echo(f"  user {account.username} / project {account.project}: password {shown}")
    click.echo(f"  clouds.yaml: {clouds}")
    click.echo(f"  try: OS_CLIENT_CONFIG_FILE={clouds} openstack --os-cloud overcast token issue", nl=True)
    sys.stdout.flush()

    # Server processes rebuild the same settings from the environment (overcast.wsgi).
    env = {"OVERCAST_DATA_DIR": str(settings.data_dir.resolve()),
           "OVERCAST_SERVER_HOST": settings.server.host, "OVERCAST_SERVER_PORT": str(settings.server.port)}
    if ctx.obj["config"]:
        env["OVERCAST_CONFIG"] = str(Path(ctx.obj["config"]).resolve())
    os.environ.update(env)
    Granian(
        "overcast.wsgi:application",
        factory=True,
        address=settings.server.host,
        port=settings.server.port,
        interface=Interfaces.WSGI,
        workers=settings.server.workers,
        blocking_threads=settings.server.threads,
        log_level=settings.server.log_level.lower(),
        log_access=False,
    ).serve()


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
    identity = build_identity(settings)
    ops = dataclasses.replace(settings.ops, threads=threads) if threads is not None else settings.ops
    runtime = build_operations(build_compute(settings, identity), ops)
    run_until_signalled(runtime, reconcile=not no_reconcile)
    identity.store.dispose()


@main.command()
@click.option("--region", required=True, help="The region (a [clouds.NAME] with driver = \"agent\") this host serves.")
@click.option("--host", "host_name", required=True, help="This host's name (unique in the region).")
@click.option("--bus", help="Broker URL, or a reference (env:NAME, file:PATH); default: the region's `bus` option "
                            "in --config, else $OVERCAST_AGENT_BUS.")
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
    from overcast.drivers.agent.bus import redact
    from overcast.drivers.agent.process import Agent
    from overcast.drivers.hosts.hostnet import Endpoint

    logs.configure("INFO")
    url = bus
    if url is None and ctx.obj.get("config"):
        settings = _settings(ctx)
        for cloud in settings.clouds:
            if cloud.name == region:
                url = cloud.options.get("bus")
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
    accounts = _bootstrap(settings)
    click.echo(f"bootstrapped {', '.join(a.username for a in accounts)}; "
               f"clouds.yaml at {(settings.data_dir / 'clouds.yaml').resolve()}")


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


@main.command("clouds-yaml")
@click.pass_context
def clouds_yaml(ctx: click.Context) -> None:
    """Print the clouds.yaml for this data directory (bootstrapping first if needed)."""
    settings = _settings(ctx)
    _bootstrap(settings)
    click.echo((settings.data_dir / "clouds.yaml").read_text(), nl=False)


@main.command()
@click.option("--service", help="Only this service (identity, compute, ...).")
@click.pass_context
def coverage(ctx: click.Context, service: str | None) -> None:
    """List every named endpoint and whether Overcast implements it."""
    from overcast.app import create_app
    from overcast.drivers.registry import FAMILIES

    app = create_app(_settings(ctx))
    registry = app.registry
    rows = registry.endpoints(service)
    done = 0
    for endpoint in rows:
        ok = registry.is_implemented(endpoint)
        done += ok
        mark = "yes" if ok else "NO "
        click.echo(f"{mark}  {endpoint.service:9} {endpoint.name:34} {','.join(sorted(endpoint.methods)):28} "
                   f"{endpoint.path}")
    click.echo(f"{done}/{len(rows)} endpoints implemented")
    click.echo("\ncapabilities by region (what each cloud's drivers state they support):")
    for region, cloud in app.compute.clouds.items():
        offered = cloud.capabilities()
        for family in FAMILIES:
            if family not in offered:
                click.echo(f"  {region:14} {cloud.name:10} {family:8} not offered")
                continue
            stated, every = offered[family]
            missing = sorted(every - stated)
            text = f"{len(every & stated)}/{len(every)}" + (f"; lacks {', '.join(missing)}" if missing else "")
            click.echo(f"  {region:14} {cloud.name:10} {family:8} {text}")
