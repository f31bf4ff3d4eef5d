"""``do-stand-in serve``: run the stand-in until SIGTERM or SIGINT, then stop what the backend started.

    do-stand-in serve --address 127.0.0.1:PORT --backend api|process [--state DIR] [--request-log FILE]
                      [--delay SECONDS] [--token TOKEN] [--validate] [--image NAME@REGION[,REGION...]]...

A bad argument is one line naming it and what is allowed, exit status 2.
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
from pathlib import Path
from typing import NoReturn

from do_stand_in.backends.base import Backend
from do_stand_in.store import Delays

BACKENDS = ("api", "process")


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        print(f"do-stand-in: {message}", file=sys.stderr)
        sys.exit(2)


def address(value: str) -> tuple[str, int]:
    host, _, port = value.rpartition(":")
    if host != "127.0.0.1" or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise argparse.ArgumentTypeError(f"{value!r} is not 127.0.0.1:PORT (PORT 0-65535; 0 takes a free one): the stand-in listens on 127.0.0.1 only")
    return host, int(port)


def delay(value: str) -> float:
    try:
        seconds = float(value)
    except ValueError:
        seconds = -1
    if not 0 <= seconds <= 600:
        raise argparse.ArgumentTypeError(f"{value!r} is not a number of seconds from 0 to 600")
    return seconds


def image(value: str) -> tuple[str, list[str]]:
    name, _, regions = value.partition("@")
    if not name or not regions:
        raise argparse.ArgumentTypeError(f"{value!r} is not NAME@REGION[,REGION...]")
    return name, regions.split(",")


def parser() -> argparse.ArgumentParser:
    top = _Parser(prog="do-stand-in", description="A stand-in for DigitalOcean's v2 API on 127.0.0.1.")
    commands = top.add_subparsers(dest="command", required=True, parser_class=_Parser)
    serve = commands.add_parser("serve", help="serve until stopped (SIGTERM, SIGINT)")
    serve.add_argument("--address", type=address, required=True, help="127.0.0.1:PORT")
    serve.add_argument("--backend", choices=BACKENDS, required=True, help="api: records only; process: the app, HAProxy and PostgreSQL as local processes")
    serve.add_argument("--state", type=Path, help="keep the records in this folder across restarts")
    serve.add_argument("--request-log", type=Path, help="append one JSON line per request to this file")
    serve.add_argument("--delay", type=delay, default=None, help="seconds every asynchronous change takes (default: 1, a database 2)")
    serve.add_argument("--token", help="the only bearer token accepted (default: any)")
    serve.add_argument("--validate", action="store_true", help="check every exchange against DigitalOcean's OpenAPI description; a mismatch is answered 500")
    serve.add_argument("--image", type=image, action="append", default=[], help="register a snapshot NAME in REGION(s) at start (the promote path)")
    return top


def main(argv: list[str] | None = None) -> int:
    arguments = parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s", stream=sys.stderr)
    from do_stand_in.resources.images import register
    from do_stand_in.server import StandIn

    check = None
    if arguments.validate:
        from do_stand_in.openapi import OpenApiCheck, description_path

        if not description_path().exists():
            print(f"do-stand-in: --validate: no OpenAPI description at {description_path()} (set DO_STAND_IN_OPENAPI)", file=sys.stderr)
            return 2
        check = OpenApiCheck()
    delays = Delays() if arguments.delay is None else Delays.all(arguments.delay)
    stand_in = StandIn(
        backend=_backend(arguments.backend, arguments.state), delays=delays, address=arguments.address, state_dir=arguments.state, request_log=arguments.request_log, token=arguments.token, check=check
    )
    for name, regions in arguments.image:
        with stand_in.store.lock:
            print(f"do-stand-in: registered image {name} as {register(stand_in.store, name, regions)['id']}", file=sys.stderr)
    for signal_number in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signal_number, lambda number, frame: stand_in.request_stop())
    print(f"do-stand-in: serving DigitalOcean's API at {stand_in.url} ({arguments.backend} backend)", file=sys.stderr, flush=True)
    stand_in.serve()
    return 0


def _backend(name: str, state_dir: Path | None) -> Backend:
    if name == "process":
        from do_stand_in.backends.process import ProcessBackend

        return ProcessBackend()  # its processes live as long as this run; --state keeps only the records
    from do_stand_in.backends.api import ApiBackend

    return ApiBackend()
