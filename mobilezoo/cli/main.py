"""The ``mobilezoo`` command line: one sub-command per verb, each in its own module.

Errors a user can cause print one line to stderr and exit with code 2 (no traceback).
"""

from __future__ import annotations

import argparse
import difflib
import sys
import warnings
from typing import Iterator, Sequence

from ..errors import MobileZooError
from . import commands

EPILOG = """examples:
  mobilezoo list 'fbnetv2_*'            models whose name matches a wildcard
  mobilezoo info resnext50_32x4d        pretrained cfg, published figures, weights
  mobilezoo profile fbnetv2_f1          parameters and multiply-adds at the native size
  mobilezoo profile s3d --input-size 3,16,112,112 --json
  mobilezoo export fbnetv2_f1 --format executorch,tflite --out out/
  mobilezoo bench fbnetv2_f1 --runtime all --threads 1
  mobilezoo train --config configs/train/fbnetv2_f1_fmnist.yaml epochs=2
  mobilezoo evaluate runs/x/last.pt --protocol linear --label-fraction 0.01   frozen-backbone probe
  mobilezoo demo                        offline: classify, export, verify, benchmark, report
"""


class OneLineParser(argparse.ArgumentParser):
    """argparse that reports a usage error on one line and exits with code 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"{self.prog}: error: {message} (see '{self.prog} --help')\n")


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(
        prog="mobilezoo",
        description="A model zoo for phones: efficient vision and video networks by name, "
        "with FLOP/parameter profiling and export for on-device runtimes.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    from ..version import __version__

    parser.add_argument("--version", action="version", version=f"mobilezoo {__version__}")
    verbs = parser.add_subparsers(dest="verb", metavar="COMMAND", parser_class=OneLineParser)
    for register in commands.REGISTRARS:
        register(verbs)
    return parser


def iter_verbs(parser: argparse.ArgumentParser, path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], argparse.ArgumentParser]]:
    """(path, parser) of every leaf verb: ``(("search", "lanas"), <parser>)``, ...; the README and tests walk it."""
    subs = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    if not subs:
        yield path, parser
        return
    for name, sub in subs[0].choices.items():
        yield from iter_verbs(sub, path + (name,))


def verb_parser(parser: argparse.ArgumentParser, argv: Sequence[str]) -> argparse.ArgumentParser:
    """The (sub-)parser of the deepest verb named in ``argv``: ``search lanas`` -> the ``lanas`` parser."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for position, token in enumerate(argv):
                if token in action.choices:
                    return verb_parser(action.choices[token], argv[position + 1:])
    return parser


def unrecognized(extras: Sequence[str], parser: argparse.ArgumentParser) -> str:
    """One line for arguments no option of ``parser`` takes, with the nearest spelling of the first option."""
    options = [o for action in parser._actions for o in action.option_strings if o.startswith("--")]
    flags = [e.split("=", 1)[0] for e in extras if e.startswith("-")]
    if not flags:
        return f"unrecognized arguments: {' '.join(extras)}"
    close = difflib.get_close_matches(flags[0], options, n=1, cutoff=0.5)
    hint = f"; did you mean '{close[0]}'?" if close else ""
    return f"unrecognized option '{flags[0]}'{hint}"


def disk_full(exc: BaseException) -> str | None:
    """One line for a write that ran out of space (the atomic writers have already removed their scratch, so
    every earlier file is intact), or None for any other error. torch.save reports it as a RuntimeError."""
    from ..fileio import no_room_error

    error = no_room_error(exc)
    if error is not None:
        where = f" writing {error.filename}" if error.filename else ""
        return f"no space left on device{where}; free space or choose another --out (nothing was replaced)"
    chain = (e for e in (exc, exc.__cause__, exc.__context__) if isinstance(e, RuntimeError))
    if any("file write failed" in str(e) or "No space left" in str(e) for e in chain):
        return "no space left on device while saving; free space or choose another --out (nothing was replaced)"
    return None


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``mobilezoo`` console script; returns the exit code."""
    warnings.filterwarnings("ignore", category=FutureWarning)  # torch.jit deprecation noise from fvcore
    from ..quiet import quiet_third_party_logs

    quiet_third_party_logs()
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    args, extras = parser.parse_known_args(argv)
    if extras:  # said by the verb's own parser, so the hint points at 'mobilezoo VERB --help'
        verb = verb_parser(parser, argv)
        verb.error(unrecognized(extras, verb))
    if not getattr(args, "run", None):
        parser.print_help()
        return 0
    try:
        return int(args.run(args) or 0)
    except MobileZooError as exc:
        print(f"mobilezoo: error: {exc}", file=sys.stderr)
        return 2
    except (OSError, RuntimeError) as exc:
        full = disk_full(exc)
        if full is None:
            raise
        print(f"mobilezoo: error: {full}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("mobilezoo: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
