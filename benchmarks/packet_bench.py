"""Issue 12's targets, measured in one run and printed as ratios.

    python benchmarks/packet_bench.py [--workers 2] [--skip-chromium] [--only day web ...]

1. A clinic day of 12 patients (two per drug, one of each pair with a start date; FAQ,
   medicine sheet, calendar, diary and questions each) through `handouts pack` (whole
   process), against one warm Chromium printing the same packets' HTML with two tabs
   (Playwright, Debian's chromium; launch and warm-up excluded). Four days, each in its
   own --out with one --cache, as the README advises: the first fills the cache; the
   target is the median of the three later days (other patients, another start date
   each) against the median of three Chromium passes over that day's packets, with the
   first day's figure printed beside it.
2. The default pack (packs/clinic.yaml): full build against a no-change re-run, both as
   whole `handouts pack` processes.
3. Bookkeeping of a 3,000-job pack: planning each job in the parent (inputs, hashes,
   unchanged check), one journal line per job and the manifest views at the end, as a
   share of the pack's time (bookkeeping + 3,000 jobs at the average job time of 2.).
4. Loading patients CSVs of 3,000, 6,000 and 12,000 rows: time per row should not grow.
5. The web's personalised drug sheet through the server's Downloads layer and render pool
   (two worker processes, no HTTP; serve_bench.py measures through HTTP), composed from
   the sheet's cached shared render: p95 of 80 requests at 4 concurrent, against one
   uncached whole render with the pool otherwise idle (median of 10).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from handouts.build import Builder
from handouts.manifest import Journal, write_manifest
from handouts.pack import Job, Planner, load_pack

ROOT = Path(__file__).resolve().parent.parent
DRUGS = ["alectinib", "brigatinib", "ceritinib", "crizotinib", "ensartinib", "lorlatinib"]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
HANDOUTS = str(Path(sys.executable).with_name("handouts"))
TARGETS = ["day", "default", "bookkeeping", "csv", "web"]


def clinic_day(folder: Path, day: str = "2026-12-01", start: str = "2026-12-07",
               who: str = "Patient") -> Path:
    """A clinic day's pack file: 12 packets, two per drug, one of each pair dated."""
    rows = ["name,drug,prescriber,date,paper,start"]
    for n, drug in enumerate(DRUGS):
        rows.append(f"{who} {2 * n + 1},{drug},Dr. Lee,{day},letter,{start}")
        rows.append(f"{who} {2 * n + 2},{drug},Dr. Lee,{day},letter,")
    (folder / f"{day}.csv").write_text("\n".join(rows) + "\n")
    pack = folder / f"{day}.yaml"
    pack.write_text(f"clinic: {ROOT / 'packs' / 'example-clinic.yaml'}\ndate: {day}\n"
                    "packet: [faq, drug-sheet, calendar, diary, questions]\n"
                    f"patients: {day}.csv\n")
    return pack


def whole_pack(pack: Path, out: Path, workers: int, *extra: str) -> float:
    started = time.perf_counter()
    subprocess.run([HANDOUTS, "pack", str(pack), "--out", str(out), "--workers",
                    str(workers), *extra], check=True, capture_output=True)
    return time.perf_counter() - started


def chromium_two_tabs(jobs: list[Job], out: Path, runs: int = 1) -> float | None:
    """The packets' HTML (made first, not timed) printed by one warm Chromium, two tabs
    working at once, tagged PDFs with an outline: the median of `runs` passes."""
    try:
        from playwright.async_api import async_playwright
    except ImportError:
        return None
    if not Path(CHROMIUM).is_file():
        return None
    builder = Builder()
    out.mkdir()
    files = []
    for number, job in enumerate(jobs):
        html = out / f"{number}.html"
        html.write_text(builder.html(builder.plan(list(job.kinds), job.drug), job.options()))
        files.append((html, "A4" if job.paper == "a4" else "Letter"))

    async def tab(page, share) -> None:
        for html, paper in share:
            await page.goto(html.as_uri())
            await page.pdf(path=str(html.with_suffix(".pdf")), format=paper,
                           print_background=True, prefer_css_page_size=True, tagged=True,
                           outline=True)

    async def run() -> float:
        async with async_playwright() as playwright:
            browser = await playwright.chromium.launch(executable_path=CHROMIUM,
                                                       args=CHROMIUM_ARGS)
            pages = [await browser.new_page(), await browser.new_page()]
            for page in pages:  # warm-up: start both renderers, load the fonts
                await page.goto(files[0][0].as_uri())
                await page.pdf(format=files[0][1])
            seconds = []
            for _ in range(runs):
                started = time.perf_counter()
                await asyncio.gather(tab(pages[0], files[0::2]), tab(pages[1], files[1::2]))
                seconds.append(time.perf_counter() - started)
            await browser.close()
            return statistics.median(seconds)

    return asyncio.run(run())


def bookkeeping_seconds(folder: Path, count: int) -> float:
    """Parent-side planning, a journal line per job, and the views written once."""
    rows = ["name,drug,prescriber,date,paper"]
    rows += [f"Patient {n},{DRUGS[n % 6]},Dr. Lee,2026-12-01,letter" for n in range(count)]
    (folder / "many.csv").write_text("\n".join(rows) + "\n")
    pack_file = folder / "many.yaml"
    pack_file.write_text("patients: many.csv\n")
    builder = Builder()
    pack = load_pack(pack_file, builder)
    out = folder / "many-out"
    out.mkdir()
    started = time.perf_counter()
    planner = Planner(builder)
    journal = Journal(out)
    entries = []
    for job in pack.jobs:
        entry, _ = planner.entry(job, out, None, False)
        entry |= {"status": "built", "title": "FAQ", "sha256": "0" * 64, "pages": 23,
                  "bytes": 400_000}
        journal.add(entry)
        entries.append(entry)
    journal.close()
    write_manifest(out, entries)
    return time.perf_counter() - started


def csv_seconds(folder: Path, count: int) -> float:
    rows = ["name,drug,prescriber,date,paper,start"]
    rows += [f"Ana Diaz {n % 500},{DRUGS[n % 6]},Dr. Lee,2026-12-01,letter,2026-12-07"
             for n in range(count)]  # many repeated names: the de-duplication is exercised
    (folder / f"rows-{count}.csv").write_text("\n".join(rows) + "\n")
    pack_file = folder / f"rows-{count}.yaml"
    pack_file.write_text(f"patients: rows-{count}.csv\n")
    builder = Builder()
    best = float("inf")
    for _ in range(3):
        started = time.perf_counter()
        load_pack(pack_file, builder)
        best = min(best, time.perf_counter() - started)
    return best


def web_seconds(requests: int = 80) -> tuple[float, float]:
    """(median uncached render alone, p95 at 4 concurrent) for personalised drug sheets.
    The personalised requests go through the server's Downloads layer, as `/personalised`
    does: each renders only its cover over the drug sheet's shared render, which the
    warm-up caches (one per drug, as on a server that has been up a while)."""
    from concurrent.futures import ThreadPoolExecutor

    from handouts.web.jobs import RenderJob
    from handouts.web.pool import Downloads, RenderPool

    pool = RenderPool(None, None, None, workers=2)
    downloads = Downloads(Builder(), None, pool)
    try:
        def job(n: int) -> RenderJob:
            return RenderJob("drug-sheet", DRUGS[n % 6], patient=f"Patient {n}",
                             prescriber="Dr. Lee")

        def uncached(n: int) -> float:
            started = time.perf_counter()
            pool.result(pool.submit(job(n)))  # the whole PDF, rendered from scratch
            return time.perf_counter() - started

        def personalised(n: int) -> float:
            started = time.perf_counter()
            downloads.personalised(job(n))
            return time.perf_counter() - started

        for n in range(6):  # warm both workers on every drug; cache the shared renders
            uncached(n)
            personalised(n)
        alone = sorted(uncached(n) for n in range(10))[5]
        with ThreadPoolExecutor(4) as threads:
            times = sorted(threads.map(personalised, range(requests)))
        return alone, times[int(0.95 * len(times)) - 1]
    finally:
        pool.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--skip-chromium", action="store_true")
    parser.add_argument("--only", nargs="+", choices=TARGETS, default=TARGETS,
                        help="measure only these targets (default: all)")
    args = parser.parse_args()
    print(f"{platform.platform()}, Python {platform.python_version()}, {os.cpu_count()} CPUs, "
          f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}\n")
    lines = []
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        if "day" in args.only:
            # Each day in its own folder, one cache between them (README: clinic packs).
            cache = ("--cache", str(tmp / "cache"))
            first = whole_pack(clinic_day(tmp), tmp / "day1", args.workers, *cache)
            # Three later days, each with new patients and its own start date: the median.
            later, days = [], []
            for n, start in enumerate(("2026-12-14", "2026-12-21", "2026-12-28"), 2):
                days.append(clinic_day(tmp, f"2026-12-0{n}", start, f"Person{n}"))
                later.append(whole_pack(days[-1], tmp / f"day{n}", args.workers, *cache))
            ours = statistics.median(later)
            day = days[later.index(ours)]
            jobs = load_pack(day, Builder()).jobs
            pages = sum(e["pages"] for e in json.loads(
                (tmp / f"day{days.index(day) + 2}" / "manifest.json").read_text())["jobs"])
            print(f"1. clinic day, {len(jobs)} packets ({pages} pages): handouts pack "
                  f"{first:.1f} s on a first day (empty cache); on three later days (new "
                  "patients and start date; shared renders cached by the first) "
                  + ", ".join(f"{s:.2f}" for s in later) + f" s, median {ours:.2f} s")
            chrome = (None if args.skip_chromium
                      else chromium_two_tabs(jobs, tmp / "chromium", runs=3))
            if chrome is not None:
                print(f"   one warm Chromium, two tabs, same HTML (the median day's): "
                      f"{chrome:.2f} s, median of 3 passes")
                lines += [f"clinic day, pack vs warm Chromium (2 tabs)          "
                          f"{chrome / ours:5.2f}x   >= 1.5x   (a later day)",
                          f"  the same, first day (empty cache)                "
                          f"{chrome / first:5.2f}x"]

        if "default" in args.only or "bookkeeping" in args.only:
            full = whole_pack(ROOT / "packs" / "clinic.yaml", tmp / "default", args.workers)
            rerun = min(whole_pack(ROOT / "packs" / "clinic.yaml", tmp / "default",
                                   args.workers) for _ in range(3))
            print(f"2. default pack (40 PDFs): full build {full:.2f} s, no-change re-run "
                  f"{rerun:.3f} s (best of 3)")
            lines.append(f"default pack, full build / no-change re-run        "
                         f"{full / rerun:5.1f}x   >= 20x")

        if "bookkeeping" in args.only:
            book = bookkeeping_seconds(tmp, 3000)
            per_job = full * args.workers / 40  # average job time per worker, from 2.
            share = book / (book + 3000 * per_job / args.workers)
            print(f"3. 3,000 jobs: bookkeeping {book:.2f} s ({book / 3000 * 1000:.2f} ms/job)"
                  f" against {3000 * per_job / args.workers:.0f} s of building")
            lines.append(f"3,000-job pack, bookkeeping share                  {share:6.2%}"
                         "   < 5%")

        if "csv" in args.only:
            sizes = [3000, 6000, 12000]
            times = [csv_seconds(tmp, n) for n in sizes]
            print("4. patients CSV load: " + ", ".join(
                f"{n} rows {t:.2f} s ({t / n * 1e6:.0f} us/row)"
                for n, t in zip(sizes, times, strict=True)))
            lines.append(f"CSV load, time per row at 12,000 / at 3,000        "
                         f"{(times[2] / 12000) / (times[0] / 3000):5.2f}x   ~1x (linear)")

        if "web" in args.only:
            alone, p95 = web_seconds()
            print(f"5. web personalised drug sheet: uncached render alone "
                  f"{alone * 1000:.0f} ms, p95 at 4 concurrent {p95 * 1000:.0f} ms")
            lines.append(f"web personalised p95 (4 concurrent) / uncached     "
                         f"{p95 / alone:5.2f}x   <= 0.3x")

    print("\ntarget                                             measured    goal")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
