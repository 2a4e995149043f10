"""The media endpoints' body parser (``media.forms``: multipart/form-data or JSON) on
arbitrary bytes and content types: it raises nothing but the API's ``InvalidRequest``, and
a form encoded the way clients encode one comes back field for field."""

from __future__ import annotations

from fuzz_profile import counted
from gateway import errors
from gateway.media import forms
from hypothesis import assume, given
from hypothesis import strategies as st

BOUNDARY = "fuzzBoundary7MA4YWxkTrZu0gW"
field_names = st.text(
    alphabet=st.characters(exclude_categories=["Cs", "Cc"], exclude_characters='"\\;'),
    min_size=1, max_size=12,
)  # fmt: skip
texts = st.text(alphabet=st.characters(exclude_categories=["Cs"]), max_size=40)
files = st.tuples(
    st.text(alphabet="abcdefghij._-", min_size=1, max_size=12),
    st.sampled_from(["image/png", "image/jpeg", "application/octet-stream"]),
    st.binary(max_size=200),
)
# Header values reach the app decoded as latin-1 (ASGI), so only those characters occur.
latin1 = st.text(alphabet=st.characters(max_codepoint=255), max_size=40)
content_types = st.one_of(
    st.just(f"multipart/form-data; boundary={BOUNDARY}"),
    st.just("multipart/form-data"),
    st.just("application/json"),
    latin1,
    st.builds(lambda b: f"multipart/form-data; boundary={b}", latin1),
)
body_pieces = st.sampled_from([
    f"--{BOUNDARY}\r\n".encode(), f"--{BOUNDARY}--\r\n".encode(), b"\r\n",
    b'Content-Disposition: form-data; name="prompt"\r\n',
    b'Content-Disposition: form-data; name="image"; filename="a.png"\r\n',
    b"Content-Type: image/png\r\n", b"\x89PNG\r\n\x1a\n", b"\xff\xfe", b'{"prompt": 1}',
])  # fmt: skip
bodies = st.lists(body_pieces | st.binary(max_size=30), max_size=14).map(b"".join)


def encode(
    values: list[tuple[str, str]], uploads: list[tuple[str, tuple[str, str, bytes]]]
) -> bytes:
    out = bytearray()
    for name, value in values:
        out += f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'.encode()
        out += value.encode() + b"\r\n"
    for name, (filename, content_type, data) in uploads:
        out += (f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{name}"; '
                f'filename="{filename}"\r\nContent-Type: {content_type}\r\n\r\n').encode()
        out += data + b"\r\n"
    return bytes(out + f"--{BOUNDARY}--\r\n".encode())


@given(body=bodies | st.binary(max_size=300), content_type=content_types, json_ok=st.booleans())
def test_any_body_parses_or_is_an_invalid_request(
    body: bytes, content_type: str, json_ok: bool
) -> None:
    counted()
    try:
        form = forms.parse(body, content_type, json_ok=json_ok)
    except errors.InvalidRequest as exc:
        assert exc.status == 400 and exc.message
        return
    assert isinstance(form.values, dict) and isinstance(form.files, dict)


@given(
    values=st.lists(st.tuples(field_names, texts), max_size=5),
    uploads=st.lists(st.tuples(field_names, files), max_size=3),
)
def test_an_encoded_form_round_trips(
    values: list[tuple[str, str]], uploads: list[tuple[str, tuple[str, str, bytes]]]
) -> None:
    counted()
    body = encode(values, uploads)
    assume(BOUNDARY.encode() not in b"".join(data for _, (_, _, data) in uploads))
    form = forms.parse(body, f"multipart/form-data; boundary={BOUNDARY}", json_ok=False)
    expected_values: dict[str, list[str]] = {}
    for name, value in values:
        expected_values.setdefault(name, []).append(value)
    assert form.values == expected_values
    got = [(p.field, p.filename, p.content_type, p.data) for ps in form.files.values() for p in ps]
    expected = [(name, fn, ct, data) for name, (fn, ct, data) in uploads]
    assert sorted(got) == sorted(expected)
