"""Reading the command line's files: cluster labels (.npy, .pt, .csv, .txt) and embeddings (.npy, .pt), strictly
and in bounded memory.

Every problem with a file is an :class:`InputError` whose message names the
file (and the line, for text files) and says what is wrong in one line: the
command line prints it as it is. :func:`load_labels` and
:func:`load_embeddings` are the entry points.
"""

import array
import csv
import errno
import math
import os
import pickle
import re
import tokenize
import warnings
from typing import List, NamedTuple, Optional, Tuple

import torch

__all__ = ["EMBEDDING_FORMATS", "FORMATS", "InputError", "LabelFile", "is_header_name", "load_embeddings", "load_labels"]

FORMATS = ".npy, .pt, .csv or .txt"
EMBEDDING_FORMATS = ".npy or .pt"
NPY_MAGIC = b"\x93NUMPY"
NPY_VERSIONS = ((1, 0), (2, 0), (3, 0))
INT64_DIGITS = 19  # len(str(2**63)): more significant digits than this cannot fit
# A CSV/TXT label: an optional sign and ASCII digits (int() would also take
# "1_000" and non-ASCII digits). Leading zeros are fine.
INTEGER_TEXT = re.compile(r"[+-]?[0-9]+")
# An integer or a float as written in a CSV file; decides whether a bad label
# is reported as a float.
NUMBER_TEXT = re.compile(
    r"[+-]?(?:[0-9]+\.[0-9]*|\.?[0-9]+)(?:[eE][+-]?[0-9]+)?|[+-]?(?:nan|inf|infinity)", re.IGNORECASE
)
SHOWN_COLUMNS = 8
# The delimiters a header line is searched for, in order, when none is given.
DELIMITERS = (",", ";", "\t", "|")
TAIL_BYTES = 1 << 16  # the end of a file searched for trailing blank lines  # an error lists at most this many of a header's columns
CSV_ENCODING = "utf-8-sig"  # UTF-8, without the byte-order mark of Excel's "CSV UTF-8"
SCAN_CHUNK_BYTES = 1 << 22

class InputError(Exception):
    """A problem with the user's input, reported as one line without a traceback."""


class LabelFile(NamedTuple):
    """The labels read from one file."""

    labels: torch.Tensor
    # The header cell above the labels of a .csv/.txt file; None when every line was a label.
    header: Optional[str]


def _reason(err: BaseException) -> str:
    """The first sentence of a library's error message, for a one-line error; the rest is advice to programmers."""
    lines = str(err).strip().splitlines()
    if not lines:
        return "unexpected end of file" if isinstance(err, EOFError) else type(err).__name__
    return lines[0].split(". ")[0].rstrip(".")


def _quoted(text: str) -> str:
    """A cell as an error message shows it: a 5000-digit cell should not fill the terminal."""
    return repr(text) if len(text) <= 40 else f"{text[:20]!r}... ({len(text)} characters)"


def is_header_name(text: str) -> bool:
    """Whether a first-line cell is a column name rather than a (possibly malformed) label.

    A name starts with a letter (of any script) or an underscore. Anything
    else on a first line ("0x10", "-", "+-1", an Arabic-Indic or fullwidth
    digit) is read as a label, as it would be on any other line, and so refused.
    """
    return bool(text) and (text[0].isalpha() or text[0] == "_") and not NUMBER_TEXT.fullmatch(text)


def _columns(cells: List[str]) -> str:
    """A header's columns as an error message shows them: a 200,000-column header should not fill the terminal."""
    shown = ", ".join(_quoted(cell) if len(cell) > 40 else cell for cell in cells[:SHOWN_COLUMNS])
    return shown + (f", ... ({len(cells)} columns)" if len(cells) > SHOWN_COLUMNS else "")


def _delimiter_name(delimiter: str) -> str:
    return "tabs" if delimiter == "\t" else repr(delimiter)


def _cells(row: List[str]) -> List[str]:
    # csv.reader gives [] for a blank line: one empty cell, which is not a label.
    return [cell.strip() for cell in row] or [""]


def _label(row: List[str], index: int, width: int, column: Optional[str], path: str, line_number: int) -> int:
    """The label in ``row`` at ``index`` of ``width`` fields, or the InputError that says what is wrong with it."""
    where = f"{path}, line {line_number}"
    cells = _cells(row)
    if cells == [""]:
        raise InputError(f"{where}: the label is empty (a blank line among the labels)")
    if column is None and len(cells) != 1:
        raise InputError(f"{where}: {len(cells)} columns in a one-column file; choose one with --column NAME")
    if len(cells) != width:
        # A short row has no such column; a long one would be silently cut.
        raise InputError(f"{where}: the row has {len(cells)} fields but the header has {width}")
    text = cells[index]
    if not text:
        raise InputError(f"{where}: the label is empty")
    if INTEGER_TEXT.fullmatch(text):
        # Counting digits first keeps int() off huge cells (it refuses over 4300 digits).
        value = int(text) if len(text.lstrip("+-").lstrip("0")) <= INT64_DIGITS else None
        if value is None or not -(2**63) <= value < 2**63:
            raise InputError(f"{where}: {_quoted(text)} does not fit in a 64-bit integer")
        return value
    if NUMBER_TEXT.fullmatch(text):
        raise InputError(f"{where}: {_quoted(text)} is a float; cluster labels must be integers")
    hint = " (for a header line that is not a name, pass --header)" if line_number == 1 and column is None else ""
    raise InputError(f"{where}: {_quoted(text)} is not an integer label{hint}")


def _is_blank(row: List[str]) -> bool:
    # A line with a delimiter has fields, even empty ones: it is a row whose label is missing, not a blank line.
    return len(row) <= 1 and all(not cell.strip() for cell in row)


def _read_column_exact(path: str, index: int, width: int, column: Optional[str], skip_header: bool,
                       delimiter: str) -> torch.Tensor:
    """The labels by the csv module, one row at a time (8 bytes a label), or the InputError for the first bad row.

    Blank lines at the end of the file (editors leave them) are no labels; a
    blank line before another label is an error, a missing label.
    """
    labels = array.array("q")
    first_blank = None  # the line number of a run of blank lines not yet followed by a label
    with open(path, newline="", encoding=CSV_ENCODING) as f:
        rows = csv.reader(f, delimiter=delimiter)
        if skip_header:
            next(rows)
        for row in rows:
            if _is_blank(row):
                first_blank = first_blank or rows.line_num
                continue
            if first_blank is not None:
                _label([""], index, width, column, path, first_blank)  # raises: the label is empty
            labels.append(_label(row, index, width, column, path, rows.line_num))
    return torch.frombuffer(labels, dtype=torch.int64) if labels else torch.empty(0, dtype=torch.int64)


class FileScan(NamedTuple):
    lines: int  # a last line without a newline counts
    has_quote: bool
    delimiters_per_line_vary: bool  # whether some line has another number of delimiters than the first
    has_lone_carriage_return: bool  # a \r not followed by \n, which numpy reads as a line end and the count does not


def _scan(path: str, np, delimiter: str = ",") -> FileScan:
    """One pass over the bytes: lines, quotes, and whether every line has as many delimiters as the first.

    Trailing blank lines count as lines here: _trailing_blank_lines tells them apart.
    """
    lines, has_quote, last_byte, varies = 0, False, b"\n", False
    carriage_returns, line_ends = 0, 0  # \r, and \r\n (also across chunks)
    first_commas, commas_in_line = None, 0  # delimiters of the first line; of the line running across chunks
    separator = ord(delimiter)
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(SCAN_CHUNK_BYTES), b""):
            lines += chunk.count(b"\n")
            carriage_returns += chunk.count(b"\r")
            line_ends += chunk.count(b"\r\n") + (last_byte == b"\r" and chunk[:1] == b"\n")
            has_quote = has_quote or b'"' in chunk
            last_byte = chunk[-1:]
            data = np.frombuffer(chunk, dtype=np.uint8)
            newlines = np.flatnonzero(data == ord("\n"))
            commas_before = np.cumsum(data == separator)
            # Commas per line ended in this chunk: differences of the running count at the newlines.
            ends = commas_before[newlines] if newlines.size else commas_before[:0]
            per_line = np.diff(ends, prepend=0)
            if per_line.size:
                per_line[0] += commas_in_line
                if first_commas is None:
                    first_commas = int(per_line[0])
                varies = varies or bool((per_line != first_commas).any())
                commas_in_line = int(commas_before[-1] - ends[-1])
            else:
                commas_in_line += int(commas_before[-1])
    if last_byte != b"\n":
        varies = varies or (first_commas is not None and commas_in_line != first_commas)
    return FileScan(lines + (last_byte != b"\n"), has_quote, varies, carriage_returns != line_ends)


def _trailing_blank_lines(path: str) -> Optional[int]:
    """How many lines at the end of the file are blank (whitespace only); None when they run past the tail read."""
    with open(path, "rb") as f:
        size = f.seek(0, os.SEEK_END)
        f.seek(max(0, size - TAIL_BYTES))
        tail = f.read()
    lines = tail.split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()  # the final newline ends the last line
    blank = 0
    for line in reversed(lines):
        if line.strip():
            return blank
        blank += 1
    return blank if size <= TAIL_BYTES else None


def _read_column_fast(path: str, index: int, column: Optional[str], skip_header: bool,
                      delimiter: str = ",") -> Optional[torch.Tensor]:
    """The labels by numpy's C parser, or None where it cannot vouch for what _read_column_exact would read.

    np.loadtxt reads 10^7 labels in well under a second into one int64 array
    (a list of Python ints took 56 times the file's size), and its integers are
    as strict as _label's: sign, ASCII digits, surrounding whitespace, int64 range.
    But it skips blank lines and quotes differently from the csv module, and
    reads only the column asked for, so it runs only on files without quotes
    whose lines all have as many fields as the first, and must return exactly
    one value for every line but the trailing blank ones; anything else goes
    to the exact reader, which either reads the same labels or names the line
    at fault.
    """
    try:
        import numpy as np
    except ImportError:
        return None
    if np.lib.NumpyVersion(np.__version__) < "1.23.0":  # the C parser and its quotechar came in 1.23
        return None
    if len(delimiter.encode()) != 1:  # the byte scan counts one-byte delimiters
        return None
    scan = _scan(path, np, delimiter)
    trailing = _trailing_blank_lines(path)
    if scan.has_quote or scan.has_lone_carriage_return or trailing is None:
        return None
    # Trailing blank lines have no delimiters; the others must have the first line's.
    lines = scan.lines - trailing
    if scan.delimiters_per_line_vary and not _only_trailing_lines_differ(path, np, delimiter, lines):
        return None
    try:
        with warnings.catch_warnings():
            # numpy 1.23-1.26 read "1.5" as 1 with a DeprecationWarning; a body with no lines warns too.
            warnings.simplefilter("error")
            table = np.loadtxt(
                path,
                dtype=np.int64,
                delimiter=delimiter,
                comments=None,
                quotechar=None,
                skiprows=int(skip_header),
                # Without a column name, a row with several values makes the table wider than 1.
                usecols=None if column is None else [index],
                ndmin=2,
                encoding=CSV_ENCODING,
            )
    except (ValueError, Warning):
        return None
    if table.shape != (lines - skip_header, 1):  # blank lines were skipped, or a row had several values
        return None
    return torch.from_numpy(table.reshape(-1))


def _only_trailing_lines_differ(path: str, np, delimiter: str, body_lines: int) -> bool:
    """Whether the first body_lines lines all have as many delimiters as the first (the rest being blank)."""
    if body_lines <= 0:
        return True
    with open(path, "rb") as f:
        counts = [line.count(delimiter.encode()) for _, line in zip(range(body_lines), f)]
    return len(set(counts)) <= 1


def detect_delimiter(first_line: str) -> str:
    """The first of , ; tab | that the header line holds (a comma when it holds none)."""
    return next((d for d in DELIMITERS if d in first_line), ",")


def _load_csv(path: str, column: Optional[str], header: Optional[bool], delimiter: Optional[str]) -> LabelFile:
    with open(path, newline="", encoding=CSV_ENCODING) as f:
        if delimiter is None:
            delimiter = detect_delimiter(f.readline())
            f.seek(0)
        first_row = next(csv.reader(f, delimiter=delimiter), None)
    if first_row is None:
        raise InputError(f"{path}: the file has no labels")
    first_cells = _cells(first_row)
    if column is not None:
        if column not in first_cells:
            raise InputError(f"{path}: no column {_quoted(column)} in the header (columns: {_columns(first_cells)}; "
                             f"fields split at {_delimiter_name(delimiter)})")
        if first_cells.count(column) > 1:
            raise InputError(f"{path}: the header has {first_cells.count(column)} columns named {column!r}")
        index, skip_header = first_cells.index(column), True
    else:
        if len(first_cells) != 1:
            raise InputError(f"{path}: the file has {len(first_cells)} columns; choose one with --column NAME")
        index = 0
        # A header is a name; any other first line is read (and checked) as a
        # label. Only --header skips a header that is not a name.
        skip_header = header if header is not None else is_header_name(first_cells[0])
    labels = _read_column_fast(path, index, column, skip_header, delimiter)
    if labels is None:
        labels = _read_column_exact(path, index, len(first_cells), column, skip_header, delimiter)
    if labels.numel() == 0:
        raise InputError(f"{path}: the file has no labels")
    return LabelFile(labels, first_cells[index] if skip_header else None)


def _refuse_dtype(path: str, what: str, dtype: object) -> None:
    rule = ("embeddings must be floating-point, of at most 64 bits" if what == "embeddings"
            else "cluster labels must be integers (or bool), of at most 64 bits")
    raise InputError(f"{path}: {what} have dtype {dtype}; {rule}")


# The label dtypes read from .pt files: the integer ones the ops count (not the
# bits dtypes). Embeddings of float dtypes the ops do not read (float8) are
# converted to float64, exactly, as the functions do.
_LABEL_DTYPES = (torch.bool, torch.uint8, torch.int8, torch.int16, torch.int32, torch.int64, torch.uint16, torch.uint32,
                 torch.uint64)


def _load_npy(path: str, what: str = "labels") -> torch.Tensor:
    try:
        import numpy as np  # an optional dependency of the package, needed only here
    except ImportError:
        raise InputError(f"{path}: reading .npy files needs numpy (pip install numpy)") from None
    with open(path, "rb") as f:
        if f.read(len(NPY_MAGIC)) != NPY_MAGIC:
            raise InputError(f"{path}: not a .npy file (write one with numpy.save)")
        f.seek(0)
        try:
            version = np.lib.format.read_magic(f)
            if version not in NPY_VERSIONS:
                raise InputError(f"{path}: .npy format version {version[0]}.{version[1]} is not supported")
            # Versions 2.0 and 3.0 differ only in the encoding of field names, which labels do not have.
            if version == (1, 0):
                shape, _, dtype = np.lib.format.read_array_header_1_0(f)
            else:
                shape, _, dtype = np.lib.format.read_array_header_2_0(f)
            if dtype.kind not in ("f" if what == "embeddings" else "biu") or dtype.itemsize > 8:
                _refuse_dtype(path, what, dtype)
            # The header is checked against the file before numpy allocates what it declares.
            declared_bytes = math.prod(shape) * dtype.itemsize
            data_bytes = os.fstat(f.fileno()).st_size - f.tell()
            if declared_bytes > data_bytes:
                raise InputError(
                    f"{path}: truncated .npy file: its header declares shape {shape} ({declared_bytes} bytes) "
                    f"but {data_bytes} bytes follow"
                )
            f.seek(0)
            array = np.lib.format.read_array(f, allow_pickle=False)
        except (ValueError, EOFError, SyntaxError, OverflowError, MemoryError, tokenize.TokenError) as err:
            # A damaged header reaches numpy's literal parser (SyntaxError, TokenError) or
            # declares sizes past a C long (OverflowError).
            raise InputError(f"{path}: not a readable .npy array of {what} ({_reason(err)})") from None
    # torch.from_numpy takes only native byte order. (np.ascontiguousarray
    # would also turn a 0-d array into a 1-D one, hiding it from the 1-D check.)
    return torch.from_numpy(array.astype(array.dtype.newbyteorder("="), copy=False))


def _unsupported_tensor_kind(value: torch.Tensor) -> Optional[str]:
    """What kind of tensor ``value`` is when it is not a dense one with data, which the ops need."""
    if value.is_nested:
        return "nested tensor"
    if value.is_quantized:
        return "quantized tensor"
    if value.layout != torch.strided:
        return f"{str(value.layout).replace('torch.', '')} tensor"
    if value.is_meta:
        return "meta tensor, which holds no data"
    return None


def _load_pt(path: str, what: str = "labels") -> torch.Tensor:
    try:
        with warnings.catch_warnings():
            # torch.load warns about some payloads (sparse invariants, deprecated
            # quantized types); the checks below say what is wrong in one line.
            warnings.simplefilter("ignore")
            value = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError:
        # Its message is a page of advice on loading untrusted files with weights_only=False.
        raise InputError(
            f"{path}: not a readable torch file (torch.load with weights_only=True refuses it: "
            "it is not a torch file, or it holds Python objects besides tensors)"
        ) from None
    except Exception as err:  # torch.load raises many types for a damaged file (zip, EOF, OS, runtime errors)
        raise InputError(f"{path}: not a readable torch file ({_reason(err)})") from None
    if not isinstance(value, torch.Tensor):
        raise InputError(f"{path}: expected a saved tensor but found a {type(value).__name__}")
    kind = _unsupported_tensor_kind(value)
    if kind is not None:
        expected = "a dense 2-D floating-point tensor" if what == "embeddings" else "a dense 1-D integer tensor"
        raise InputError(f"{path}: expected {expected}, found a {kind}")
    if (what == "embeddings" and not value.is_floating_point()) or (what != "embeddings" and
                                                                   value.dtype not in _LABEL_DTYPES):
        _refuse_dtype(path, what, value.dtype)
    if value.is_floating_point() and value.dtype not in (torch.float16, torch.bfloat16, torch.float32, torch.float64):
        value = value.to(torch.float64)
    return value


def _checked_path(path: str, extensions: Tuple[str, ...], formats: str, what: str) -> str:
    """The file's extension, once the path is known to name a readable regular file of a format we read."""
    extension = os.path.splitext(path)[1].lower()
    if extension not in extensions:
        raise InputError(f"{path}: unknown format {extension or '(no extension)'!r}; expected {formats}")
    if os.path.isdir(path):
        raise InputError(f"{path}: is a directory, not a file of {what}")
    if not os.path.exists(path):
        try:
            os.stat(path)
        except OSError as err:
            if err.errno == errno.ELOOP:
                raise InputError(f"{path}: a loop of symbolic links, which reaches no file") from None
        if os.path.islink(path):
            raise InputError(f"{path}: a broken symbolic link (to {os.readlink(path)!r}, which does not exist)")
        raise InputError(f"{path}: no such file")
    if not os.path.isfile(path):
        # A pipe or device: the CSV reader reads a file more than once.
        raise InputError(f"{path}: not a regular file")
    if os.path.getsize(path) == 0:
        raise InputError(f"{path}: the file is empty")
    return extension


def load_labels(path: str, column: Optional[str] = None, header: Optional[bool] = None,
                delimiter: Optional[str] = None) -> LabelFile:
    """Read one file of cluster labels into a CPU tensor, raising InputError for anything unusable.

    ``column``, ``header`` and ``delimiter`` apply to .csv/.txt files: the
    column to read (by its header name), whether the first line of a
    one-column file is a header (None: when it is a name, see
    is_header_name), and the field delimiter (None: the first of , ; tab |
    that the first line holds).
    """
    try:
        extension = _checked_path(path, (".npy", ".pt", ".csv", ".txt"), FORMATS, "labels")
        if extension == ".npy":
            loaded = LabelFile(_load_npy(path), None)
        elif extension == ".pt":
            loaded = LabelFile(_load_pt(path), None)
        else:
            loaded = _load_csv(path, column, header, delimiter)
    except (OSError, UnicodeDecodeError, csv.Error) as err:
        raise InputError(f"{path}: cannot read the file ({err})") from None
    if loaded.labels.ndim != 1:
        raise InputError(f"{path}: labels must be 1-D but have shape {tuple(loaded.labels.shape)}")
    return loaded


def load_embeddings(path: str) -> torch.Tensor:
    """Read a file of embedded points, one row a sample (a 2-D float array or tensor), into a CPU tensor."""
    try:
        extension = _checked_path(path, (".npy", ".pt"), EMBEDDING_FORMATS, "embeddings")
        data = _load_npy(path, "embeddings") if extension == ".npy" else _load_pt(path, "embeddings")
    except OSError as err:
        raise InputError(f"{path}: cannot read the file ({err})") from None
    if data.ndim != 2:
        raise InputError(f"{path}: embeddings must be 2-D (samples x dimensions) but have shape {tuple(data.shape)}")
    if data.shape[1] == 0:
        raise InputError(f"{path}: the embeddings have no dimensions (shape {tuple(data.shape)})")
    return data
