"""Reading an uploaded CSV file: a staged file read as a stream (`csv_open`, the bulk
configuration) is checked and read exactly as one read whole (`csv_decode`, the sample import),
wherever its megabyte chunks happen to split it."""

import pytest

from apps.core.exceptions import Invalid
from apps.core.uploads import reader
from apps.core.uploads.reader import csv_decode, csv_open, csv_records

FILES = [
    b"a,b\n1,2\n",
    b"\xef\xbb\xbfa;b\r\n1;2,5\r\n",  # a byte-order mark, CRLF, a decimal comma
    b"\n  \n\na;b;c\n1;2;3",  # blank lines first, no newline at the end
    'name,label\n1,"Zähler\nzwei"\r\n2,Ölzähler\n'.encode(),  # a quoted cell over two lines
    b"a\rb\r1\r",  # old Mac line ends
    b'"x;y",z\n1,2\n',  # the delimiter inside quotes does not count
]
BROKEN = [
    (b"", None, "The file is empty."),
    (b" \n\t\n", None, "The file is empty."),
    (b"a,b\n1,2\n3,\xff\n", 3, "The file is not UTF-8 text"),
    (b"a,b\n1,\xc3", 2, "The file is not UTF-8 text"),  # cut inside a character at the very end
    ("a,b\nä,ö\n1,\x00\n".encode(), 3, "The file is not a text file."),
]


@pytest.fixture(params=[1, 2, 3, 1024 * 1024], ids=lambda size: f"chunks of {size} bytes")
def chunk(request, monkeypatch):
    monkeypatch.setattr(reader, "_CHUNK", request.param)


@pytest.mark.parametrize("data", FILES)
def test_a_streamed_file_reads_as_the_same_records_as_a_decoded_one(tmp_path, chunk, data):
    path = tmp_path / "file.csv"
    path.write_bytes(data)

    whole = csv_decode(data)
    streamed = csv_open(path)

    assert streamed.delimiter == whole.delimiter
    assert list(csv_records(streamed)) == list(csv_records(whole))


@pytest.mark.parametrize(("data", "line", "message"), BROKEN)
def test_a_streamed_file_is_refused_as_a_decoded_one_is(tmp_path, chunk, data, line, message):
    path = tmp_path / "file.csv"
    path.write_bytes(data)

    with pytest.raises(Invalid) as whole:
        csv_decode(data)
    with pytest.raises(Invalid) as streamed:
        csv_open(path)

    assert (streamed.value.index, streamed.value.message) == (whole.value.index, whole.value.message)
    assert (streamed.value.index, streamed.value.message[: len(message)]) == (line, message)


def test_a_file_over_the_limit_is_refused_before_it_is_read(tmp_path):
    path = tmp_path / "file.csv"
    path.write_bytes(b"a,b\n" * 30)

    with pytest.raises(Invalid) as caught:
        csv_open(path, limit=100)

    assert caught.value.message == "The file is larger than 100 bytes (120 bytes)."
