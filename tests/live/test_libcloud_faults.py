"""Fault drills for a libcloud region (issue 11): moto stopped mid-run, an instance terminated
behind Overcast's back. Driven with the unmodified ``openstack`` CLI; moto is checked with boto3."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from overcast.testing.emulators import MotoServer
from overcast.testing.live import LiveServer, wait_for
from forked_cli import OpenStackCLI

pytestmark = pytest.mark.live

AMI_NAME = "amzn2-ami-hvm-2.0.20180810-x86_64-gp2"
WAIT = 90.0


@pytest.fixture(scope="module")
def moto() -> Iterator[MotoServer]:
    server = MotoServer().start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def region(moto: MotoServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    root = tmp_path_factory.mktemp("libcloud-faults")
    config = root / "overcast.toml"
    config.write_text(f"""
[ops]
reconcile_interval = 1

[clouds.RegionOne]
driver = "local"

[clouds.aws]
driver = "libcloud"
provider = "ec2"
key = "AKIAFAULTDRILL"
secret = "fault-drill-secret"
region = "us-east-1"
endpoint = "{moto.endpoint}"
emulator = "moto"
sizes = ["t2.*"]
images = {{ owners = ["amazon"], name = "{AMI_NAME}" }}

[clouds.aws.ops]
breaker_threshold = 2
breaker_reset_seconds = 15
attempts = 2
""")
    with LiveServer(root / "data", config=config, startup_timeout=180) as server:
        yield server


@pytest.fixture(scope="module")
def cli(region: LiveServer) -> OpenStackCLI:
    admin = OpenStackCLI(region.clouds_yaml, "overcast-admin")
    admin("flavor", "create", "--id", "t2.micro", "--vcpus", "1", "--ram", "1024", "--disk", "0", "t2.micro")
    demo = OpenStackCLI(region.clouds_yaml, "overcast")
    wait_for(lambda: [i for i in demo("--os-region-name", "aws", "image", "list") if i["Name"] == AMI_NAME],
             WAIT, description="the AMI in region aws")
    return demo


def create(cli: OpenStackCLI, name: str, *more: str):  # noqa: ANN201
    return cli.run("--os-region-name", "aws", "server", "create", "--flavor", "t2.micro", "--image", AMI_NAME,
                   "--nic", "none", *more, name, check=False)


def status(cli: OpenStackCLI, name: str) -> str:
    shown = cli.run("--os-region-name", "aws", "server", "show", "-f", "value", "-c", "status", name, check=False)
    return shown.stdout.strip() if shown.returncode == 0 else "GONE"


def test_moto_down_fails_fast_other_regions_keep_working_and_it_heals(moto: MotoServer, cli: OpenStackCLI) -> None:
    before = f"up-{uuid.uuid4().hex[:6]}"
    assert create(cli, before, "--wait").returncode == 0
    moto.stop()
    try:
        attempts: list[str] = []

        def refused() -> bool:
            name = f"down-{uuid.uuid4().hex[:6]}"
            attempts.append(name)
            answer = create(cli, name)
            if answer.returncode == 0:
                return False
            assert "503" in answer.stderr or "unavailable" in answer.stderr.lower(), answer.stderr
            return True

        wait_for(refused, WAIT, interval=0.5, description="a create in aws answered 503 (breaker open)")
        # reads of aws (from records) and everything in the other region keep working
        assert before in {s["Name"] for s in cli("--os-region-name", "aws", "server", "list")}
        assert cli("--os-region-name", "aws", "flavor", "list")
        other = f"other-{uuid.uuid4().hex[:6]}"
        made = cli("--os-region-name", "RegionOne", "server", "create", "--flavor", "m1.tiny", "--image", "cirros",
                   "--nic", "none", "--wait", other)
        assert made["status"] == "ACTIVE"
        cli.run("--os-region-name", "RegionOne", "server", "delete", "--wait", other)
    finally:
        moto.start()
    # moto is back (on the same port, empty): creates succeed again, no restart of Overcast
    healed = f"healed-{uuid.uuid4().hex[:6]}"

    def created() -> bool:
        return create(cli, healed).returncode == 0

    wait_for(created, WAIT, interval=0.5, description="a create in aws accepted again")
    wait_for(lambda: status(cli, healed) == "ACTIVE", WAIT, interval=0.5, description="the new server ACTIVE")
    instances = moto.ec2().describe_instances(Filters=[{"Name": "tag:Name", "Values": [healed]}])["Reservations"]
    assert len(instances) == 1


def test_instance_terminated_in_moto_shows_after_reconciliation(moto: MotoServer, cli: OpenStackCLI) -> None:
    name = f"victim-{uuid.uuid4().hex[:6]}"
    wait_for(lambda: create(cli, name, "--wait").returncode == 0, WAIT, interval=1.0, description="a server")
    ec2 = moto.ec2()
    found = ec2.describe_instances(Filters=[{"Name": "tag:Name", "Values": [name]}])["Reservations"]
    instance_id = found[0]["Instances"][0]["InstanceId"]
    ec2.terminate_instances(InstanceIds=[instance_id])
    wait_for(lambda: status(cli, name) in ("ERROR", "DELETED", "GONE"), WAIT, interval=0.5,
             description="the server marked lost after reconciliation")


CRASH_CREATES = 50


def test_kill_dash_nine_during_50_creates_leaves_one_instance_each(moto: MotoServer, region: LiveServer,
                                                                   cli: OpenStackCLI) -> None:
    """kill -9 Overcast while 50 creates in ``aws`` are under way; after a restart every accepted
    server settles, and moto holds exactly one instance per accepted server (no duplicate from a
    build resumed after the crash: ClientToken plus the tag)."""
    import os
    import signal
    import threading
    from collections import Counter
    from concurrent.futures import ThreadPoolExecutor

    import requests
    from test_crash_safety import _all_servers, _session  # the RegionOne drill's helpers

    demo = _session(region, "overcast")
    url = demo.get_endpoint(service_type="compute", interface="public", region_name="aws").rstrip("/")
    admin = _session(region, "overcast-admin")
    admin_url = admin.get_endpoint(service_type="compute", interface="public", region_name="aws").rstrip("/")
    project = demo.get_project_id()
    assert admin.put(f"{admin_url}/os-quota-sets/{project}", raise_exc=False, json={"quota_set": {
        "instances": 1000, "cores": 1000, "ram": 1000 * 4096}}).status_code == 200
    image = next(i for i in cli("--os-region-name", "aws", "image", "list") if i["Name"] == AMI_NAME)["ID"]
    token = demo.get_token()
    accepted: list[str] = []
    lock = threading.Lock()
    half = threading.Event()
    tag = uuid.uuid4().hex[:6]

    def create(i: int) -> None:
        body = {"server": {"name": f"crash-{tag}-{i:02d}", "flavorRef": "t2.micro", "imageRef": image,
                           "networks": "none"}}
        try:
            resp = requests.post(f"{url}/servers", json=body, timeout=30, headers={
                "X-Auth-Token": token, "X-OpenStack-Nova-API-Version": "2.37"})
        except requests.RequestException:
            return
        if resp.status_code == 202:
            with lock:
                accepted.append(resp.json()["server"]["id"])
                if len(accepted) >= CRASH_CREATES // 2:
                    half.set()

    with ThreadPoolExecutor(max_workers=8) as pool:
        futures = [pool.submit(create, i) for i in range(CRASH_CREATES)]
        assert half.wait(120), "too few creates were accepted"
        assert region.process is not None
        os.killpg(region.process.pid, signal.SIGKILL)
        region.process.wait(10)
        for future in futures:
            future.result(timeout=60)
    region.restart()
    token = _session(region, "overcast").get_token()
    # the servers the drill made: the accepted ones, and any whose 202 the kill cut off (its record
    # and build were committed before the kill; the build resumes after the restart)
    last: dict[str, str] = {}
    faults: dict[str, str] = {}

    def settled() -> bool:
        nonlocal last
        mine = [s for s in _all_servers(url, token) if s["name"].startswith(f"crash-{tag}-")]
        last = {s["id"]: s["status"] for s in mine}
        faults.update({s["id"]: str(s.get("fault", {}).get("message")) for s in mine if s["status"] == "ERROR"})
        return set(accepted) <= set(last) and all(status in ("ACTIVE", "ERROR") for status in last.values())

    wait_for(settled, 240, interval=0.5, max_interval=2.0, description="every accepted server settled",
             on_timeout=lambda: str(Counter(last.get(s, "MISSING") for s in accepted)))
    active = [sid for sid, status in last.items() if status == "ACTIVE"]
    reservations = moto.ec2().describe_instances(Filters=[
        {"Name": "tag:Name", "Values": [f"crash-{tag}-*"]},
        {"Name": "instance-state-name", "Values": ["pending", "running"]}])["Reservations"]
    made = [i for r in reservations for i in r["Instances"]]
    per_key = Counter(t["Value"] for i in made for t in i["Tags"] if t["Key"] == "overcast:key")
    assert not [k for k, n in per_key.items() if n > 1], f"instances made twice: {per_key}"
    assert len(made) == len(active), f"{len(made)} instances in moto for {len(active)} ACTIVE servers " \
                                     f"({len(accepted)} accepted, {len(last)} made; faults seen: {Counter(faults.values())})"
    print(f"crash drill: {len(accepted)} of {CRASH_CREATES} accepted before/around the kill, "
          f"{len(active)} ACTIVE, {len(made)} instances in moto")
