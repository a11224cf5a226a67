"""Scoring a Turing study: accuracy, binomial test against chance, confusion, hard images.

Accuracy is tested against chance (p = 0.5) with an exact two-sided binomial test: the
question is whether people can tell the classes apart at all, in either direction (an
accuracy far below 50% would also mean the images differ). Every recorded answer counts,
also those of participants who stopped early; `finished` says who did not.
"""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from collections.abc import Iterable, Sequence

from scipy.stats import binomtest

from simgan.web.store import ANSWER_FIELDS
from simgan.web.study import CONDITIONS

# The paper's visual Turing test (Shrivastava et al. 2017), shown beside ours for reference.
PAPER = {"refined": (517, 1000), "synthetic": (162, 200)}

# An answer's fields, with whether it was correct (0/1) before the time it was given.
CSV_FIELDS = (*ANSWER_FIELDS[:-1], "correct", ANSWER_FIELDS[-1])


def binomial_test(correct: int, total: int) -> dict:
    """Accuracy, two-sided exact binomial p-value against 0.5, and its 95% (Clopper-Pearson) CI.

    With no answers the p-value is 1 and accuracy / interval are None.
    """
    if total == 0:
        return {"correct": 0, "total": 0, "accuracy": None, "p_value": 1.0, "ci95": None}
    r = binomtest(correct, total, 0.5, alternative="two-sided")
    ci = r.proportion_ci(confidence_level=0.95, method="exact")
    return {
        "correct": correct,
        "total": total,
        "accuracy": correct / total,
        "p_value": float(r.pvalue),
        "ci95": [float(ci.low), float(ci.high)],
    }


def summarize(
    sessions: Sequence[dict], answers: Sequence[dict], conditions: Iterable[str], top: int = 12
) -> dict:
    """Results per condition: overall test, confusion matrix, participants, most mistaken.

    confusion[truth][answer] counts answers; truth and answer are "real" or "fake".
    """
    out: dict = {"conditions": {}}
    for cond in conditions:
        ans = [a for a in answers if a["condition"] == cond]
        correct = sum(a["answer"] == a["truth"] for a in ans)
        confusion = {t: {g: 0 for g in ("real", "fake")} for t in ("real", "fake")}
        per_image: dict[tuple[str, int], list[int]] = defaultdict(lambda: [0, 0])
        for a in ans:
            confusion[a["truth"]][a["answer"]] += 1
            counts = per_image[(a["source"], a["row"])]
            counts[0] += 1
            counts[1] += a["answer"] != a["truth"]
        mistaken = [
            {
                "source": s,
                "row": r,
                "truth": "real" if s == "real" else "fake",
                "shown": n,
                "wrong": w,
            }
            for (s, r), (n, w) in per_image.items()
            if w > 0
        ]
        mistaken.sort(key=lambda m: (-m["wrong"], -m["wrong"] / m["shown"], m["source"], m["row"]))
        participants = [
            {
                "session": s["id"],
                "name": s["name"],
                "answered": s["answered"],
                "n_trials": s["n_trials"],
                "finished": s["answered"] == s["n_trials"],
                **_short(binomial_test(s["correct"], s["answered"])),
            }
            for s in sessions
            if s["condition"] == cond
        ]
        paper = PAPER.get(cond)
        out["conditions"][cond] = {
            "label": f"real vs {CONDITIONS[cond].other_label.lower()}",
            "overall": binomial_test(correct, len(ans)),
            "confusion": confusion,
            "participants": participants,
            "mistaken": mistaken[:top],
            "paper": {"correct": paper[0], "total": paper[1]} if paper else None,
        }
    return out


def _short(test: dict) -> dict:
    return {k: test[k] for k in ("correct", "accuracy", "p_value")}


def format_summary(summary: dict) -> str:
    """The summary as plain text for the terminal."""
    lines = []
    for c in summary["conditions"].values():
        o = c["overall"]
        lines.append(f"== condition: {c['label']} ==")
        if o["total"] == 0:
            lines.append("no answers yet")
        else:
            lines.append(
                f"overall: {o['correct']}/{o['total']} correct = {100 * o['accuracy']:.1f}% "
                f"(95% CI {100 * o['ci95'][0]:.1f}-{100 * o['ci95'][1]:.1f}%), "
                f"binomial test vs 50%: p = {o['p_value']:.4g}"
            )
        if c["paper"]:
            p = c["paper"]
            lines.append(
                f"paper:   {p['correct']}/{p['total']} = {100 * p['correct'] / p['total']:.1f}%"
            )
        m, other = c["confusion"], c["label"].split()[-1]
        w = max(len(other), 6)
        lines.append("confusion (rows: truth, columns: answer):")
        lines.append(f"  {'':<{w}}  {'real':>{w}}  {other:>{w}}")
        for t, word in (("real", "real"), ("fake", other)):
            lines.append(f"  {word:<{w}}  {m[t]['real']:>{w}}  {m[t]['fake']:>{w}}")
        lines.append(f"participants ({len(c['participants'])}):")
        for p in c["participants"]:
            acc = "-" if p["accuracy"] is None else f"{100 * p['accuracy']:.0f}%"
            lines.append(
                f"  {p['name'] or '(no name)':<24} {p['correct']:>3}/{p['answered']:<3} {acc:>5}"
                f"  p = {p['p_value']:.3g}{'' if p['finished'] else '  (unfinished)'}"
            )
        if c["mistaken"]:
            lines.append("most often mistaken (source row: wrong/shown):")
            lines.append(
                "  "
                + ", ".join(
                    f"{m['source']} {m['row']}: {m['wrong']}/{m['shown']}" for m in c["mistaken"]
                )
            )
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"


def _cell(value: object) -> object:
    # A participant's name starting with = + - @ would run as a formula in a spreadsheet.
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def answers_csv(answers: Sequence[dict]) -> str:
    """Every answer as CSV text, one row per answer, with a `correct` column (0/1)."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(CSV_FIELDS)
    for a in answers:
        row = {**a, "correct": int(a["answer"] == a["truth"])}
        w.writerow([_cell(row[k]) for k in CSV_FIELDS])
    return buf.getvalue()
