"""A corpus of hostile extracts, each ingested on its own: nothing leaks, hangs or crashes.

    .venv/bin/python benchmarks/hostile.py            # writes the corpus in a temp folder
    .venv/bin/python benchmarks/hostile.py --keep /tmp/hostile

Builds ~40 files an attacker or a careless exporter could send (identifier columns in
many spellings, identifier values, contract-valid extreme dates, Parquet bombs and
garbage, devices, pipes and symlinks, CR-only line ends, ragged and short rows,
duplicate headers, mixed encodings, NUL and escape characters, formula payloads, a
re-sent rejected file …), from a clean demo extract. Each is ingested by
``reab ingest FILE --db fresh.duckdb`` in a child process with a time limit, and the
script prints per file: the outcome, the child's peak memory, whether the output held
a traceback or a planted secret, then the totals the issue asks for:

    files, clear messages, tracebacks (must be 0), hangs (0), peak memory per file
    (must stay under 1 GiB), rows lost (0: the row accounting holds in every
    warehouse), identifier values stored or printed (0)
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import polars as pl  # noqa: E402

from data_contracts.demo import write_demo_extracts  # noqa: E402

TIME_LIMIT_S = 120
MEMORY_LIMIT_MIB = 1024
# What must never be stored or printed (planted in the corpus).
SURNAME = "Vandenbroucke"
FIRST_NAME = "Amélie"
NATIONAL_NUMBER = "85073100130"
EMAIL = "amelie.vdb@example.be"
PHONE = "+32475123456"
PASSWD_LINE = "root:x:0:0:root:/root:/bin/bash"
SECRETS = (SURNAME, NATIONAL_NUMBER, EMAIL, PHONE, "root:x:0:0")

CHILD = """
import resource, sys
from pipelines.cli import main
code = 1
try:
    code = main(sys.argv[1:])
finally:
    # VmHWM: this process's own peak (ru_maxrss would include the parent's, from fork)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    try:
        for line in open("/proc/self/status"):
            if line.startswith("VmHWM:"):
                peak = int(line.split()[1])
    except OSError:
        pass
    print("REAB-PEAK-KIB", peak, file=sys.stderr)
sys.exit(code)
"""


@dataclass
class Case:
    name: str
    expect: str  # rejected | quarantine | accepted
    build: Callable[[Path, Base], Path]
    note: str = ""


@dataclass
class Base:
    header: list[str]
    rows: list[list[str]]  # text cells of a clean extract

    def text(self, rows=None, header=None, sep=",", eol="\n") -> str:
        out = io.StringIO()
        writer = csv.writer(out, delimiter=sep, lineterminator=eol)
        writer.writerow(header or self.header)
        writer.writerows(rows or self.rows)
        return out.getvalue()

    def column(self, name: str) -> int:
        return self.header.index(name)


@dataclass
class Result:
    case: Case
    exit_code: int | None
    seconds: float
    peak_mib: float | None
    first_line: str
    traceback: bool
    hang: bool
    secrets: list[str] = field(default_factory=list)
    accounting: list[str] = field(default_factory=list)


def clean_base(work: Path) -> Base:
    folder = work / "demo"
    write_demo_extracts(folder, seed=1, scale=0.05)
    source = sorted(folder.glob("reab_extract_2026-0*.csv"))[-1]
    frame = pl.read_csv(source, infer_schema=False)
    frame = frame.head(40)
    rows = [[cell if cell is not None else "" for cell in r] for r in frame.iter_rows()]
    return Base(frame.columns, rows)


def write(path: Path, data: str | bytes) -> Path:
    path.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)
    return path


def with_cell(base: Base, column: str, value: str, row: int = 0) -> list[list[str]]:
    rows = [list(r) for r in base.rows]
    rows[row][base.column(column)] = value
    return rows


def identifier_header(spelling: str) -> Callable[[Path, Base], Path]:
    def build(folder: Path, base: Base) -> Path:
        header = [*base.header, spelling]
        rows = [[*r, SURNAME] for r in base.rows]
        return write(folder / f"header_{abs(hash(spelling)) % 10**8}.csv", base.text(rows, header))

    return build


def parquet_bomb(folder: Path, base: Base) -> Path:
    """20 M copies of one value: a few KB on disk, gigabytes as text. Written by a child
    process, so this one (whose peak memory the children would inherit) stays small."""
    path = folder / "bomb.parquet"
    code = (
        "import polars as pl, sys; n = 20_000_000; "
        "pl.DataFrame({h: pl.repeat('x' * 40, n, eager=True) for h in sys.argv[2:]})"
        ".write_parquet(sys.argv[1], compression='zstd', statistics=False)"
    )
    subprocess.run([sys.executable, "-c", code, str(path), *base.header[:3]], check=True)
    return path


def cell_case(name: str, file_name: str, column: str, value: str, expect: str) -> Case:
    """A clean file with one cell replaced."""

    def build(folder: Path, base: Base) -> Path:
        return write(folder / file_name, base.text(with_cell(base, column, value)))

    return Case(name, expect, build)


def mixed_encodings(folder: Path, base: Base) -> Path:
    """UTF-8 (an accented extra column) with one line saved in cp1252."""
    header = [*base.header, "région"]
    rows = [[*r, "Liège"] for r in base.rows]
    text = base.text(rows, header).encode("utf-8")
    line = ",".join([*base.rows[3], "Liège"]).encode("cp1252")
    return write(folder / "mixed.csv", text + line + b"\n")


def cases() -> list[Case]:
    c: list[Case] = []
    spellings = [
        "Nom de famille",
        "Pre\u0301nom",  # NFD
        "Rijksregisternr",
        "numéro national",
        "phone_number",
        "na\u200bme",
        "ｎａｍｅ",
        "home address",
        "Straat en nummer",
        "Woonplaats",
        "Opmerking",
        "e-mail",
        "Familienname",
        "date of birth",
    ]
    for spelling in spellings:
        c.append(Case(f"identifier header {spelling!r}", "rejected", identifier_header(spelling)))
    c += [
        cell_case(
            "national number as person_id", "nn.csv", "person_id", NATIONAL_NUMBER, "rejected"
        ),
        cell_case("e-mail as dossier_id", "mail.csv", "dossier_id", EMAIL, "rejected"),
        cell_case(
            "phone number in reintegration_partner",
            "phone.csv",
            "reintegration_partner",
            PHONE,
            "rejected",
        ),
        cell_case(
            "registration 0001-01-01", "d0001.csv", "registration_date", "0001-01-01", "quarantine"
        ),
        cell_case(
            "departure 9999-12-31", "d9999.csv", "departure_date", "9999-12-31", "quarantine"
        ),
        cell_case(
            "bad value with quote and semicolon",
            "quote.csv",
            "sex",
            "F'; DROP TABLE x; --",
            "quarantine",
        ),
        cell_case("formula payloads", "formula.csv", "reintegration_partner", "=1+1", "quarantine"),
        cell_case(
            "terminal escape codes in a value", "esc.csv", "sex", "\x1b[2J\x1b[31mX", "quarantine"
        ),
        Case(
            "terminal escape codes in the file name",
            "accepted",
            lambda f, b: write(f / "esc\x1b[2J.csv", b.text()),
        ),
        cell_case("NUL in an id", "nul.csv", "person_id", "P\x00123", "quarantine"),
        Case(
            "ragged line holding a surname",
            "quarantine",
            lambda f, b: write(
                f / "ragged.csv",
                b.text() + ",".join(b.rows[1] + [SURNAME, FIRST_NAME]) + "\n",
            ),
        ),
        Case(
            "short rows",
            "quarantine",
            lambda f, b: write(f / "short.csv", b.text() + ",".join(b.rows[2][:5]) + "\n"),
        ),
        Case(
            "duplicate header",
            "rejected",
            lambda f, b: write(
                f / "duphead.csv", b.text([[*r, r[0]] for r in b.rows], [*b.header, b.header[0]])
            ),
        ),
        Case(
            "duplicate header after normalisation",
            "rejected",
            lambda f, b: write(
                f / "duphead2.csv",
                b.text([[*r, r[0]] for r in b.rows], [*b.header, "Dossier ID"]),
            ),
        ),
        Case("CR-only line ends", "accepted", lambda f, b: write(f / "cr.csv", b.text(eol="\r"))),
        cell_case(
            "quoted 140,000-character field",
            "long.csv",
            "reintegration_partner",
            "IOM" + "x" * 140_000 + "\nD,P",
            "quarantine",
        ),
        Case("mixed UTF-8 and cp1252", "rejected", mixed_encodings),
        Case("empty file", "rejected", lambda f, b: write(f / "empty.csv", b"")),
        Case(
            "header only",
            "accepted",
            lambda f, b: write(f / "header.csv", ",".join(b.header) + "\n"),
        ),
        Case(
            "xlsx bytes",
            "rejected",
            lambda f, b: write(f / "x.csv", b"PK\x03\x04" + os.urandom(200)),
        ),
        Case(
            "gzip bytes", "rejected", lambda f, b: write(f / "g.csv", b"\x1f\x8b" + os.urandom(200))
        ),
        Case("UTF-16", "rejected", lambda f, b: write(f / "u16.csv", b.text().encode("utf-16"))),
        Case(
            "corrupt Parquet",
            "rejected",
            lambda f, b: write(f / "corrupt.parquet", b"PAR1" + os.urandom(4000) + b"PAR1"),
        ),
        Case(
            "truncated Parquet",
            "rejected",
            lambda f, b: _truncated_parquet(f, b),
        ),
        Case("Parquet bomb", "rejected", parquet_bomb),
        Case(
            "symlink to /dev/zero", "rejected", lambda f, b: _symlink(f / "zero.csv", "/dev/zero")
        ),
        Case("named pipe", "rejected", _fifo),
        Case("symlink to a passwd file", "rejected", _passwd_link),
        Case("a folder named like a file", "rejected", lambda f, b: _folder(f / "dir.csv")),
        Case("binary noise", "rejected", lambda f, b: write(f / "noise.csv", os.urandom(5000))),
    ]
    return c


def _truncated_parquet(folder: Path, base: Base) -> Path:
    path = folder / "truncated.parquet"
    pl.DataFrame([r for r in base.rows], schema=base.header, orient="row").write_parquet(path)
    data = path.read_bytes()
    return write(path, data[: len(data) // 2])


def _symlink(path: Path, target: str) -> Path:
    path.symlink_to(target)
    return path


def _fifo(folder: Path, base: Base) -> Path:
    path = folder / "pipe.csv"
    os.mkfifo(path)
    return path


def _passwd_link(folder: Path, base: Base) -> Path:
    outside = folder.parent / "outside"
    outside.mkdir(exist_ok=True)
    secret = write(outside / "passwd", PASSWD_LINE + "\n")
    return _symlink(folder / "passwd.csv", str(secret))


def _folder(path: Path) -> Path:
    path.mkdir()
    return path


def stored_text(db: Path) -> str:
    """Every value of every table of the warehouse, as text."""
    if not db.exists():
        return ""
    import duckdb

    con = duckdb.connect(str(db), read_only=True)
    try:
        parts = []
        for (table,) in con.execute("SHOW TABLES").fetchall():
            parts.append(
                json.dumps(con.execute(f'SELECT * FROM "{table}"').fetchall(), default=str)
            )
        return "\n".join(parts)
    finally:
        con.close()


def accounting(db: Path) -> list[str]:
    if not db.exists():
        return []
    from pipelines.ingest import row_accounting_problems
    from pipelines.warehouse import connect

    with connect(db, read_only=True) as con:
        return row_accounting_problems(con)


def run_case(case: Case, path: Path, work: Path) -> Result:
    db = work / "wh" / f"{abs(hash(case.name)) % 10**10}.duckdb"
    db.parent.mkdir(exist_ok=True)
    start = time.perf_counter()
    try:
        done = subprocess.run(
            [sys.executable, "-c", CHILD, "ingest", str(path), "--db", str(db)],
            cwd=ROOT,
            capture_output=True,
            timeout=TIME_LIMIT_S,
            env=dict(os.environ, DAGSTER_HOME=str(work / "dagster_home")),
        )
    except subprocess.TimeoutExpired as exc:
        out = (exc.stdout or b"") + (exc.stderr or b"")
        return Result(case, None, TIME_LIMIT_S, None, "(hung: killed)", False, True)
    seconds = time.perf_counter() - start
    out = done.stdout.decode("utf-8", "replace")
    err = done.stderr.decode("utf-8", "replace")
    peak = None
    for line in err.splitlines():
        if line.startswith("REAB-PEAK-KIB"):
            peak = int(line.split()[1]) / 1024
    text = out + err
    printed_or_stored = text + stored_text(db)
    lines = [ln.strip() for ln in out.splitlines() if ln.strip()]
    summary = next(
        (ln for ln in lines if "REJECTED" in ln or "reab:" in ln), lines[-1] if lines else ""
    )
    return Result(
        case,
        done.returncode,
        seconds,
        peak,
        summary[:150],
        "Traceback (most recent call last)" in text or "panicked at" in text,
        False,
        [s for s in SECRETS if s in printed_or_stored],
        accounting(db),
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keep", type=Path, help="work in this folder and keep it")
    args = parser.parse_args()
    work = args.keep or Path(tempfile.mkdtemp(prefix="reab-hostile-"))
    if work.exists() and args.keep:
        shutil.rmtree(work)
    work.mkdir(parents=True, exist_ok=True)
    try:
        base = clean_base(work)
        corpus = work / "corpus"
        corpus.mkdir()
        results = []
        for case in cases():
            folder = corpus / f"{len(results):02d}"
            folder.mkdir()
            path = case.build(folder, base)
            result = run_case(case, path, work)
            results.append(result)
            peak = f"{result.peak_mib:6.0f} MiB" if result.peak_mib else "     ? MiB"
            flags = []
            if result.traceback:
                flags.append("TRACEBACK")
            if result.hang:
                flags.append("HUNG")
            if result.secrets:
                flags.append(f"LEAKED {result.secrets}")
            if result.accounting:
                flags.append(f"ROWS LOST {result.accounting}")
            print(
                f"{case.name[:44]:<44} expect {case.expect:<10} exit {result.exit_code!s:<4} "
                f"{peak} {result.seconds:5.1f} s  {' '.join(flags) or 'ok'}\n"
                f"    {result.first_line.encode('unicode_escape').decode()[:140]}"
            )
        clear = [
            r
            for r in results
            if not r.traceback and not r.hang and r.exit_code is not None and r.first_line
        ]
        rejected_ok = [
            r for r in results if (r.case.expect == "rejected") == (r.exit_code not in (0, None))
        ]
        peaks = [r.peak_mib for r in results if r.peak_mib]
        print()
        print(f"files: {len(results)}")
        print(f"clear messages (no traceback, no hang, a message): {len(clear)}")
        print(f"exit code as expected (non-zero exactly for the rejected): {len(rejected_ok)}")
        print(f"tracebacks: {sum(r.traceback for r in results)} (must be 0)")
        print(f"hangs: {sum(r.hang for r in results)} (must be 0)")
        print(
            f"peak memory per file: max {max(peaks):,.0f} MiB (must stay under "
            f"{MEMORY_LIMIT_MIB:,} MiB)"
        )
        print(f"rows lost (accounting problems): {sum(len(r.accounting) for r in results)} (0)")
        print(f"identifier values stored or printed: {sum(len(r.secrets) for r in results)} (0)")
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
