"""`simgan turing ...`: run the paper's visual Turing test as a web page; read its results."""

from __future__ import annotations

import argparse
import json
import socket

from simgan.cli._common import (
    add_json,
    add_overwrite,
    add_real_fake,
    add_subcommands,
    positive_int,
    print_json,
)
from simgan.errors import SimganError


def register(sub: argparse._SubParsersAction) -> None:
    """Add `simgan turing serve|results`."""
    s = add_subcommands(sub, "turing", help="visual Turing test: real vs refined, as a web page")

    q = s.add_parser("serve", help="start the study's web page (participants and results)")
    add_real_fake(q)
    q.add_argument(
        "--compare-synthetic",
        metavar="FILE",
        help="raw synthetic images: adds a real-vs-synthetic condition; each participant is "
        "assigned to one condition, whichever has fewer sessions",
    )
    q.add_argument("--db", required=True, help="SQLite file of the study (created if missing)")
    q.add_argument(
        "--host",
        default="127.0.0.1",
        help="address to listen on (default local only; 0.0.0.0 for colleagues on your network)",
    )
    q.add_argument("--port", type=int, default=8000)
    q.add_argument(
        "--n",
        type=positive_int,
        default=10,
        help="real and as many refined images per participant (default 10 + 10)",
    )
    q.add_argument(
        "--pool",
        type=positive_int,
        default=1000,
        help="images kept in memory per file, drawn from (default 1000)",
    )
    q.set_defaults(func=cmd_serve)

    q = s.add_parser("results", help="accuracy, binomial test and confusion of a study")
    q.add_argument("--db", required=True, help="the study's SQLite file")
    add_json(q)
    q.add_argument("--csv", metavar="OUT", help="also write every answer to this CSV file")
    add_overwrite(q)
    q.set_defaults(func=cmd_results)


def _check_port(host: str, port: int) -> None:
    if not 0 < port < 65536:
        raise SimganError(f"--port {port} is not a port number (1..65535)")
    try:
        with socket.create_server((host, port)):
            pass
    except OSError as e:
        raise SimganError(
            f"cannot listen on {host}:{port} ({e.strerror or e}); pass another --port or --host"
        ) from None


def cmd_serve(args: argparse.Namespace) -> int:
    """Serve the study's pages until Ctrl-C, printing the participant and owner links."""
    try:
        import uvicorn

        from simgan.web.app import create_app
    except ImportError as e:
        raise SimganError(
            f"the web page needs FastAPI and uvicorn ({e.name} is missing); "
            "install them with: pip install 'simgan[web]'"
        ) from None
    from simgan.web.store import StudyStore
    from simgan.web.study import Study

    study = Study.from_files(
        args.real, args.fake, args.compare_synthetic, n=args.n, max_pool=args.pool
    )
    _check_port(args.host, args.port)
    store = StudyStore(args.db)
    token = store.ensure_study(study.fingerprint())
    app = create_app(study, store, token)
    shown = "localhost" if args.host in ("127.0.0.1", "0.0.0.0", "::") else args.host
    base = f"http://{shown}:{args.port}"
    conds = " and ".join(f"real vs {c.other_label.lower()}" for c in study.conditions)
    print(f"study: {conds}; {args.n} + {args.n} images per participant; database {args.db}")
    print(f"participants: {base}/")
    print(f"results (keep this link private): {base}/results?token={token}")
    if args.host == "0.0.0.0":
        print("listening on all interfaces: give colleagues this machine's name or address")
    print("stop with Ctrl-C; every answer is already saved, restarting continues the study")
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning")
    store.close()
    return 0


def cmd_results(args: argparse.Namespace) -> int:
    """Print a study's results (text or JSON), optionally every answer as CSV."""
    from simgan.atomic import atomic_path, check_output_path
    from simgan.web.scoring import answers_csv, format_summary, summarize
    from simgan.web.store import StudyStore

    if args.csv:
        check_output_path(args.csv, args.overwrite)
    store = StudyStore(args.db, create=False)
    try:
        fingerprint = store.meta("fingerprint")
        conds = json.loads(fingerprint)["conditions"] if fingerprint else ["refined"]
        answers = store.answers()
        summary = summarize(store.sessions(), answers, conds)
    finally:
        store.close()
    if args.csv:
        with atomic_path(args.csv, overwrite=args.overwrite) as tmp:
            tmp.write_text(answers_csv(answers), encoding="utf-8")
    if args.json:
        print_json(summary)
    else:
        print(format_summary(summary), end="")
        if args.csv:
            print(f"wrote {args.csv}: {len(answers)} answers")
    return 0
