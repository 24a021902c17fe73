"""Every error class, each raised by a real bad input, carrying the library's
status and message.

Not raised here: OutOfMemoryError (no input reliably exhausts memory: even a
context of 2**20 tokens is granted by the allocator's lazy mapping),
InternalError (a library bug by definition) and BufferTooSmallError (the
binding sizes buffers itself; test_tokens covers inputs far past the first guess)."""
from __future__ import annotations

import dataclasses
import os
import pickle
import subprocess
import sys

import pytest

import make_tiny_models as mk
import swiftlet
from swiftlet import Status
from swiftlet.errors import ModelLoadError

from conftest import PARIS_PROMPT


def _tiny_variant(tmp_path: object, **changes: object) -> str:
    spec = dataclasses.replace(mk.STANDARD_SPECS[0], **changes)  # type: ignore[arg-type]
    return mk.write_model(spec, os.path.join(str(tmp_path), "variant.gguf"))


# ----------------------------------------------------------- loading models


def test_missing_file(tmp_path: object) -> None:
    path = os.path.join(str(tmp_path), "no-such-model.gguf")
    with pytest.raises(ModelLoadError) as caught:
        swiftlet.Model(path)
    error = caught.value
    assert isinstance(error, swiftlet.FileIOError) and isinstance(error, OSError)
    assert error.status == Status.IO
    assert "no-such-model.gguf" in error.message
    assert error.message in str(error)


def test_not_a_gguf_file(tmp_path: object) -> None:
    path = os.path.join(str(tmp_path), "notes.gguf")
    with open(path, "w") as handle:
        handle.write("these are not the weights you are looking for\n" * 10)
    with pytest.raises(swiftlet.InvalidFileError) as caught:
        swiftlet.Model(path)
    assert isinstance(caught.value, ModelLoadError) and caught.value.status == Status.INVALID_FILE


def test_truncated_file(tmp_path: object, tiny_path: str) -> None:
    path = os.path.join(str(tmp_path), "truncated.gguf")
    with open(tiny_path, "rb") as source, open(path, "wb") as target:
        data = source.read()
        target.write(data[:len(data) // 2])
    with pytest.raises(swiftlet.InvalidFileError) as caught:
        swiftlet.Model(path)
    assert isinstance(caught.value, ModelLoadError)


def test_inconsistent_tensor_shape(tmp_path: object) -> None:
    with pytest.raises(swiftlet.InvalidFileError, match="blk.0.ffn_up.weight"):
        swiftlet.Model(_tiny_variant(tmp_path, transpose_tensor="blk.0.ffn_up.weight"))


def test_unsupported_architecture(tmp_path: object) -> None:
    with pytest.raises(swiftlet.UnsupportedError) as caught:
        swiftlet.Model(_tiny_variant(tmp_path, architecture="mamba"))
    assert isinstance(caught.value, ModelLoadError)
    assert caught.value.status == Status.UNSUPPORTED and "mamba" in caught.value.message


def test_missing_tensor(tmp_path: object) -> None:
    with pytest.raises(swiftlet.NotFoundError) as caught:
        swiftlet.Model(_tiny_variant(tmp_path, drop_tensor="blk.0.attn_q.weight"))
    assert isinstance(caught.value, ModelLoadError) and isinstance(caught.value, KeyError)
    assert "blk.0.attn_q.weight" in caught.value.message


def test_invalid_load_parameter(tiny_path: str) -> None:
    with pytest.raises(swiftlet.InvalidArgumentError) as caught:
        swiftlet.Model(tiny_path, n_threads=-1)
    assert isinstance(caught.value, ModelLoadError) and isinstance(caught.value, ValueError)


# ------------------------------------------------------------ using models


def test_unknown_metadata_key(tiny: swiftlet.Model) -> None:
    with pytest.raises(swiftlet.NotFoundError) as caught:
        tiny.metadata("no.such.key")
    assert isinstance(caught.value, KeyError) and not isinstance(caught.value, ModelLoadError)
    assert caught.value.status == Status.NOT_FOUND


def test_bad_token_ids(tiny: swiftlet.Model) -> None:
    for bad in (tiny.n_vocab, -1, 2**40):
        with pytest.raises(swiftlet.InvalidArgumentError):
            tiny.detokenize([1, bad])
        with pytest.raises(swiftlet.InvalidArgumentError):
            tiny.token_to_bytes(bad)
    with tiny.context() as context:
        with pytest.raises(swiftlet.InvalidArgumentError) as caught:
            context.eval([3, tiny.n_vocab + 5])
        assert str(tiny.n_vocab + 5) in caught.value.message
        assert context.position == 0
        with pytest.raises(swiftlet.InvalidArgumentError):
            context.eval([])


def test_bad_sampling_values(tiny: swiftlet.Model) -> None:
    for options in ({"top_p": 1.5}, {"min_p": -0.1}, {"temperature": float("nan")}, {"temperature": -1.0}):
        with pytest.raises(swiftlet.InvalidArgumentError):
            tiny.generate("hello", max_tokens=2, **options)  # type: ignore[call-overload]
        with pytest.raises(swiftlet.InvalidArgumentError):
            swiftlet.Sampler(**options)  # type: ignore[arg-type]
    with pytest.raises(swiftlet.InvalidArgumentError):
        tiny.generate("hello", max_tokens=-3)


def test_empty_prompt_with_nothing_to_continue(tiny: swiftlet.Model) -> None:
    with pytest.raises(swiftlet.InvalidArgumentError, match="empty"):
        tiny.generate("")
    with tiny.context() as context, pytest.raises(swiftlet.InvalidArgumentError):
        context.sample()  # no logits yet


def test_context_full(tiny: swiftlet.Model) -> None:
    with tiny.context(n_ctx=8) as context:
        context.eval([1, 2, 3, 4, 5])
        with pytest.raises(swiftlet.ContextFullError) as caught:
            context.eval([6, 7, 8, 9])
        assert caught.value.status == Status.CONTEXT_FULL
        assert context.position == 5  # nothing was evaluated


def test_cancelled(tiny: swiftlet.Model) -> None:
    with tiny.context() as context:
        stream = context.generate("hello", max_tokens=50, temperature=0.5, seed=1, stream=True)
        next(stream)
        context.cancel()  # from this thread, while the stream's call runs on its worker
        with pytest.raises(swiftlet.CancelledError) as caught:
            stream.text()
        assert caught.value.status == Status.CANCELLED
        assert context.generate(" again", max_tokens=3)  # the next call is not cancelled


def test_busy_is_a_context_busy_error() -> None:
    error = swiftlet.errors.error_for(Status.BUSY, "the context is in use by another call")
    assert isinstance(error, swiftlet.ContextBusyError) and isinstance(error, RuntimeError)
    assert error.status == Status.BUSY and "in use" in str(error)


def test_a_load_cancelled_by_its_progress_callback(tiny_path: str) -> None:
    seen: list[float] = []
    with swiftlet.Model(tiny_path, progress=seen.append) as loaded:  # None: go on
        assert loaded.n_vocab == 300
    assert seen and seen[-1] == 1.0 and seen == sorted(seen) and 0 <= seen[0]
    before = swiftlet.memory_info()
    with pytest.raises(swiftlet.CancelledError) as caught:
        swiftlet.Model(tiny_path, progress=lambda fraction: fraction < 0.5)
    assert isinstance(caught.value, ModelLoadError) and caught.value.status == Status.CANCELLED
    assert swiftlet.memory_info() == before  # everything the load had taken was given back

    def fails(fraction: float) -> bool:
        raise ZeroDivisionError("from the progress callback")

    with pytest.raises(ZeroDivisionError):  # raised to the caller, and the load is cancelled
        swiftlet.Model(tiny_path, progress=fails)
    assert swiftlet.memory_info() == before


def _with_template(tmp_path: object, tiny_path: str, template: str) -> str:
    """A copy of a tiny model with another chat template, made with gguf's own
    metadata editor (gguf_new_metadata)."""
    path = os.path.join(str(tmp_path), "template.gguf")
    subprocess.run([sys.executable, "-m", "gguf.scripts.gguf_new_metadata", "--chat-template", template,
                    "--force", tiny_path, path], check=True, capture_output=True)
    return path


def test_chat_template_that_does_not_parse(tmp_path: object, tiny_path: str) -> None:
    """The model loads; chat with its own template fails, a caller's template works."""
    path = _with_template(tmp_path, tiny_path, "{% for message in messages %}{{ message.content }")
    messages = [{"role": "user", "content": "hi"}]
    with swiftlet.Model(path) as model:
        with pytest.raises(swiftlet.TemplateError) as caught:
            model.chat_format(messages)
        assert not isinstance(caught.value, ModelLoadError) and caught.value.status == Status.TEMPLATE
        assert "syntax error" in caught.value.message
        with pytest.raises(swiftlet.TemplateError):
            model.chat(messages, max_tokens=2)
        own = "{% for m in messages %}{{ m.role }}: {{ m.content }}\n{% endfor %}"
        assert model.chat_format(messages, chat_template=own) == "user: hi\n"
        assert isinstance(model.chat(messages, max_tokens=2, temperature=0, chat_template=own), str)


def test_chat_template_that_fails_to_render(tmp_path: object, tiny_path: str) -> None:
    path = _with_template(tmp_path, tiny_path, "{{ raise_exception('only system messages, please') }}")
    with swiftlet.Model(path) as broken:
        messages = [{"role": "user", "content": "hi"}]
        with pytest.raises(swiftlet.TemplateError, match="only system messages") as caught:
            broken.chat_format(messages)
        assert not isinstance(caught.value, ModelLoadError)
        with pytest.raises(swiftlet.TemplateError):
            broken.chat(messages, max_tokens=2)
        assert broken.generate("hello", max_tokens=2, temperature=0)  # the model itself is fine


def test_closed_objects(tiny_path: str) -> None:
    model = swiftlet.Model(tiny_path)
    context = model.context()
    context.close()
    with pytest.raises(ValueError, match="closed"):
        context.eval([1])
    model.close()
    with pytest.raises(ValueError, match="closed"):
        model.tokenize("hi")
    with pytest.raises(ValueError, match="closed"):
        model.context()
    model.close()  # idempotent
    context.close()


def test_errors_pickle_and_show_their_status(model: swiftlet.Model) -> None:
    try:
        model.metadata("missing.key")
    except swiftlet.SwiftletError as error:
        copy = pickle.loads(pickle.dumps(error))
        assert type(copy) is type(error) and copy.status == error.status and copy.message == error.message
        assert "not found" in str(error)
        assert repr(error).startswith("NotFoundError(status=NOT_FOUND")
    else:
        pytest.fail("no error")
    assert model.generate(PARIS_PROMPT, max_tokens=1, temperature=0)  # the model is unaffected


@pytest.mark.parametrize("contents", [None, b"\x7fELF not really a library"])
def test_library_error_for_a_bad_override(tmp_path: object, tiny_path: str, contents: object) -> None:
    path = os.path.join(str(tmp_path), "libswiftlet.so")
    if contents is not None:
        with open(path, "wb") as handle:
            handle.write(contents)  # type: ignore[arg-type]
    script = ("import swiftlet\n"
              "try:\n    swiftlet.Model(%r)\n"
              "except swiftlet.LibraryError as e:\n    print('LibraryError', e)\n") % tiny_path
    env = dict(os.environ, SWIFTLET_LIBRARY=path)
    out = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("LibraryError") and path in out.stdout
