#!/usr/bin/env python3
"""Image data throughput and memory: upload and download through a live ``overcast serve`` against
a plain file copy on the same disk (so the figure is a ratio), and the server's peak RSS growth.

    .venv/bin/python benchmarks/image.py                 # 2 GiB
    .venv/bin/python benchmarks/image.py --size-mib 256

The image is generated on the fly (never held in memory by the client either) and sent with
chunked transfer encoding; the download is streamed and hashed. The baseline writes the same
bytes to a file and copies it (``shutil.copyfile``) in the server's data directory.
"""

from __future__ import annotations

import argparse
import hashlib
import shutil
import sys
import tempfile
import time
from pathlib import Path

import psutil
import requests

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from overcast.testing.data import MIB, generated  # noqa: E402
from overcast.testing.live import LiveServer, sdk_connect  # noqa: E402


def hwm(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    return 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size-mib", type=int, default=2048)
    args = parser.parse_args()
    size = args.size_mib * MIB
    with tempfile.TemporaryDirectory(prefix="overcast-bench-image-") as tmp, LiveServer(Path(tmp) / "data") as server:
        conn = sdk_connect(server.clouds_yaml, "overcast")
        endpoint = conn.image.get_endpoint().rstrip("/")
        endpoint += "" if endpoint.endswith("/v2") else "/v2"
        headers = {"X-Auth-Token": conn.session.get_token()}
        main_proc = psutil.Process(server.process.pid)
        worker = (main_proc.children(recursive=True) or [main_proc])[-1]
        rss_before = worker.memory_info().rss

        image = conn.image.create_image(name="bench", disk_format="raw", container_format="bare")
        started = time.perf_counter()
        resp = requests.put(f"{endpoint}/images/{image.id}/file", data=generated(size), timeout=3600,
                            headers={**headers, "Content-Type": "application/octet-stream"})
        resp.raise_for_status()
        upload = time.perf_counter() - started

        started = time.perf_counter()
        digest = hashlib.md5()
        with requests.get(f"{endpoint}/images/{image.id}/file", headers=headers, stream=True, timeout=3600) as r:
            r.raise_for_status()
            for piece in r.iter_content(MIB):
                digest.update(piece)
        download = time.perf_counter() - started
        growth = hwm(worker.pid) - rss_before
        conn.image.delete_image(image)

        # baseline: the same bytes written to a file, and a file copy, on the same disk
        source, copy = Path(tmp) / "data" / "baseline.src", Path(tmp) / "data" / "baseline.dst"
        started = time.perf_counter()
        with open(source, "wb") as out:
            for piece in generated(size):
                out.write(piece)
        write_time = time.perf_counter() - started
        started = time.perf_counter()
        shutil.copyfile(source, copy)
        copy_time = time.perf_counter() - started
        conn.close()

    mib = size / MIB
    print(f"image size                 {mib:.0f} MiB")
    print(f"upload (chunked, PUT /file) {mib / upload:8.1f} MiB/s  ({upload:.1f} s)")
    print(f"download (GET /file)       {mib / download:8.1f} MiB/s  ({download:.1f} s)")
    print(f"baseline write              {mib / write_time:8.1f} MiB/s  ({write_time:.1f} s)")
    print(f"baseline copy               {mib / copy_time:8.1f} MiB/s  ({copy_time:.1f} s)")
    print(f"upload / baseline write     {write_time / upload:.2f}")
    print(f"download / baseline copy    {copy_time / download:.2f}")
    print(f"server peak RSS growth      {growth / MIB:.1f} MiB")


if __name__ == "__main__":
    main()
