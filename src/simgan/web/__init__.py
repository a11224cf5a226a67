"""The visual Turing test as a web page (needs the `web` extra: fastapi, uvicorn).

    study = Study.from_files("real.h5", "refined.h5", n=10)
    store = StudyStore("study.sqlite")
    token = store.ensure_study(study.fingerprint())
    app = create_app(study, store, token)     # serve with uvicorn

`simgan turing serve` does exactly this; see docs/turing.md.
"""
