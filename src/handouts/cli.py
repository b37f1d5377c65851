"""The `handouts` command line: parse options, make one library call, report.

Only Click and light modules are imported at start-up; WeasyPrint and pydantic load when a
command needs them, so `handouts --help` stays fast. Every HandoutError becomes one line on
stderr and its exit code (2 for an unknown choice or bad option, 1 otherwise); never a
traceback for a user mistake.
"""

from __future__ import annotations

import gc
import os
import re
import sys
from pathlib import Path

import click

from . import __version__
from .kinds import KINDS

PAPER_CHOICES = ["letter", "a4"]
PROFILE_CHOICES = ["standard", "large-print"]  # options.PROFILES, without importing it
LANG_CHOICES = ["en", "es"]  # i18n.LANGUAGES, without importing Babel at start-up


class _Exit(click.ClickException):
    def __init__(self, message: str, exit_code: int):
        super().__init__(message)
        self.exit_code = exit_code


class HandoutsGroup(click.Group):
    """Turns the library's own errors into Click's clean one-line failures."""

    def invoke(self, ctx: click.Context):
        from .errors import HandoutError

        try:
            return super().invoke(ctx)
        except HandoutError as exc:
            raise _Exit(str(exc), exc.exit_code) from None
        except click.UsageError as exc:
            # Click would print the usage block too; one line that says what to fix is kinder.
            where = exc.ctx.command_path if exc.ctx else "handouts"
            raise _Exit(f"{exc.format_message()} (see '{where} --help')", 2) from None


class Eta:
    """Time left in a pack, for the progress bar.

    Click's own estimate divides the time since the start by the jobs done, so the first
    jobs, which also pay every worker's start-up (content, templates, fonts), make the
    first estimate many times too long. This one measures the pace from the end of the
    first job on, so start-up is left out, and says nothing until every worker has
    finished two jobs: before that, one batch of jobs ending together would skew it.
    """

    def __init__(self, total: int, workers: int, clock=None):
        import time

        self.total, self.workers, self.done = total, max(1, workers), 0
        self.clock = clock or time.monotonic
        self.first: float | None = None
        self.latest: float | None = None

    def skipped(self) -> None:
        """A job that needed no worker (unchanged): it says nothing about the pace."""
        self.total -= 1

    def finished(self) -> None:
        self.done += 1
        self.latest = self.clock()
        if self.first is None:
            self.first = self.latest

    def seconds_left(self) -> float | None:
        if self.done < 2 * self.workers or self.first is None or self.latest is None:
            return None
        per_job = (self.latest - self.first) / (self.done - self.workers)
        return per_job * (self.total - self.done)

    def text(self) -> str:
        left = self.seconds_left()
        if left is None:
            return "" if self.done >= self.total else "estimating time left"
        return f"about {int(left) // 60}:{int(left) % 60:02d} left" if left >= 1 else ""


def _dirs(func):
    func = click.option("--templates-dir", type=click.Path(file_okay=False, path_type=Path),
                        envvar="HANDOUTS_TEMPLATES_DIR",
                        help="Your own templates; files here override ours one by one. "
                             "[env: HANDOUTS_TEMPLATES_DIR]")(func)
    func = click.option("--content-dir", type=click.Path(file_okay=False, path_type=Path),
                        envvar="HANDOUTS_CONTENT_DIR",
                        help="Use this content folder instead of the shipped one. "
                             "[env: HANDOUTS_CONTENT_DIR]")(func)
    return func


@click.group(cls=HandoutsGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="handouts")
def cli() -> None:
    """Printable patient handouts for ALK-positive non-small-cell lung cancer.

    \b
    Examples:
      handouts list
      handouts build faq
      handouts build drug-sheet --drug brigatinib
      handouts build faq drug-sheet questions --drug alectinib \\
          --clinic packs/example-clinic.yaml --patient "Ana Diaz" \\
          --prescriber "Dr. Lee" --paper a4 -o ana.pdf
      handouts build --all

    Every handout is information only; it does not replace the patient's care team.

    \b
    Exit codes:
      0    done: everything built, served or checked without a problem
      1    a file could not be read or written, a handout failed to build,
           or `check` found problems (see the lines on stderr)
      2    a bad option, or an unknown kind, drug, paper size or profile
      130  interrupted (Ctrl-C or SIGTERM); run a pack again to resume it
    """


@cli.command("list")
@_dirs
def list_command(content_dir: Path | None, templates_dir: Path | None) -> None:
    """List handout kinds, drugs, paper sizes and print profiles."""
    from .content import load_library
    from .options import PAPERS, PROFILES
    from .paths import default_content_dir

    library = load_library(content_dir or default_content_dir())
    click.echo("Handout kinds (handouts build KIND ...):")
    for kind in KINDS.values():
        needs = "  [needs --drug]" if kind.needs_drug else ""
        click.echo(f"  {kind.name:<12} {kind.label}{needs}")
        click.echo(f"  {'':<12} {kind.description}")
    click.echo("\nDrugs (--drug, generic or brand name):")
    for drug in library.drugs.values():
        click.echo(f"  {drug.id:<12} {drug.brand:<10} last checked {drug.last_checked}, "
                   f"version {drug.version}")
    click.echo("\nPaper sizes (--paper):")
    for paper in PAPERS.values():
        click.echo(f"  {paper.name:<12} {paper.label}")
    click.echo("\nPrint profiles (--profile):")
    for profile in PROFILES.values():
        click.echo(f"  {profile.name:<12} {profile.label}")
    from .content import editions
    from .i18n import LANGUAGES

    have = editions(content_dir or default_content_dir())
    click.echo("\nLanguages (--lang):")
    for code, name in LANGUAGES.items():
        note = "" if code in have else "  [no content/" + code + "/ yet]"
        click.echo(f"  {code:<12} {name}{note}")


@cli.command()
@click.argument("kinds", nargs=-1, type=click.Choice(list(KINDS), case_sensitive=False))
@click.option("--all", "build_all", is_flag=True,
              help="Build every handout (each drug's sheet too) as separate PDFs.")
@click.option("--drug", metavar="NAME", help="The ALK inhibitor, by generic or brand name.")
@click.option("--clinic", type=click.Path(dir_okay=False, path_type=Path),
              help="Clinic details (YAML): name, phones, address, website, logo.")
@click.option("--patient", metavar="NAME", help="Patient's name, shown on the first page.")
@click.option("--prescriber", metavar="NAME", help="Prescriber's name, shown on the first page.")
@click.option("--date", "when", metavar="YYYY-MM-DD", help="Date shown on the first page.")
@click.option("--start", metavar="YYYY-MM-DD",
              help="calendar, diary: the first day of treatment (default: write-in dates).")
@click.option("--weeks", type=int, metavar="1-12",
              help="calendar, diary: how many weeks to cover (default: 4 and 2).")
@click.option("--dose", "dose_text", metavar="TEXT", multiple=True,
              help="calendar: the prescribed dose, printed on each day. Repeat it for a "
                   "schedule: --dose \"90 mg\" --dose \"180 mg from day 8\". Without it, "
                   "days carry no amount and a \"My dose\" line is left to fill in.")
@click.option("--ics", is_flag=True,
              help="calendar: also write FILE.ics beside the PDF, daily dose reminders for a "
                   "phone's calendar (needs --start).")
@click.option("--remind", "remind", multiple=True, metavar="HH:MM",
              help="--ics: a reminder time; give it once per daily dose (default 08:00, and "
                   "20:00 for twice-daily medicines).")
@click.option("--tz", metavar="ZONE",
              help="--ics: pin the times to this time zone (e.g. America/New_York); default: "
                   "floating local time, 8 am wherever the phone is.")
@click.option("--fhir", is_flag=True,
              help="Also write NAME.fhir.json beside each PDF: a FHIR R4 DocumentReference "
                   "for an EHR (the PDF inside, with its SHA-1 hash).")
@click.option("--patient-id", metavar="[SYSTEM|]ID",
              help="--fhir: the patient's identifier in the EHR, as the document's subject "
                   "(never a name).")
@click.option("--paper", type=click.Choice(PAPER_CHOICES, case_sensitive=False),
              default="letter", show_default=True, help="Paper size.")
@click.option("--profile", type=click.Choice(PROFILE_CHOICES, case_sensitive=False),
              default="standard", show_default=True, help="Print profile.")
@click.option("--lang", type=click.Choice(LANG_CHOICES, case_sensitive=False),
              default="en", show_default=True,
              help="Language of the handout: en (English) or es (Spanish, español).")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path),
              help="Output PDF file (default: a clear name under --out-dir).")
@click.option("--out-dir", type=click.Path(file_okay=False, path_type=Path),
              default=Path("output"), show_default=True, help="Folder for default names.")
@_dirs
def build(kinds: tuple[str, ...], build_all: bool, drug: str | None, clinic: Path | None,
          patient: str | None, prescriber: str | None, when: str | None,
          start: str | None, weeks: int | None, dose_text: tuple[str, ...], ics: bool,
          remind: tuple[str, ...], tz: str | None, fhir: bool, patient_id: str | None,
          paper: str, profile: str, lang: str, output: Path | None, out_dir: Path,
          content_dir: Path | None, templates_dir: Path | None) -> None:
    """Build handouts as PDF files.

    Several KINDS in one call make ONE PDF, each part starting on a new page, with a
    contents list on the first page. KINDS: faq, drug-sheet, questions, calendar and
    diary (the last three need --drug).

    A handout filled in with --patient, --prescriber or --date and no -o goes to
    OUT_DIR/personal/, named after the blank one and the patient
    (personal/drug-sheet-lorlatinib-ana-diaz.pdf), and never replaces a file: a second
    one gets -2. It never takes the blank handout's name.

    \b
    Examples:
      handouts build faq                              -> output/faq.pdf
      handouts build drug-sheet --drug Alunbrig       -> output/drug-sheet-brigatinib.pdf
      handouts build faq questions --paper a4 -o visit.pdf
      handouts build calendar --drug brigatinib --start 2026-12-01 --weeks 4
      handouts build calendar --drug brigatinib --start 2026-12-01 \\
          --dose "90 mg" --dose "180 mg from day 8"
      handouts build calendar --drug alectinib --start 2026-12-01 --ics --remind 07:30 \\
          --remind 19:30                              -> also the .ics reminders
      handouts build diary --drug lorlatinib --clinic packs/example-clinic.yaml
      handouts build --all --clinic packs/example-clinic.yaml   -> every handout in output/
      handouts build drug-sheet --drug alectinib --lang es
                                                      -> output/drug-sheet-alectinib-es.pdf
    """
    from .build import Builder, Failed
    from .errors import OptionError
    from .options import Options, load_clinic, personal, schedule
    from .options import paper as paper_named
    from .options import profile as profile_named

    if build_all and (kinds or output or drug):
        raise OptionError("--all builds every handout; do not also name kinds, --drug or -o")
    if not build_all and not kinds:
        raise OptionError("name at least one handout kind (see `handouts list`), or use --all")
    if (start or weeks or dose_text) and not any(KINDS[k.lower()].dated for k in kinds):
        raise OptionError("--start, --weeks and --dose are for the calendar and diary kinds")
    options = Options(paper=paper_named(paper), profile=profile_named(profile),
                      clinic=load_clinic(clinic) if clinic else None,
                      personal=personal(patient, prescriber, when),
                      schedule=schedule(start, weeks, dose_text), lang=lang.lower())
    from .fhir import patient_identifier

    if patient_id and not fhir:
        raise OptionError("--patient-id is for --fhir")
    subject = patient_identifier(patient_id)
    builder = Builder(content_dir, templates_dir)
    reminders = None
    if ics or remind or tz:
        reminders = _reminders(builder, kinds, build_all, drug, options, ics, remind, tz)
    results = (builder.build_all(options, out_dir) if build_all
               else [builder.build(list(kinds), drug, options, output, out_dir)])
    failures = 0
    for result in results:
        if isinstance(result, Failed):
            failures += 1
            click.echo(f"handouts: failed {result.name}: {result.error}", err=True)
        else:
            pages = "page" if result.pages == 1 else "pages"
            click.echo(f"wrote {result.path} ({result.pages} {pages})")
            for warning in result.warnings:
                click.echo(f"handouts: warning: {result.path.name}: {warning}", err=True)
            if reminders is not None:
                from .files import write_atomic

                write_atomic(result.path.with_suffix(".ics"), reminders)
                click.echo(f"wrote {result.path.with_suffix('.ics')} (dose reminders)")
            if fhir:
                _write_fhir(builder, result, options, subject)
    if failures:
        sys.exit(1)


def _write_fhir(builder, built, options, subject) -> None:
    """NAME.fhir.json beside a PDF just written."""
    from datetime import UTC, datetime

    from .fhir import document_reference, reference_path, to_json
    from .files import write_atomic

    resource = document_reference(built.path.read_bytes(), built.title, list(built.parts),
                                  builder, options, datetime.now(UTC), subject)
    write_atomic(reference_path(built.path), to_json(resource))
    click.echo(f"wrote {reference_path(built.path)} (FHIR DocumentReference)")


def _reminders(builder, kinds, build_all, drug, options, ics, remind, tz) -> bytes:
    """The .ics bytes for `build calendar --ics`, checked before any PDF is made."""
    from datetime import UTC, datetime

    from .errors import OptionError
    from .reminders import reminder_calendar, reminder_times, steps_from

    if not ics:
        raise OptionError("--remind and --tz are for --ics")
    if build_all or "calendar" not in [k.lower() for k in kinds]:
        raise OptionError("--ics writes reminders for a calendar: build calendar --drug NAME")
    if options.schedule.start is None:
        raise OptionError("--ics needs --start: reminders begin on the first day")
    medicine = builder.library.drug(drug) if drug else None
    if medicine is None:
        raise OptionError("calendar needs --drug")
    weeks = options.schedule.weeks or KINDS["calendar"].default_weeks
    return reminder_calendar(medicine, options.schedule.start, weeks,
                             reminder_times(medicine, remind), steps_from(options.schedule),
                             datetime.now(UTC), options.personal.patient, tz)


@cli.command("check")
@click.option("--strict", is_flag=True,
              help="Fail on warnings too (stale dates, long sentences, medical words "
                   "missing from the glossary).")
@click.option("--max-age-days", type=click.IntRange(min=1), default=365, show_default=True,
              help="Warn when a file's last_checked date is older than this.")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text",
              show_default=True, help="Output format.")
@click.option("--content-dir", type=click.Path(file_okay=False, path_type=Path),
              envvar="HANDOUTS_CONTENT_DIR", help="Content folder to check.")
def check_command(strict: bool, max_age_days: int, fmt: str, content_dir: Path | None) -> None:
    """Check content: schema, freshness and reading level, all problems at once.

    Reading level is scored offline per section (Flesch-Kincaid and SMOG). Limits: FAQ,
    questions and shared text grade 8; drug sheets grade 9. A translation (content/es/)
    is checked too: parity with English (ids, list lengths, numbers, sources), stale
    translations, the termbase, and Fernández-Huerta of at least 70 per section. Exit code 1
    on any error (or, with --strict, any warning).

    \b
    Examples:
      handouts check
      handouts check --strict --max-age-days 180
      handouts check --format json > report.json
    """
    import json
    from datetime import date

    from .check import check, report_json, report_text
    from .paths import default_content_dir

    report = check(content_dir or default_content_dir(), date.today(), max_age_days)
    if fmt == "json":
        click.echo(json.dumps(report_json(report, strict), indent=2))
    else:
        click.echo(report_text(report, strict))
    if not report.passed(strict):
        sys.exit(1)


@cli.command("pack")
@click.argument("pack_file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path),
              help="Output folder (default: output/<pack name>).")
@click.option("--workers", type=click.IntRange(min=1), help="Worker processes (default: CPUs).")
@click.option("--force", is_flag=True, help="Rebuild every job, even unchanged ones.")
@click.option("--shard", metavar="K/N", help="Build only the K-th of N stable slices of the jobs.")
@click.option("--merge", is_flag=True,
              help="Also write pack.pdf: every handout in one file, a bookmark for each "
                   "(for a print shop).")
@click.option("--cache", "cache_dir", type=click.Path(file_okay=False, path_type=Path),
              help="Folder for the shared renders of patient packets (default: OUT/.cache). "
                   "Give each clinic day its own --out and one --cache: later days render "
                   "only what is personal.")
@_dirs
def pack_command(pack_file: Path, out_dir: Path | None, workers: int | None, force: bool,
                 shard: str | None, merge: bool, cache_dir: Path | None,
                 content_dir: Path | None, templates_dir: Path | None) -> None:
    """Build a clinic pack: every job in a pack file, in parallel, with a manifest.

    Re-runs skip jobs whose inputs and output file are unchanged. One bad job never stops
    the others: it is listed in the manifest and the exit code is 1.

    \b
    Examples:
      handouts pack packs/clinic.yaml                   -> output/clinic/
      handouts pack packs/clinic.yaml --workers 2 --out /srv/handouts
      handouts pack packs/clinic.yaml --shard 2/4       # e.g. one Slurm array task
      handouts pack packs/clinic-day.yaml --out output/2026-12-01 --cache output/.cache
    """
    import time

    from .build import Builder
    from .errors import OptionError
    from .pack import load_pack, run_pack
    from .pack import merge as merge_pdfs
    from .pack import shard as shard_jobs

    builder = Builder(content_dir, templates_dir)
    pack = load_pack(pack_file, builder)
    if shard:
        match = re.fullmatch(r"(\d+)/(\d+)", shard)
        if not match or not 1 <= int(match[1]) <= int(match[2]):
            raise OptionError(f"--shard {shard!r} must be K/N with 1 <= K <= N, e.g. 2/4")
        pack.jobs = shard_jobs(pack.jobs, int(match[1]), int(match[2]))
    target = out_dir or Path("output") / pack_file.stem
    started = time.perf_counter()
    if sys.stderr.isatty():  # a bar with count and ETA for people; one summary line for logs
        eta = Eta(len(pack.jobs), workers or os.cpu_count() or 1)
        with click.progressbar(length=len(pack.jobs), label="building", file=sys.stderr,
                               show_pos=True, show_eta=False,
                               item_show_func=lambda _: eta.text()) as bar:
            def progress(entry: dict) -> None:
                if entry["status"] == "unchanged":  # decided at once, no worker's pace
                    eta.skipped()
                else:
                    eta.finished()
                bar.update(1, entry)

            result = run_pack(pack, target, workers, force, content_dir, templates_dir,
                              progress=progress, builder=builder, cache_dir=cache_dir)
    else:
        result = run_pack(pack, target, workers, force, content_dir, templates_dir,
                          builder=builder, cache_dir=cache_dir)
    if merge:
        merged = merge_pdfs(result, target)
        click.echo(f"wrote {merged}" if merged else "no pack.pdf: no handout was built")
    if pack.fhir:
        from datetime import UTC, datetime

        from .fhir import pack_references
        from .files import write_atomic

        references = pack_references(builder, pack.jobs, result.entries, target,
                                     datetime.now(UTC))
        for path, data in references:
            write_atomic(path, data)
        click.echo(f"wrote {len(references)} FHIR DocumentReferences (NAME.fhir.json)")
    for entry in result.entries:
        if entry["status"] == "failed":
            # Only the job's name or row number: never patient data.
            click.echo(f"handouts: failed {entry['label']}: {entry['error']}", err=True)
    click.echo(f"built {result.built}, unchanged {result.unchanged}, failed {result.failed} "
               f"in {time.perf_counter() - started:.1f} s -> {target}")
    if result.failed:
        sys.exit(1)


@cli.group("manifest")
def manifest_group() -> None:
    """Work with pack manifests."""


@manifest_group.command("combine")
@click.argument("shard_dirs", nargs=-1, required=True,
                type=click.Path(file_okay=False, path_type=Path))
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="Where to write the combined manifest.json and manifest.csv.")
def manifest_combine(shard_dirs: tuple[Path, ...], out_dir: Path) -> None:
    """Combine the manifests of a sharded pack (--shard K/N) into one.

    Each entry's file is given relative to --out, e.g. shard-1/faq.pdf.

    \b
    Example:
      handouts manifest combine out/shard-1 out/shard-2 out/shard-3 out/shard-4 --out out
    """
    from .manifest import combine

    entries = combine(list(shard_dirs), out_dir)
    click.echo(f"combined {len(entries)} jobs from {len(shard_dirs)} shards -> "
               f"{out_dir / 'manifest.json'}")


@cli.command("serve")
@click.option("--clinic", type=click.Path(dir_okay=False, path_type=Path),
              help="Clinic details (YAML), shown on the page and on every handout.")
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to listen on. 0.0.0.0 opens the page to your network.")
@click.option("--port", type=click.IntRange(1, 65535), default=8000, show_default=True,
              help="Port to listen on.")
@click.option("--workers", type=click.IntRange(min=1), default=2, show_default=True,
              help="Render processes; at most 16 more renders wait, then visitors get "
                   "'busy, try again'.")
@_dirs
def serve_command(clinic: Path | None, host: str, port: int, workers: int,
                  content_dir: Path | None, templates_dir: Path | None) -> None:
    """Serve the patient download page (waitress; never in debug mode).

    Handouts without a name are made once and cached; with a name (the staff form) they
    are made on demand and never stored. Stop with Ctrl-C, or SIGTERM, which lets renders
    under way finish first (new visitors are asked to come back). Each request is logged
    as method, path, status and time; never a query string, form or name.

    \b
    Examples:
      handouts serve --clinic packs/example-clinic.yaml   -> http://127.0.0.1:8000
      handouts serve --clinic packs/example-clinic.yaml --host 0.0.0.0 --port 8080 --workers 4
    """
    import logging

    from .options import load_clinic
    from .web import create_app
    from .web.serve import serve

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    queue = 16
    app = create_app(load_clinic(clinic) if clinic else None, content_dir, templates_dir,
                     workers=workers, queue=queue)
    try:
        # Enough threads for every queued render plus a few for pages and cached PDFs,
        # so a burst of renders never blocks a cached download.
        serve(app, host, port, threads=workers + queue + 4,
              listening=lambda url: click.echo(f"handouts: serving on {url} (Ctrl-C to stop)",
                                               err=True))
    except KeyboardInterrupt:
        pass
    finally:
        app.extensions["handouts"].close()


@cli.command("site")
@click.option("--clinic", type=click.Path(dir_okay=False, path_type=Path),
              help="Clinic details (YAML), shown on the page and on every handout.")
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path),
              default=Path("output/site"), show_default=True, help="Output folder.")
@click.option("--workers", type=click.IntRange(min=1), help="Worker processes (default: CPUs).")
@click.option("--force", is_flag=True, help="Rebuild every PDF, even unchanged ones.")
@_dirs
def site_command(clinic: Path | None, out_dir: Path, workers: int | None, force: bool,
                 content_dir: Path | None, templates_dir: Path | None) -> None:
    """Write the download page as static files: index.html, its stylesheet and every PDF.

    Links are relative, so the folder works on any web server or CDN, or opened from disk.
    PDFs go to OUT/pdf with a manifest; re-runs rebuild only what changed.

    \b
    Examples:
      handouts site --clinic packs/example-clinic.yaml    -> output/site/index.html
      handouts site --clinic packs/example-clinic.yaml --out /srv/www/handouts --workers 2
    """
    import time

    from .options import load_clinic
    from .web.site import export_site

    started = time.perf_counter()
    site = export_site(out_dir, load_clinic(clinic) if clinic else None, workers,
                       content_dir, templates_dir, force)
    for entry in site.pack.entries:
        if entry["status"] == "failed":
            click.echo(f"handouts: failed {entry['label']}: {entry['error']}", err=True)
    result = site.pack
    click.echo(f"wrote {site.index} (built {result.built}, unchanged {result.unchanged}, "
               f"failed {result.failed} in {time.perf_counter() - started:.1f} s)")
    if result.failed:
        sys.exit(1)


def main() -> None:
    # Imports and content make objects by the hundred thousand, few of them garbage:
    # collecting cycles every 50,000 new objects rather than 700 saves a command about
    # 10 % of its start. On the way out, Python would collect them all once more (about
    # 25 ms, a tenth of a pack re-run): frozen, they are left to the process's end.
    gc.set_threshold(50_000, 20, 20)
    try:
        cli(prog_name="handouts")
    finally:
        gc.freeze()
