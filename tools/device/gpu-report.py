#!/usr/bin/env python3
"""Summarises a gpu-suite.sh run: reads DIR/suite.log and DIR/device-feed.json, writes DIR/gpu-suite.md and gpu-suite.json.

Standard library only. A step that failed or ran out of time is reported as such, with its exit status."""
import json
import re
import sys
from pathlib import Path

NUMBER = r"([\d,]+(?:\.\d+)?|NaN)"


def number(text):
    return float("nan") if text == "NaN" else float(text.replace(",", ""))


def steps(log):
    """{name: {"rc": int, "seconds": int, "lines": [...]}} in the order the suite ran them."""
    found, current = {}, None
    for line in log.splitlines():
        if m := re.match(r"### step (\S+) ", line):
            current = found.setdefault(m.group(1), {"rc": None, "seconds": None, "lines": []})
        elif m := re.match(r"### end (\S+) rc=(\d+) seconds=(\d+)", line):
            found[m.group(1)].update(rc=int(m.group(2)), seconds=int(m.group(3)))
            current = None
        elif current is not None:
            current["lines"].append(line)
    return found


def search(pattern, lines):
    for line in reversed(lines):
        if m := re.search(pattern, line):
            return [number(g) if re.fullmatch(NUMBER, g) else g for g in m.groups()]
    return None


def main(directory):
    out = Path(directory)
    log = (out / "suite.log").read_text()
    machine = log.split("### step", 1)[0].replace("### machine", "").strip().splitlines()
    ran = steps(log)
    summary = {"machine": machine, "steps": {k: {"rc": v["rc"], "seconds": v["seconds"]} for k, v in ran.items()}}

    teacher = ran.get("teacher-train", {"lines": []})["lines"]
    if t := search(rf"teacher: {NUMBER} parameters, {NUMBER} steps, {NUMBER} tokens at {NUMBER} tokens/s", teacher):
        summary["teacher"] = dict(zip(["parameters", "steps", "tokens", "tokens_per_second"], t))
    if h := search(rf"held-out loss {NUMBER} nats/token vs add-one unigram {NUMBER}", teacher):
        summary.setdefault("teacher", {}).update(held_out_loss=h[0], unigram_loss=h[1])

    pack = ran.get("teacher-pack", {"lines": []})["lines"]
    if p := search(rf"teacher pack: {NUMBER} tokens in {NUMBER} s = {NUMBER} tokens/s; forward {NUMBER} s, "
                   rf"top-k \+ copy to host {NUMBER} s, host cut {NUMBER} s, waiting for the encoders {NUMBER} s; "
                   r"bound by ([^;]+)", pack):
        keys = ["tokens", "seconds", "tokens_per_second", "forward_s", "topk_and_copy_s", "host_cut_s", "writer_wait_s", "bound"]
        summary["pack"] = dict(zip(keys, p))
        summary["pack"]["forward_tokens_per_second"] = p[0] / p[3] if p[3] else None
    if b := search(rf"committed {NUMBER} sequences, {NUMBER} tokens, {NUMBER} shard\(s\), {NUMBER} bytes/token", pack):
        summary.setdefault("pack", {})["bytes_per_token"] = b[3]

    bench = ran.get("hf-teacher-bench", {"lines": []})["lines"]
    forward = search(rf"^\| bare forward \| {NUMBER} \| {NUMBER} \| {NUMBER} \|", bench)
    packed = search(rf"^\| pack \(top-k \d+\) \| {NUMBER} \| {NUMBER} \| {NUMBER} \|", bench)
    if forward and packed:
        summary["hf_teacher"] = {"forward_tokens_per_second": forward[2], "pack_tokens_per_second": packed[2],
                                 "tokens": packed[0], "ratio": packed[2] / forward[2] if forward[2] else None}
        if r := search(r"bound by ([^;]+)$", bench):
            summary["hf_teacher"]["bound"] = r[0]
        if m := search(rf"store {NUMBER} B/token; weights {NUMBER} MiB on disk; peak RSS {NUMBER} MiB once loaded, "
                       rf"{NUMBER} MiB after the bare forward, {NUMBER} MiB at the end", bench):
            summary["hf_teacher"].update(bytes_per_token=m[0], weights_mib=m[1], rss_loaded_mib=m[2], rss_forward_mib=m[3],
                                         rss_peak_mib=m[4])

    students = {}
    for mode in ["lm", "offline", "online"]:
        lines = ran.get(f"student-{mode}", {"lines": []})["lines"]
        if s := search(rf"(?i){mode}: {NUMBER} steps, {NUMBER} tokens, {NUMBER} tokens/s, {NUMBER} ms/step", lines):
            students[mode] = dict(zip(["steps", "tokens", "tokens_per_second", "ms_per_step"], s))
    summary["students"] = students

    feed_file = out / "device-feed.json"
    feed = json.loads(feed_file.read_text()) if feed_file.exists() else None
    if feed:
        summary["device_feed"] = feed
        device_rows = [r for r in feed["feed"] if "torch tensors" in r["path"] or "feed to" in r["path"]]
        if device_rows and "offline" in students:
            summary["feed_over_offline_student"] = device_rows[0]["positions_per_second"] / students["offline"]["tokens_per_second"]

    (out / "gpu-suite.json").write_text(json.dumps(finite(summary), indent=2, allow_nan=False) + "\n")
    (out / "gpu-suite.md").write_text(markdown(summary))


def finite(value):
    """JSON has no NaN: a measurement that is not a number is written as null."""
    if isinstance(value, float) and value != value:
        return None
    if isinstance(value, dict):
        return {k: finite(v) for k, v in value.items()}
    if isinstance(value, list):
        return [finite(v) for v in value]
    return value


def fmt(value, digits=0):
    return "–" if value is None or value != value else f"{value:,.{digits}f}"


def markdown(s):
    md = ["# GPU suite", "", "Machine: " + "; ".join(s["machine"]), "", "| step | exit | seconds |", "|---|---:|---:|"]
    md += [f"| {k} | {v['rc']} | {v['seconds']} |" for k, v in s["steps"].items() if v["rc"] is not None]
    if t := s.get("teacher"):
        md += ["", "## Teacher (`small` preset, Brown)", "",
               f"{fmt(t.get('parameters'))} parameters, {fmt(t.get('steps'))} steps, {fmt(t.get('tokens'))} tokens at "
               f"{fmt(t.get('tokens_per_second'))} tokens/s; held-out loss {fmt(t.get('held_out_loss'), 4)} against add-one "
               f"unigram {fmt(t.get('unigram_loss'), 4)}."]
    if p := s.get("pack"):
        md += ["", "## `pack --teacher`", "",
               "| tokens | tokens/s (whole pack) | forward alone, tokens/s | forward s | top-k + copy s | host cut s "
               "| waiting for encoders s | bound by | bytes/token |",
               "|---:|---:|---:|---:|---:|---:|---:|---|---:|",
               f"| {fmt(p.get('tokens'))} | {fmt(p.get('tokens_per_second'))} | {fmt(p.get('forward_tokens_per_second'))} "
               f"| {fmt(p.get('forward_s'), 1)} | {fmt(p.get('topk_and_copy_s'), 1)} | {fmt(p.get('host_cut_s'), 1)} "
               f"| {fmt(p.get('writer_wait_s'), 1)} | {p.get('bound', '–')} | {fmt(p.get('bytes_per_token'), 2)} |"]
    if h := s.get("hf_teacher"):
        md += ["", "## A real teacher's configuration: Llama-3.2-1B's layout, random weights, BF16, its tokenizer", "",
               "| tokens | bare forward tokens/s | pack tokens/s | pack / forward | bound by | bytes/token "
               "| weights MiB | peak RSS MiB (loaded, bare forward, pack) |",
               "|---:|---:|---:|---:|---|---:|---:|---|",
               f"| {fmt(h.get('tokens'))} | {fmt(h.get('forward_tokens_per_second'))} | {fmt(h.get('pack_tokens_per_second'))} "
               f"| {fmt(h.get('ratio'), 3)} | {h.get('bound', '–')} | {fmt(h.get('bytes_per_token'), 1)} "
               f"| {fmt(h.get('weights_mib'))} | {fmt(h.get('rss_loaded_mib'))}, {fmt(h.get('rss_forward_mib'))}, "
               f"{fmt(h.get('rss_peak_mib'))} |"]
    if st := s.get("students"):
        md += ["", "## Student step time (same student, batch and store)", "", "| mode | steps | ms/step | tokens/s |",
               "|---|---:|---:|---:|"]
        md += [f"| {m} | {fmt(v['steps'])} | {fmt(v['ms_per_step'], 1)} | {fmt(v['tokens_per_second'])} |" for m, v in st.items()]
    if f := s.get("device_feed"):
        md += ["", "## Feeding the device", "", "| host memory | MiB per copy | GB/s |", "|---|---:|---:|"]
        md += [f"| {c['memory']} | {c['bytes'] >> 20} | {c['gigabytes_per_second']:.1f} |" for c in f["copies"]]
        md += ["", "| path | positions/s | bytes/position to torch |", "|---|---:|---:|"]
        md += [f"| {r['path']} | {fmt(r['positions_per_second'])} | {r['bytes_per_position']} |" for r in f["feed"]]
        if (ratio := s.get("feed_over_offline_student")) is not None:
            md += ["", f"The loader feeds the device {ratio:.1f}× the positions/s the offline-KD student consumes."]
    return "\n".join(md) + "\n"


if __name__ == "__main__":
    main(sys.argv[1])
