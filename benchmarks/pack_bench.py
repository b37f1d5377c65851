"""Pack throughput: one run, the same 60 handouts, four ways. Prints figures and ratios.

    python benchmarks/pack_bench.py                 # full run (a few minutes on 2 cores)
    python benchmarks/pack_bench.py --renders 1000  # also check memory over 1000 renders

(a) a shell loop calling `handouts build` once per handout (a new process each time),
(b) `handouts pack` with 1 worker, (c) with one worker per CPU, (d) a no-change re-run.
(e) Chromium through Playwright is measured only where Debian's chromium and PyPI's
playwright are installed; otherwise it is skipped with a note.
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from handouts.build import Builder
from handouts.options import Options
from handouts.pack import Job, load_pack, run_pack

DRUGS = ["alectinib", "brigatinib", "ceritinib", "crizotinib", "ensartinib", "lorlatinib"]
PACK = """items:
  - kinds: [faq]
  - kinds: [questions]
  - kinds: [drug-sheet]
    drugs: all
defaults:
  papers: [letter, a4]
  profiles: [standard, large-print]
patients: patients.csv
"""


def write_bench_pack(folder: Path) -> Path:
    rows = ["name,drug,prescriber,date,paper"]
    rows += [f"Patient {n},{DRUGS[n % 6]},Dr. Lee,2026-12-01,letter" for n in range(28)]
    (folder / "patients.csv").write_text("\n".join(rows) + "\n")
    (folder / "pack.yaml").write_text(PACK)
    return folder / "pack.yaml"


def build_command(job: Job, out: Path) -> list[str]:
    exe = str(Path(sys.executable).with_name("handouts"))
    command = [exe, "build", *job.kinds, "--paper", job.paper, "--profile", job.profile,
               "-o", str(out / job.name)]
    if job.drug:
        command += ["--drug", job.drug]
    if job.patient:
        command += ["--patient", job.patient, "--prescriber", job.prescriber or ""]
    return command


CHROMIUM = "/usr/bin/chromium"
# Flags that keep Chromium off the network (this machine's network is closed) and quiet.
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]


def chromium_seconds(jobs: list[Job], out: Path) -> float | None:
    """(e): the same HTML our pack renders, printed to tagged PDFs by one warm Chromium.

    The HTML is made first (not timed), so this times only the browser's layout and PDF
    writing, as a user who swapped WeasyPrint for Chromium would run it: one browser kept
    open, one page reused, jobs one after another. None when Chromium or Playwright is absent.
    """
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        return None
    if not Path(CHROMIUM).is_file():
        return None
    builder = Builder()
    out.mkdir()
    pages = []
    for number, job in enumerate(jobs):
        html = out / f"{number}.html"
        html.write_text(builder.html(builder.plan(list(job.kinds), job.drug), job.options()))
        pages.append((html, "A4" if job.paper == "a4" else "Letter"))
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page()
        page.goto(pages[0][0].as_uri())  # warm-up: start the renderer, load the fonts
        page.pdf(format=pages[0][1])
        started = time.perf_counter()
        for number, (html, paper) in enumerate(pages):
            page.goto(html.as_uri())
            page.pdf(path=out / f"{number}.pdf", format=paper, print_background=True,
                     prefer_css_page_size=True, tagged=True, outline=True)
        seconds = time.perf_counter() - started
        browser.close()
    return seconds


def timed(label: str, func) -> float:
    started = time.perf_counter()
    func()
    seconds = time.perf_counter() - started
    print(f"  {label:<44} {seconds:7.1f} s", flush=True)
    return seconds


def children_peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024


def memory_over_renders(count: int) -> tuple[float, float]:
    """RSS (MB) after the first 20 renders and after `count`, in one warm process."""
    builder = Builder()
    parts = builder.plan(["drug-sheet"], "brigatinib")
    first = 0.0
    for n in range(1, count + 1):
        html = builder.html(parts, Options())
        builder.writer.render(html, builder.renderer.default_dir)
        if n == 20:
            first = _rss_mb()
    return first, _rss_mb()


def _rss_mb() -> float:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--renders", type=int, default=200,
                        help="renders for the memory check (default 200)")
    args = parser.parse_args()
    cpus = os.cpu_count() or 1
    print(f"machine: {platform.platform()}, {cpus} CPUs, Python {platform.python_version()}")
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        pack = load_pack(write_bench_pack(tmp), Builder())
        n = len(pack.jobs)
        print(f"jobs: {n} handouts (8 kinds x 2 papers x 2 profiles + 28 patient packets)")
        one = timed("(b) pack, 1 worker", lambda: run_pack(pack, tmp / "b", workers=1))
        peak_one = children_peak_mb()
        many = timed(f"(c) pack, {cpus} workers", lambda: run_pack(pack, tmp / "c",
                                                                   workers=cpus))
        peak_many = children_peak_mb()
        rerun = timed("(d) no-change re-run of (c)", lambda: run_pack(pack, tmp / "c",
                                                                      workers=cpus))
        (tmp / "a").mkdir()
        loop = timed("(a) shell loop, one `handouts build` each", lambda: [
            subprocess.run(build_command(job, tmp / "a"), check=True, capture_output=True)
            for job in pack.jobs])
        seconds = {"a": loop, "b": one, "c": many, "d": rerun}
        chrome = chromium_seconds(pack.jobs, tmp / "e")
        if chrome is None:
            print("  (e) Chromium via Playwright: skipped (needs Debian's chromium at "
                  f"{CHROMIUM} and PyPI's playwright)")
        else:
            print(f"  {'(e) one warm Chromium, same HTML (Playwright)':<44} {chrome:7.1f} s")
            seconds["e"] = chrome
    rate = {k: n / v for k, v in seconds.items()}
    print("\nthroughput (handouts/s): " + ", ".join(f"({k}) {v:.2f}" for k, v in rate.items()))
    print(f"ratios: (c)/(a) = {rate['c'] / rate['a']:.1f}x   (c)/(b) = "
          f"{rate['c'] / rate['b']:.2f}x   (d)/(c) = {rate['d'] / rate['c']:.0f}x"
          + (f"   (c)/(e) = {rate['c'] / rate['e']:.2f}x" if "e" in rate else ""))
    print(f"peak memory per worker: {peak_one:.0f} MB (1 worker run), "
          f"{peak_many:.0f} MB (largest of {cpus} workers)")
    first, last = memory_over_renders(args.renders)
    print(f"one warm process, {args.renders} renders: RSS {first:.0f} MB after 20, "
          f"{last:.0f} MB after {args.renders} ({last - first:+.0f} MB)")


if __name__ == "__main__":
    main()
