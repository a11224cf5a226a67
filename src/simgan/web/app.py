"""The web app of a visual Turing study (FastAPI): participant pages, answers, owner results.

Participant API (no label ever leaves the server before the study's end):
    GET  /api/study                     trials per participant (for the welcome text)
    POST /api/sessions                  {"name": "..."} -> a new session (condition assigned)
    GET  /api/sessions/{sid}            progress, trial image URLs, examples; score when done
    POST /api/sessions/{sid}/answers    {"trial": i, "answer": "real" | "fake"}
    GET  /api/image/{token}             a trial's PNG by an opaque per-trial token
    GET  /api/example/{source}/{k}      the k-th labelled example of a source
Owner (token from start-up, as ?token=... or an X-Study-Token header):
    GET  /results  /api/results  /api/results.csv  /api/results/image/{source}/{row}
"""

from __future__ import annotations

import secrets

import numpy as np
from fastapi import FastAPI, HTTPException, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, JSONResponse, Response

from simgan.web._http import GuardMiddleware, check_keys, read_json, valid_token
from simgan.web.assets import static_files
from simgan.web.pool import PngCache
from simgan.web.scoring import answers_csv, binomial_test, summarize
from simgan.web.store import Conflict, NotFound, StudyStore
from simgan.web.study import Study

MAX_NAME = 80
THUMB_PX = 180
NO_STORE = {"cache-control": "no-store"}


def _clean_name(value: object) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise HTTPException(400, "name must be a string")
    name = "".join(ch for ch in value if ch.isprintable()).strip()
    if len(name) > MAX_NAME:
        raise HTTPException(400, f"name is longer than {MAX_NAME} characters")
    return name


def _is_index(text: str) -> bool:
    # str.isdigit alone accepts digits like '²' that int() refuses.
    return text.isascii() and text.isdigit() and len(text) <= 12


def create_app(study: Study, store: StudyStore, token: str) -> FastAPI:
    """The study's FastAPI app; `token` guards the owner's results (see StudyStore.ensure_study)."""
    if len(token) < 16:
        raise ValueError("the owner token must be at least 16 characters")
    app = FastAPI(
        title="simgan visual Turing test", docs_url=None, redoc_url=None, openapi_url=None
    )
    app.add_middleware(GuardMiddleware)
    static = static_files()
    pngs = PngCache(study.pools)

    def png(data: bytes | None, cache: str = "private, max-age=86400") -> Response:
        if data is None:
            raise HTTPException(404, "no such image")
        return Response(data, media_type="image/png", headers={"cache-control": cache})

    def session_state(sid: str) -> dict:
        try:
            s = store.session(sid)
        except NotFound:
            raise HTTPException(404, "no such session") from None
        cond = study.condition(s["condition"])
        state = {
            "session": sid,
            "name": s["name"],
            "condition": cond.name,
            "labels": {"real": "Real", "fake": cond.other_label},
            "n_trials": s["n_trials"],
            "next": s["answered"],
            "finished": s["answered"] >= s["n_trials"],
            "trials": [f"/api/image/{t}" for t in s["tokens"]],
            "examples": {
                "real": [f"/api/example/real/{k}" for k in range(study.n_examples)],
                "fake": [f"/api/example/{cond.other}/{k}" for k in range(study.n_examples)],
            },
        }
        if state["finished"]:
            state["score"] = binomial_test(s["correct"], s["answered"])
        return state

    def owner(request: Request) -> None:
        given = request.query_params.get("token") or request.headers.get("x-study-token")
        if not given:
            raise HTTPException(401, "the results need the study owner's token (?token=...)")
        if not secrets.compare_digest(given.encode(), token.encode()):
            raise HTTPException(403, "wrong token")

    # -- pages ----------------------------------------------------------------------------
    def page(name: str) -> Response:
        data, kind = static[name]
        return Response(data, media_type=kind, headers=NO_STORE)

    @app.get("/", response_class=HTMLResponse)
    def index() -> Response:
        return page("index.html")

    @app.get("/results", response_class=HTMLResponse)
    def results_page(request: Request) -> Response:
        try:
            owner(request)
        except HTTPException as e:
            return HTMLResponse(
                "<!doctype html><title>Results</title><p>This page is for the study owner: "
                "open the link with <code>?token=...</code> printed when the server started.",
                status_code=e.status_code,
            )
        return page("results.html")

    @app.get("/static/{name}")
    def static_file(name: str) -> Response:
        if name not in static:
            raise HTTPException(404, "not found")
        data, kind = static[name]
        return Response(data, media_type=kind, headers={"cache-control": "no-cache"})

    # -- participant API --------------------------------------------------------------------
    @app.get("/api/study")
    def study_info() -> dict:
        return {"n_trials": 2 * study.n, "n_examples": study.n_examples}

    @app.post("/api/sessions", status_code=201)
    async def new_session(request: Request) -> JSONResponse:
        data = await read_json(request)
        check_keys(data, {"name"})
        name = _clean_name(data.get("name"))
        rng = np.random.default_rng(secrets.randbits(64))

        def plan(counts, usage):
            cond = study.assign(counts)
            return cond.name, study.draw(cond, usage, rng)

        sid = await run_in_threadpool(store.new_session, name, plan)
        state = await run_in_threadpool(session_state, sid)
        return JSONResponse(state, status_code=201, headers=NO_STORE)

    @app.get("/api/sessions/{sid}")
    def get_session(sid: str) -> JSONResponse:
        if not valid_token(sid):
            raise HTTPException(404, "no such session")
        return JSONResponse(session_state(sid), headers=NO_STORE)

    @app.post("/api/sessions/{sid}/answers")
    async def answer(sid: str, request: Request) -> JSONResponse:
        if not valid_token(sid):
            raise HTTPException(404, "no such session")
        data = await read_json(request)
        check_keys(data, {"trial", "answer"})
        idx, ans = data.get("trial"), data.get("answer")
        if type(idx) is not int or not 0 <= idx < 10_000:
            raise HTTPException(400, "trial must be a whole number (the trial's index)")
        if ans not in ("real", "fake"):
            raise HTTPException(400, "answer must be 'real' or 'fake'")
        try:
            recorded = await run_in_threadpool(store.record_answer, sid, idx, ans)
        except NotFound:
            raise HTTPException(404, "no such session or trial") from None
        except Conflict as e:
            raise HTTPException(409, str(e)) from None
        state = await run_in_threadpool(session_state, sid)
        out = {"recorded": recorded, "next": state["next"], "finished": state["finished"]}
        if state["finished"]:
            out["score"] = state["score"]
        return JSONResponse(out, headers=NO_STORE)

    @app.get("/api/image/{image_id}")
    def trial_image(image_id: str) -> Response:
        found = store.trial_image(image_id) if valid_token(image_id) else None
        return png(pngs.get(*found) if found else None)

    @app.get("/api/example/{source}/{k}")
    def example_image(source: str, k: str) -> Response:
        rows = study.examples.get(source)
        if rows is None or not _is_index(k) or int(k) >= len(rows):
            raise HTTPException(404, "no such image")
        return png(pngs.get(source, rows[int(k)]))

    # -- owner ------------------------------------------------------------------------------
    def summary() -> dict:
        conds = [c.name for c in study.conditions]
        return summarize(store.sessions(), store.answers(), conds)

    @app.get("/api/results")
    def results(request: Request) -> JSONResponse:
        owner(request)
        return JSONResponse(summary(), headers=NO_STORE)

    @app.get("/api/results.csv")
    def results_csv(request: Request) -> Response:
        owner(request)
        return Response(
            answers_csv(store.answers()),
            media_type="text/csv; charset=utf-8",
            headers={**NO_STORE, "content-disposition": 'attachment; filename="answers.csv"'},
        )

    @app.get("/api/results/image/{source}/{row}")
    def results_image(source: str, row: str, request: Request) -> Response:
        owner(request)
        if not _is_index(row):
            raise HTTPException(404, "no such image")
        return png(pngs.get(source, int(row), THUMB_PX), cache="private, no-store")

    return app
