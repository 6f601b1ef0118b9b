"""Reading users' tables: format, encoding and delimiter detection, every cell kept as text for validation.

Conventions
-----------
- **Format.** Parquet is recognised by its magic bytes (``PAR1``), gzip by ``1f 8b``; anything else is read
  as delimited text.
- **Encoding.** A byte-order mark decides (UTF-8, UTF-16, UTF-32). Without one, NUL bytes in alternate
  positions mean UTF-16 LE/BE. Otherwise UTF-8 is tried; when the bytes are not valid UTF-8, charset-normalizer
  ranks the usual export encodings (:data:`CANDIDATE_ENCODINGS`: GB18030/GBK, Big5, Shift-JIS (cp932),
  EUC-JP, EUC-KR (cp949), the Windows code pages). A multi-byte East Asian encoding is used when it is the only
  plausible reading; when two plausible readings give different text (too few non-ASCII characters to tell
  GB18030 from EUC-KR, say) the file is refused with both readings shown and the fix ``encoding=``
  (``--encoding``). Single-byte Western text cannot be told apart reliably (cp1250 and cp1252 decode the same
  bytes to different letters): it is decoded as **cp1252** (the Windows/Excel export encoding) whenever that is
  a plausible reading, and a warning always says so. Pass ``encoding=`` to force one.
- **Delimiter.** The candidates ``,`` ``;`` tab ``|`` are tried on the first lines; the one that splits the
  header into most fields with the same field count on the following lines wins; else runs of whitespace;
  else the file has a single column (and the caller reports the unrecognised delimiter).
- **Blank lines** (or lines of empty fields only) are not rows; they still count in line numbers.
- **Row numbers.** For text files ``row`` is the 1-based line number in the file with the header on line 1,
  so the first data row is row 2 (a quoted field spanning several lines shifts the numbers after it). For
  Parquet files ``row`` is the 1-based record number.
"""

from __future__ import annotations

import codecs
import csv
import gzip
import io
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import charset_normalizer
import pandas as pd

from ltvlab.errors import DataValidationError

DELIMITERS: tuple[str, ...] = (",", ";", "\t", "|")
WHITESPACE = "whitespace"
_SAMPLE_BYTES = 1 << 16
_SAMPLE_LINES = 25
_FALLBACK_ENCODING = "cp1252"
CANDIDATE_ENCODINGS: tuple[str, ...] = (
    "gb18030",
    "big5",
    "cp932",
    "euc_jp",
    "cp949",
    "cp1252",
    "cp1250",
    "cp1251",
    "cp1253",
    "cp1254",
    "cp1257",
    "koi8_r",
)
_MULTIBYTE = {"gb18030", "big5", "cp932", "euc_jp", "cp949"}
# Readings within these margins of charset-normalizer's best are taken as equally plausible (its own
# chaos/coherence scores lie in [0, 1]; 0.05 is one notch of its mess detector's ratios).
_CHAOS_MARGIN = 0.05
_COHERENCE_MARGIN = 0.05


@dataclass(frozen=True, slots=True)
class RawTable:
    """A table as read from a file, before validation.

    ``frame`` holds text columns for delimited files (missing fields of short rows are NA, empty fields are
    ``""``) and the stored types for Parquet. ``rows`` holds each record's row number (see module docstring);
    ``malformed`` maps row numbers of records with the wrong number of fields to a reason.
    """

    frame: pd.DataFrame
    rows: pd.Series
    file_format: str  # "csv" or "parquet"
    encoding: str | None
    delimiter: str | None  # one of DELIMITERS, "whitespace", or None (single column / Parquet)
    malformed: dict[int, str]
    warnings: tuple[str, ...]


def read_table(path: str | Path, *, encoding: str | None = None) -> RawTable:
    """Read a CSV/TSV/whitespace-delimited text file (optionally gzipped) or a Parquet file.

    Raises
    ------
    DataValidationError
        The file is missing, empty, binary, not decodable, header only, or has duplicate column names.
    """
    path = Path(path)
    if encoding is not None:
        encoding = check_encoding(encoding, path.name)
    try:
        return _read_table(path, encoding)
    except OSError as exc:
        raise DataValidationError(
            f"{path.name}: cannot be read ({exc.strerror or exc}); check the path and its permissions"
        ) from None


def check_encoding(encoding: str, file_name: str = "") -> str:
    """The codec name of ``encoding``; raise a :class:`DataValidationError` for an unknown one."""
    try:
        return codecs.lookup(encoding).name
    except (LookupError, TypeError, ValueError):
        where = f"{file_name}: " if file_name else ""
        raise DataValidationError(
            f"{where}unknown encoding {encoding!r}; pass a Python codec name such as utf-8, gb18030, big5, "
            "shift_jis, cp1252 or utf-16 (--encoding NAME)"
        ) from None


def _read_table(path: Path, encoding: str | None) -> RawTable:
    if path.is_dir():
        raise DataValidationError(f"{path}: is a folder; give the path of a CSV or Parquet file")
    if not path.is_file():
        raise DataValidationError(f"{path}: file not found; check the path")
    with open(path, "rb") as handle:
        head = handle.read(_SAMPLE_BYTES)
    name = path.name
    if not head.strip():
        raise DataValidationError(
            f"{name}: the file is empty; export the table again with a header row and data rows"
        )
    if head.startswith(b"PAR1"):
        return _read_parquet(path)
    if head.startswith(b"PK\x03\x04"):
        raise DataValidationError(
            f"{name}: this is a zip archive (an Excel workbook?), not a CSV file; save the sheet as CSV or "
            "Parquet and load that"
        )
    opener = _open_gzip if head.startswith(b"\x1f\x8b") else _open_plain
    if opener is _open_gzip:
        try:
            with gzip.open(path, "rb") as handle:
                head = handle.read(_SAMPLE_BYTES)
        except (OSError, EOFError) as exc:
            raise DataValidationError(f"{name}: damaged gzip file ({exc}); compress it again") from None
    notes: list[str] = []
    if encoding is None:
        encoding = _detect_encoding(head, name, notes)
    try:
        return _read_text(path, opener, encoding, name, notes)
    except csv.Error as exc:
        raise DataValidationError(
            f"{name}: cannot be split into fields ({exc}); a quote opened and never closed makes one huge "
            "field: fix the quoting (or remove the over-long field)"
        ) from None
    except UnicodeDecodeError as exc:
        if encoding not in ("utf-8", "utf-8-sig"):
            raise DataValidationError(
                f"{name}: cannot be decoded as {encoding} ({exc.reason} at byte {exc.start}); "
                "save the file as UTF-8 or pass the right encoding"
            ) from None
        # The sample was valid UTF-8 but a later part is not: detect on the whole file.
        data = _read_all(path, opener)
        data = data[max(exc.start - _SAMPLE_BYTES // 2, 0) : exc.start + _SAMPLE_BYTES // 2]
        fallback = _detect_legacy(data, name, notes)
        return _read_text(path, opener, fallback, name, notes)


def _open_plain(path: Path) -> io.BufferedReader:
    return open(path, "rb")


def _open_gzip(path: Path) -> io.BufferedIOBase:
    return gzip.open(path, "rb")


def _read_all(path: Path, opener) -> bytes:
    with opener(path) as handle:
        return handle.read()


def _fallback_note(name: str, fallback: str) -> str:
    return (
        f"{name}: not valid UTF-8; decoded as {fallback} (the usual Windows/Excel export encoding). "
        "If accented text looks wrong, save the file as UTF-8 or pass encoding= (--encoding)"
    )


def _non_ascii_words(text: str, limit: int = 3) -> str:
    words = []
    for word in text.replace(",", " ").replace(";", " ").replace("\t", " ").split():
        if any(ord(c) > 127 for c in word) and word not in words:
            words.append(word[:20])
        if len(words) == limit:
            break
    return " ".join(words)


def _detect_legacy(data: bytes, name: str, notes: list[str]) -> str:
    """The encoding of bytes that are not UTF-8 (see the module docstring), or a clear refusal."""
    matches = charset_normalizer.from_bytes(data, cp_isolation=list(CANDIDATE_ENCODINGS))
    best = matches.best()
    if best is None:
        if _decodes(data, _FALLBACK_ENCODING):
            notes.append(_fallback_note(name, _FALLBACK_ENCODING))
            return _FALLBACK_ENCODING
        raise DataValidationError(
            f"{name}: the text encoding could not be recognised (not UTF-8, and no usual export encoding "
            "reads it cleanly); save the file as UTF-8 or pass the encoding (--encoding NAME, encoding=)"
        )
    plausible = [
        m
        for m in matches
        if m.chaos <= best.chaos + _CHAOS_MARGIN and m.coherence >= best.coherence - _COHERENCE_MARGIN
    ]
    best_name = codecs.lookup(best.encoding).name
    if best_name in _MULTIBYTE or any(codecs.lookup(m.encoding).name in _MULTIBYTE for m in plausible):
        text = str(best)
        rivals = [m for m in plausible if str(m) != text]
        if rivals:
            readings = "; ".join(
                f"as {codecs.lookup(m.encoding).name}: {_non_ascii_words(str(m))}"
                for m in [best, *rivals[:2]]
            )
            options = ", ".join(codecs.lookup(m.encoding).name for m in [best, *rivals[:2]])
            raise DataValidationError(
                f"{name}: the text encoding is uncertain (not UTF-8; readings differ: {readings}); pass the "
                f"right one with --encoding NAME (encoding= in Python), e.g. one of {options}, or save the file "
                "as UTF-8"
            )
        notes.append(f"{name}: not valid UTF-8; detected and decoded as {best_name}")
        return best_name
    names = {codecs.lookup(m.encoding).name for m in plausible}
    chosen = _FALLBACK_ENCODING if (_FALLBACK_ENCODING in names or str(best) == _decoded(data)) else best_name
    notes.append(_fallback_note(name, chosen))
    return chosen


def _decodes(data: bytes, encoding: str) -> bool:
    try:
        data.decode(encoding)
    except UnicodeDecodeError:
        return False
    return True


def _decoded(data: bytes) -> str | None:
    try:
        return data.decode(_FALLBACK_ENCODING)
    except UnicodeDecodeError:
        return None


def _detect_encoding(head: bytes, name: str, notes: list[str]) -> str:
    if head.startswith((codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE)):
        return "utf-32"
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if b"\x00" in head:
        even_nul = head[0::2].count(0) / max(len(head[0::2]), 1)
        odd_nul = head[1::2].count(0) / max(len(head[1::2]), 1)
        if odd_nul > 0.3 and even_nul < 0.05:
            notes.append(f"{name}: UTF-16 without byte-order mark; decoded as UTF-16 little-endian")
            return "utf-16-le"
        if even_nul > 0.3 and odd_nul < 0.05:
            notes.append(f"{name}: UTF-16 without byte-order mark; decoded as UTF-16 big-endian")
            return "utf-16-be"
        raise DataValidationError(
            f"{name}: binary data (NUL bytes), not a text CSV file; export the table as CSV (UTF-8) or Parquet"
        )
    decoder = codecs.getincrementaldecoder("utf-8")()
    try:
        decoder.decode(head, final=False)
    except UnicodeDecodeError:
        return _detect_legacy(_whole_characters(head), name, notes)
    return "utf-8"


def _whole_characters(head: bytes) -> bytes:
    """The sample cut at its last line break, so no multi-byte character is split at the end."""
    cut = head.rfind(b"\n")
    return head[: cut + 1] if cut > 0 and len(head) >= _SAMPLE_BYTES else head


def _read_text(path: Path, opener, encoding: str, name: str, notes: list[str]) -> RawTable:
    with opener(path) as raw:
        text = io.TextIOWrapper(raw, encoding=encoding, newline="")
        sample = text.read(_SAMPLE_BYTES)
    lines = [line for line in sample.splitlines() if line.strip()]
    if len(sample) >= _SAMPLE_BYTES and len(lines) > 1:
        lines = lines[:-1]  # the last line of a cut sample may be partial
    lines = lines[:_SAMPLE_LINES]
    if not lines:
        raise DataValidationError(f"{name}: the file is empty; export the table again with a header and data")
    delimiter = _detect_delimiter(lines)
    header = _split(lines[0], delimiter)
    header = [h.strip() for h in header]
    duplicates = sorted(h for h, n in Counter(header).items() if n > 1)
    if duplicates:
        raise DataValidationError(
            f"{name} row 1: column name(s) {duplicates} appear more than once in the header; "
            "rename them so every column name is unique"
        )
    if len(lines) == 1 and _count_data_lines(path, opener, encoding) == 0:
        raise DataValidationError(
            f"{name}: has a header ({', '.join(header)}) but no data rows; export the data rows too"
        )
    frame, rows, malformed = _parse(path, opener, encoding, delimiter, header, name)
    if len(frame) == 0 and not malformed:
        raise DataValidationError(
            f"{name}: has a header ({', '.join(header)}) but no data rows; export the data rows too"
        )
    return RawTable(
        frame=frame,
        rows=rows,
        file_format="csv",
        encoding=encoding,
        delimiter=delimiter,
        malformed=malformed,
        warnings=tuple(notes),
    )


def _count_data_lines(path: Path, opener, encoding: str) -> int:
    with opener(path) as raw:
        text = io.TextIOWrapper(raw, encoding=encoding, newline="")
        count = sum(1 for line in text if line.strip())
    return max(count - 1, 0)


def _split(line: str, delimiter: str | None) -> list[str]:
    if delimiter is None:
        return [line]
    if delimiter == WHITESPACE:
        return line.split()
    return next(csv.reader([line], delimiter=delimiter))


def _detect_delimiter(lines: list[str]) -> str | None:
    best: tuple[int, str] | None = None
    for candidate in DELIMITERS:
        counts = [len(fields) for fields in csv.reader(lines, delimiter=candidate)]
        n_header = counts[0]
        if n_header < 2:
            continue
        body = counts[1:]
        consistent = not body or sum(c == n_header for c in body) >= 0.5 * len(body)
        if consistent and (best is None or n_header > best[0]):
            best = (n_header, candidate)
    if best is not None:
        return best[1]
    counts = [len(line.split()) for line in lines]
    if counts[0] >= 2 and sum(c == counts[0] for c in counts[1:]) >= 0.5 * max(len(counts) - 1, 1):
        return WHITESPACE
    return None


def _parse(
    path: Path, opener, encoding: str, delimiter: str | None, header: list[str], name: str
) -> tuple[pd.DataFrame, pd.Series, dict[int, str]]:
    """Parse with pandas' C engine; fall back to the csv module when a row may have too many or too few
    fields (the C engine raises on the first, and pads the second like an empty last field)."""
    if delimiter is None:  # one column: every line is one field, whatever characters it holds
        return _parse_python(path, opener, encoding, delimiter, header, name)
    sep = r"\s+" if delimiter == WHITESPACE else delimiter
    with opener(path) as raw:
        try:
            frame = pd.read_csv(
                raw,
                sep=sep,
                encoding=encoding,
                dtype=str,
                keep_default_na=False,
                na_values=[],
                skip_blank_lines=False,
                engine="c",
                header=0,
            )
        except pd.errors.ParserError:
            frame = None
        except pd.errors.EmptyDataError:
            frame = pd.DataFrame(columns=header)
    if frame is None:
        return _parse_python(path, opener, encoding, delimiter, header, name)
    frame.columns = header
    rows = pd.Series(range(2, len(frame) + 2), index=frame.index, dtype="int64")
    blank = (frame.isna() | (frame == "")).all(axis=1)  # blank lines, or lines of empty fields only
    frame, rows = frame.loc[~blank], rows.loc[~blank]
    if len(frame.columns) > 1 and (frame.iloc[:, -1] == "").any():
        # The C engine pads short rows with "" like empty trailing fields; only the csv module tells them apart.
        return _parse_python(path, opener, encoding, delimiter, header, name)
    return frame.reset_index(drop=True), rows.reset_index(drop=True), {}


def _numbered_records(text: io.TextIOBase, delimiter: str | None) -> Iterator[tuple[int, int, list[str]]]:
    """``(first line, last line, fields)`` of each record; a quoted field may span several lines."""
    if delimiter in (WHITESPACE, None):
        for number, line in enumerate(text, start=1):
            yield number, number, line.split() if delimiter else [line.rstrip("\r\n")]
        return
    reader = csv.reader(text, delimiter=delimiter or "\x1f")
    last = 0
    for fields in reader:
        yield last + 1, reader.line_num, fields
        last = reader.line_num


def _parse_python(
    path: Path, opener, encoding: str, delimiter: str | None, header: list[str], name: str
) -> tuple[pd.DataFrame, pd.Series, dict[int, str]]:
    records: list[list[str | None]] = []
    rows: list[int] = []
    malformed: dict[int, str] = {}
    width = len(header)
    with opener(path) as raw:
        text = io.TextIOWrapper(raw, encoding=encoding, newline="")
        for first, last, fields in _numbered_records(text, delimiter):
            if first == 1 or not any(f.strip() for f in fields):
                continue
            rows.append(first)
            if len(fields) != width:
                if last > first:
                    raise DataValidationError(
                        f"{name} row {first:,}: a quoted field opened on this line is never closed (the record "
                        f"runs to line {last:,} with {len(fields)} field(s)); fix the quotes on that line"
                    )
                malformed[first] = f"has {len(fields)} field(s), the header has {width}"
                fields = (list(fields) + [None] * width)[:width]
            records.append(fields)
    frame = pd.DataFrame(records, columns=header, dtype="str")
    return frame, pd.Series(rows, dtype="int64"), malformed


def _read_parquet(path: Path) -> RawTable:
    try:
        frame = pd.read_parquet(path)
    except Exception as exc:  # pyarrow raises several types for damaged files
        raise DataValidationError(
            f"{path.name}: not a readable Parquet file ({type(exc).__name__}: {str(exc).splitlines()[0]}); "
            "write it again or export it as CSV"
        ) from None
    if len(frame) == 0:
        raise DataValidationError(
            f"{path.name}: has columns ({', '.join(map(str, frame.columns))}) but no rows; write the data too"
        )
    frame.columns = [str(c).strip() for c in frame.columns]
    frame = frame.reset_index(drop=True)
    rows = pd.Series(range(1, len(frame) + 1), dtype="int64")
    return RawTable(
        frame=frame,
        rows=rows,
        file_format="parquet",
        encoding=None,
        delimiter=None,
        malformed={},
        warnings=(),
    )
