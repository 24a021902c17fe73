"""``python -m swiftlet``: generate, chat, inspect and tokenize from the shell.

    python -m swiftlet generate -m MODEL "The capital of France is" [-n 64] [--temp 0]
    python -m swiftlet generate -m MODEL --chat "Name a colour as JSON." --json-schema colour.json
    python -m swiftlet chat -m MODEL [--system "You are terse."] [--grammar answer.gbnf]
    python -m swiftlet info -m MODEL
    python -m swiftlet tokenize -m MODEL "some text" [--special]

Text goes to stdout as it is generated; errors go to stderr with exit status 1.
In ``chat``, Ctrl-C stops the reply being written (the conversation goes on);
Ctrl-C or Ctrl-D at the prompt ends the chat.
"""
from __future__ import annotations

import argparse
import sys
from typing import Optional, Sequence, Union

from . import __version__
from . import _abi
from ._context import Context
from ._grammar import Grammar
from ._model import Model
from ._runtime import lib, library_path, version
from ._stream import TextStream
from .errors import SwiftletError


def _add_model(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-m", "--model", required=True, help="path of the GGUF model file")
    parser.add_argument("-t", "--threads", type=int, default=None, help="threads (default: one per core)")
    parser.add_argument("-c", "--ctx", type=int, default=None, help="context size in tokens (default: model's, <= 4096)")


def _add_sampling(parser: argparse.ArgumentParser, max_tokens: int, defaults: Optional[_abi.SamplerParams]) -> None:
    """Sampling options; left out, the library's defaults apply (shown in the
    help when the library loads)."""
    def shown(field: str) -> str:
        return f" ({getattr(defaults, field):.3g})" if defaults is not None else ""

    parser.add_argument("-n", "--max-tokens", type=int, default=max_tokens, help=f"most tokens to generate ({max_tokens})")
    parser.add_argument("--temp", type=float, default=None, help="temperature; 0 = greedy" + shown("temperature"))
    parser.add_argument("--top-k", type=int, default=None, help="top-k filter; 0 = off" + shown("top_k"))
    parser.add_argument("--top-p", type=float, default=None, help="nucleus filter; 1 = off" + shown("top_p"))
    parser.add_argument("--min-p", type=float, default=None, help="min-p filter; 0 = off" + shown("min_p"))
    parser.add_argument("--repeat-penalty", type=float, default=None,
                        help="repetition penalty; 1 = off" + shown("repeat_penalty"))
    parser.add_argument("--seed", type=int, default=None, help="random seed (default: random)")
    parser.add_argument("--stop", action="append", default=[], help="stop string (repeatable)")
    constraint = parser.add_mutually_exclusive_group()
    constraint.add_argument("--grammar", metavar="FILE", default=None,
                            help="generate only text of the GBNF grammar in FILE (start rule: root)")
    constraint.add_argument("--json-schema", metavar="FILE", default=None,
                            help="generate only JSON valid against the JSON Schema in FILE")


def _grammar(args: argparse.Namespace) -> Optional[Grammar]:
    """The grammar --grammar or --json-schema names, compiled (None: neither)."""
    path = args.grammar or args.json_schema
    if path is None:
        return None
    with open(path, encoding="utf-8") as file:
        text = file.read()
    return Grammar(text) if args.grammar else Grammar.from_json_schema(text)


def _sampling_defaults() -> Optional[_abi.SamplerParams]:
    """swiftlet_sampler_params_init's values, or None if the library does not load."""
    try:
        library = lib()
    except OSError:
        return None  # the error comes when a command needs the library
    defaults = _abi.SamplerParams()
    library.sampler_params_init(defaults)
    return defaults


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m swiftlet", description="Swiftlet from the command line.")
    defaults = _sampling_defaults()
    parser.add_argument("--version", action="store_true", help="print package, library and path, then exit")
    commands = parser.add_subparsers(dest="command")

    generate = commands.add_parser("generate", help="continue a prompt (raw text, no chat template)")
    _add_model(generate)
    _add_sampling(generate, 128, defaults)
    generate.add_argument("--chat", action="store_true", help="send the prompt as one user message instead")
    generate.add_argument("prompt", help="the text to continue")

    chat = commands.add_parser("chat", help="chat on stdin/stdout with the model's chat template")
    _add_model(chat)
    _add_sampling(chat, 512, defaults)
    chat.add_argument("--system", default=None, help="a system message to start the conversation with")

    info = commands.add_parser("info", help="describe a model and list its metadata keys")
    _add_model(info)

    tokenize = commands.add_parser("tokenize", help="print the token ids of a text")
    _add_model(tokenize)
    tokenize.add_argument("--special", action="store_true", help="recognise special tokens in the text")
    tokenize.add_argument("--bos", action="store_true", help="prepend BOS")
    tokenize.add_argument("text")
    return parser


def _generate_stream(model: Model, prompt: str, args: argparse.Namespace, grammar: Optional[Grammar]) -> TextStream:
    return model.generate(prompt, max_tokens=args.max_tokens, temperature=args.temp, top_k=args.top_k,
                          top_p=args.top_p, min_p=args.min_p, repeat_penalty=args.repeat_penalty, seed=args.seed,
                          stop=args.stop, grammar=grammar, stream=True)


def _chat_stream(target: Union[Model, Context], messages: list[dict[str, Optional[str]]],
                 args: argparse.Namespace, grammar: Optional[Grammar]) -> TextStream:
    stream: TextStream = target.chat(messages, max_tokens=args.max_tokens, temperature=args.temp, top_k=args.top_k,
                                     top_p=args.top_p, min_p=args.min_p, repeat_penalty=args.repeat_penalty,
                                     seed=args.seed, stop=args.stop, grammar=grammar, stream=True)
    return stream


def _write(stream: TextStream) -> str:
    parts = []
    for piece in stream:
        parts.append(piece)
        sys.stdout.write(piece)
        sys.stdout.flush()
    return "".join(parts)


def _generate(args: argparse.Namespace) -> int:
    grammar = _grammar(args)  # before the model loads: a bad file fails fast
    with Model(args.model, n_threads=args.threads, n_ctx=args.ctx) as model:
        if args.chat:
            stream = _chat_stream(model, [{"role": "user", "content": args.prompt}], args, grammar)
        else:
            sys.stdout.write(args.prompt)
            stream = _generate_stream(model, args.prompt, args, grammar)
        _write(stream)
        sys.stdout.write("\n")
    return 0


def _chat(args: argparse.Namespace) -> int:
    interactive = sys.stdin.isatty()
    grammar = _grammar(args)
    with Model(args.model, n_threads=args.threads) as model, \
            model.context(n_ctx=args.ctx, n_threads=args.threads) as context:
        messages: list[dict[str, Optional[str]]] = []
        if args.system:
            messages.append({"role": "system", "content": args.system})
        while True:
            try:
                if interactive:
                    line = input("> ")
                else:
                    line = sys.stdin.readline()
                    if not line:
                        break
                    line = line.rstrip("\n")
            except (EOFError, KeyboardInterrupt):
                break
            if not line.strip():
                continue
            messages.append({"role": "user", "content": line})
            stream = _chat_stream(context, messages, args, grammar)
            try:
                reply = _write(stream)
            except KeyboardInterrupt:  # the reply is cancelled; keep what was shown
                reply = stream.text_so_far
                sys.stdout.write(" [interrupted]")
            sys.stdout.write("\n")
            sys.stdout.flush()
            messages.append({"role": "assistant", "content": reply})
    return 0


def _info(args: argparse.Namespace) -> int:
    with Model(args.model, n_threads=args.threads) as model:
        for field, value in vars(model.info).items():
            print(f"{field:12} {value}")
        keys = model.metadata_keys()
        print(f"metadata     {len(keys)} keys")
        for key in keys:
            value = model.metadata(key)
            print(f"  {key} = {value if len(value) <= 80 else value[:77] + '...'}")
    return 0


def _tokenize(args: argparse.Namespace) -> int:
    with Model(args.model, n_threads=args.threads) as model:
        tokens = model.tokenize(args.text, add_bos=True if args.bos else False, special=args.special)
        print(" ".join(str(t) for t in tokens))
    return 0


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Runs the command line; returns the exit status."""
    parser = _parser()
    args = parser.parse_args(argv)
    if args.version:
        print(f"swiftlet {__version__} (library {version()} at {library_path()})")
        return 0
    handlers = {"generate": _generate, "chat": _chat, "info": _info, "tokenize": _tokenize}
    if args.command not in handlers:
        parser.print_help(sys.stderr)
        return 2
    try:
        return handlers[args.command](args)
    except (SwiftletError, OSError) as error:  # OSError: a --grammar/--json-schema file that cannot be read
        print(f"swiftlet: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("\ninterrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
