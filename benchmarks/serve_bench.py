"""Load on the download page: `handouts serve` on loopback, bounded concurrent requests.

    python benchmarks/serve_bench.py [--workers 2] [--requests 200] [--concurrency 4 16]

Two kinds of request, each at every concurrency level, `--requests` each, then it stops:
- cached: GET /download for the six drug sheets (made once before timing starts);
- personalised: POST /personalised, a drug sheet with a name, rendered on demand.
Prints p50/p95/max latency, errors (anything but 200) and the server's memory (VmRSS of
the server and its worker processes) before and after.
"""

from __future__ import annotations

import argparse
import http.client
import os
import signal
import socket
import statistics
import subprocess
import sys
import time
import urllib.parse
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DRUGS = ["alectinib", "brigatinib", "ceritinib", "crizotinib", "ensartinib", "lorlatinib"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def own_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def rss_mb(pid: int) -> float:
    """VmRSS of a process and all its descendants, in MB."""
    parents: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            ppid = int(stat.rsplit(")", 1)[1].split()[1])
            parents.setdefault(ppid, []).append(int(entry))
    total, todo = 0, [pid]
    while todo:
        current = todo.pop()
        todo += parents.get(current, [])
        try:
            for line in Path(f"/proc/{current}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            pass
    return total / 1024


def request(port: int, method: str, path: str, body: str | None = None) -> tuple[float, int]:
    started = time.perf_counter()
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    try:
        headers = {"Content-Type": "application/x-www-form-urlencoded"} if body else {}
        connection.request(method, path, body=body, headers=headers)
        response = connection.getresponse()
        data = response.read()
        status = response.status if data.startswith(b"%PDF-") else -response.status
    except OSError:
        status = 0
    finally:
        connection.close()
    return time.perf_counter() - started, status


def cached(port: int, n: int) -> tuple[float, int]:
    return request(port, "GET", f"/download?kind=drug-sheet&drug={DRUGS[n % len(DRUGS)]}")


def personalised(port: int, n: int) -> tuple[float, int]:
    form = {"kind": "drug-sheet", "drug": DRUGS[n % len(DRUGS)], "patient": f"Test Patient {n}"}
    return request(port, "POST", "/personalised", urllib.parse.urlencode(form))


def run(port: int, call, concurrency: int, count: int) -> dict:
    started = time.perf_counter()
    with ThreadPoolExecutor(concurrency) as pool:
        results = list(pool.map(lambda n: call(port, n), range(count)))
    elapsed = time.perf_counter() - started
    times = sorted(t for t, _ in results)
    return {"p50": statistics.median(times), "p95": times[int(0.95 * (len(times) - 1))],
            "max": times[-1], "errors": sum(status != 200 for _, status in results),
            "rate": count / elapsed}


def start_server(workers: int, port: int) -> subprocess.Popen:
    handouts = Path(sys.executable).with_name("handouts")
    process = subprocess.Popen(
        [str(handouts), "serve", "--clinic", str(ROOT / "packs" / "example-clinic.yaml"),
         "--port", str(port), "--workers", str(workers)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while request(port, "GET", "/")[1] != -200:  # the page is HTML, not a PDF
        if process.poll() is not None or time.monotonic() > deadline:
            raise SystemExit("the server did not start")
        time.sleep(0.2)
    return process


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--concurrency", type=int, nargs="+", default=[4, 16])
    args = parser.parse_args()

    port = free_port()
    server = start_server(args.workers, port)
    try:
        for n in range(len(DRUGS)):  # make the cached PDFs, and let the workers warm up
            assert cached(port, n)[1] == 200 and personalised(port, n)[1] == 200
        print(f"handouts serve --workers {args.workers}: {os.cpu_count()} CPUs, "
              f"Python {sys.version.split()[0]}")
        print(f"RSS after warm-up: {rss_mb(server.pid):.0f} MB in all, of which the server "
              f"process {own_rss_mb(server.pid):.0f} MB")
        print(f"{'request':<13} {'concurrent':>10} {'n':>5} {'p50 ms':>8} {'p95 ms':>8} "
              f"{'max ms':>8} {'errors':>6} {'req/s':>7} {'RSS MB':>7}")
        for name, call in (("cached", cached), ("personalised", personalised)):
            for concurrency in args.concurrency:
                r = run(port, call, concurrency, args.requests)
                print(f"{name:<13} {concurrency:>10} {args.requests:>5} {r['p50'] * 1e3:>8.1f} "
                      f"{r['p95'] * 1e3:>8.1f} {r['max'] * 1e3:>8.1f} {r['errors']:>6} "
                      f"{r['rate']:>7.1f} {rss_mb(server.pid):>7.0f}")
        print(f"RSS at the end: {rss_mb(server.pid):.0f} MB in all, of which the server "
              f"process {own_rss_mb(server.pid):.0f} MB")
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)


if __name__ == "__main__":
    main()
