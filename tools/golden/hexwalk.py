#!/usr/bin/env python3
"""Checks the golden stores against the spec and prints the hex walk-through of format-spec section 9 (Markdown).

Usage: hexwalk.py GOLDEN_DIR    (tests/LogitStore.Tests/Golden: a directory MAJOR.MINOR per format version, each with
                                 the stores packed-q8 and ranked-q8, from 1.3 context-q8, from 1.4 context-mvq4,
                                 packed-counts and packed-f16, and from 1.5 banded-q8, beside their JSON)

It is a second reader, independent of LogitStore: it checks every field of every version's stores against the rules
of the spec (magic, versions, reserved zeros, alignment, lengths, the counts the headers repeat, every XXH3-64
checksum, the manifest checksum, the zstd frames, the dictionary files: id rank table, id context model, id band model,
mvq codebooks) and decodes every block by the steps of section 5 (the context ids codec by 5.10, the banded one by
5.11), comparing the result bit for bit with the JSON the LogitStore reader produced; mvq's coded positions, whose exp
5.9 does not pin to the bit, within the tolerance of 5.9 (this reader's exp is binary64 exp rounded to binary32). Any
disagreement stops it with the structure, the offset and what differs. It also recomputes the id rank table, context
model and band model that the writer's rules (5.8, 5.10, 5.11) give for the golden data and compares them with the
files; the one part the golden JSON cannot fix, the order of a band model's lists (rank-weighted counts of entry
indexes that set bands do not keep), it checks as far as the JSON allows. The walk-through follows the newest version's
packed-q8, ranked-q8, context-q8 and banded-q8.
Needs the `zstd` and `xxhsum` command-line tools (xxHash 0.8 or later, for `xxhsum -H3`).
"""
import json
import math
import os
import random
import struct
import subprocess
import sys
import textwrap

SHARD_HEADER_SIZE, BLOCK_INDEX_ENTRY_SIZE, SHARD_FOOTER_SIZE = 64, 32, 64
BLOCK_HEADER_SIZE, COLUMN_ENTRY_SIZE, DICTIONARY_HEADER_SIZE = 32, 24, 64
KIND_NAMES = {1: "sequence_lengths", 2: "tokens", 3: "kept_counts", 4: "ids", 5: "values", 6: "residual_mass"}
CODEC_NAMES = {0: "u32", 1: "packed", 2: "delta", 3: "u16", 4: "ranked", 5: "context", 6: "banded", 16: "f32", 17: "f16",
               18: "q8", 19: "q4", 20: "counts", 21: "mvq", 32: "unorm16"}
ALLOWED_CODECS = {1: {0}, 2: {0, 1}, 3: {3}, 4: {0, 1, 2, 4, 5, 6}, 5: {16, 17, 18, 19, 20, 21}, 6: {32}}
WRAP = 118


class SpecMismatch(Exception):
    pass


def check(condition, what):
    if not condition:
        raise SpecMismatch(what)


def xxh3(data):
    """XXH3-64 with seed 0 (spec 1.1), through xxhsum."""
    out = subprocess.run(["xxhsum", "-H3", "-"], input=data, capture_output=True, check=True).stdout.decode()
    return int(out.split("=")[-1].strip(), 16)


def zstd_decompress(frame):
    return subprocess.run(["zstd", "-d", "-c", "-q"], input=frame, capture_output=True, check=True).stdout


def fl32(x):
    """x rounded to the nearest binary32, ties to even (spec 5, "Arithmetic")."""
    return struct.unpack("<f", struct.pack("<f", x))[0]


def same_float(a, b):
    return struct.pack("<f", a) == struct.pack("<f", b)


def short32(x):
    """The shortest decimal that reads back as the binary32 x (the form the golden JSON uses)."""
    for digits in range(1, 10):
        text = f"{x:.{digits}g}"
        if same_float(float(text), x):
            return text
    raise AssertionError(x)


def u(data, offset, size):
    return int.from_bytes(data[offset:offset + size], "little")


def align8(n):
    return (n + 7) & ~7


def hexbytes(data):
    return " ".join(f"{b:02X}" for b in data)


def dump_lines(data, file_offset=None, block_start=None):
    """16 bytes a line, after the decimal file offset and, inside a block, the block-relative offset."""
    lines = []
    for i in range(0, len(data), 16):
        at = (file_offset or 0) + i
        where = f"{at:6d}" if file_offset is not None else f"{i:6d}"
        rel = f"  +{at - block_start:<4d}" if block_start is not None else ""
        lines.append(f"{where}{rel}  {hexbytes(data[i:i + 16])}")
    return "```\n" + "\n".join(lines) + "\n```\n"


def table(rows, header=("offset", "bytes", "field", "value", "meaning")):
    out = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    out += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(out) + "\n"


def para(text):
    """A wrapped paragraph; spaces inside `code` stay unbroken."""
    parts = text.split("`")
    protected = "`".join(p.replace(" ", "\0") if i % 2 else p for i, p in enumerate(parts))
    return textwrap.fill(protected, WRAP, break_long_words=False, break_on_hyphens=False).replace("\0", " ") + "\n"


# ---------------------------------------------------------------------------------------------------------------------
# Reading, by the spec alone


def bits_of(data):
    return int.from_bytes(data, "little")


def unpack_bits(data, count, width, what):
    """Spec 5.1: element j is bits [j*w, (j+1)*w) of the little-endian bit stream."""
    check(len(data) == (count * width + 7) // 8, f"{what}: decoded_length {len(data)}, expected ceil({count}*{width}/8)")
    bits = bits_of(data)
    check(bits >> (count * width) == 0, f"{what}: unused high bits of the last byte are not zero")
    mask = (1 << width) - 1
    return [(bits >> (j * width)) & mask for j in range(count)]


def unpack_ranked(data, count, table_ids, what):
    """Spec 5.8: E exponent bytes, then the mantissas bit-packed in entry order; id = table[2^e + mant - 1]."""
    exponents = list(data[:count])
    check(all(e <= 31 for e in exponents), f"{what}: an exponent above 31")
    total = sum(exponents)
    check(len(data) == count + (total + 7) // 8, f"{what}: decoded_length {len(data)}, expected E + ceil({total}/8)")
    bits, at, ids, steps = bits_of(data[count:]), 0, [], []
    check(bits >> total == 0, f"{what}: padding bits of the last mantissa byte are not zero")
    for e in exponents:
        mant = (bits >> at) & ((1 << e) - 1)
        at += e
        v = (1 << e) + mant
        check(v - 1 < len(table_ids), f"{what}: rank {v - 1} is not below V")
        ids.append(table_ids[v - 1])
        steps.append((e, mant, v))
    return ids, steps


def q8_weights(param):
    """Spec 5.4, step 1: W[c] = fl32(exp(-(c * delta))) with R and delta in binary64."""
    r = param / 256
    delta = r / 255
    return r, delta, [fl32(math.exp(-(c * delta))) for c in range(256)]


def q8_decode(codes, weights):
    """Spec 5.4, steps 2 and 3, for one position: returns p-hat, the sum s and inv."""
    s = 0.0
    for c in codes:
        s = fl32(s + weights[c])
    inv = fl32(1 / s)
    return [fl32(weights[c] * inv) for c in codes], s, inv


DICTIONARY_KINDS = {1: "mvq", 2: "idrank", 3: "idctx", 4: "idband"}
CONTEXT_SYMBOLS, CONTEXT_GROUPS, CONTEXT_ESCAPE, CONTEXT_TOTAL = 124, 3, 123, 4096
# 5.10's entry groups (j = 0, 1-7, 8 and later), read as the bands of 5.11 with no set band: the two codecs then share
# one decoder.
CONTEXT_GROUP_STARTS = [0, 1, 8]
BAND_LIMIT, BAND_START_LIMIT = 128, 65536


def read_dictionary(store, entry, vocab):
    """Spec 2.4: a dictionary file and its manifest entry (kind 1, mvq codebooks, kind 2, id rank table, kind 3, id
    context model, or kind 4, id band model)."""
    data = open(os.path.join(store, entry["file"]), "rb").read()
    name = entry["file"]
    check(len(data) == entry["bytes"] and f"{xxh3(data):016x}" == entry["xxh3"], f"{name}: bytes / xxh3 vs manifest")
    h = data[:DICTIONARY_HEADER_SIZE]
    check(len(h) == DICTIONARY_HEADER_SIZE and h[:8] == b"LGSTDICT" and u(h, 8, 2) == 1 and u(h, 10, 2) == 0,
          f"{name}: magic / version")
    kind = h[12]
    check(kind in DICTIONARY_KINDS and entry["kind"] == DICTIONARY_KINDS[kind] and h[13:16] == b"\0\0\0",
          f"{name}: kind {kind} (manifest {entry['kind']!r}), reserved")
    body_length, body_sum, header_sum = u(h, 16, 8), u(h, 24, 8), u(h, 56, 8)
    body = data[DICTIONARY_HEADER_SIZE:]
    check(len(body) == body_length, f"{name}: body_length {body_length}, the file has {len(body)} body bytes")
    check(body_sum == xxh3(body) and header_sum == xxh3(h[:56]), f"{name}: body_xxh3 / header_xxh3")
    ref = header_sum & 0xFFFFFFFF
    check(ref == u(h, 56, 4) and f"{ref:08x}" == entry["ref"], f"{name}: ref = low 32 bits of header_xxh3")
    check(name == f"dictionaries/{entry['kind']}-{entry['ref']}.lsd", f"{name}: file name")
    out = dict(bytes=data, header=h, kind=kind, body_length=body_length, body_sum=body_sum, header_sum=header_sum,
               ref=ref)
    if kind == 1:
        out.update(read_codebooks(name, h, body))
        return out
    check(u(h, 32, 4) == vocab, f"{name}: offset 32: V {u(h, 32, 4)} is not the store's vocab_size {vocab}")
    if kind == 2:
        check(body_length == 4 * vocab, f"{name}: body_length = 4 V")
        check(all(x == 0 for x in h[36:56]), f"{name}: reserved kind fields")
    else:
        out.update(read_context_model(name, h, body, vocab, kind))
    ids = [u(body, 4 * r, 4) for r in range(vocab)]
    check(sorted(ids) == list(range(vocab)), f"{name}: offset 64: the rank table is not a permutation of [0, V)")
    out["ids"] = ids
    return out


def read_codebooks(name, h, body):
    """Spec 2.4, kind 1: M codebooks of K = 256 centroids of D binary32 values, log floor F, escape range."""
    m, k, d = u(h, 32, 2), u(h, 34, 2), u(h, 36, 2)
    log_floor, escape_kl, escape_range = struct.unpack_from("<fff", h, 40)
    check(1 <= m <= 32 and k == 256 and 1 <= d <= 255 and u(h, 38, 2) == 0 and u(h, 52, 4) == 0,
          f"{name}: offset 32: M {m}, K {k}, D {d}, reserved")
    check(log_floor > 0 and escape_kl >= 0 and 0 < escape_range < 1000,
          f"{name}: offset 40: log_floor {log_floor}, escape_kl {escape_kl}, escape_range {escape_range}")
    check(len(body) == 4 * m * k * d, f"{name}: body_length = 4 M K D")
    values = struct.unpack(f"<{m * k * d}f", body)
    check(all(math.isfinite(v) for v in values), f"{name}: a centroid value is not finite")
    centroids = [[values[(c * k + i) * d:(c * k + i + 1) * d] for i in range(k)] for c in range(m)]
    return dict(m=m, d=d, log_floor=log_floor, escape_kl=escape_kl, escape_range=escape_range, centroids=centroids)


def read_context_model(name, h, body, vocab, kind):
    """Spec 2.4, kind 3 (the id context model: five body arrays) or kind 4 (the id band model: the same with B bands in
    place of the three groups, and the band starts as a sixth array), every rule checked."""
    contexts, candidates = u(h, 36, 4), u(h, 40, 4)
    check(contexts <= vocab, f"{name}: offset 36: C = {contexts} is above V")
    check(candidates <= contexts * vocab, f"{name}: offset 40: N = {candidates} is above C·V")
    s = CONTEXT_SYMBOLS
    if kind == 3:
        g, set_from, starts_at = CONTEXT_GROUPS, CONTEXT_GROUPS, None
        check(all(x == 0 for x in h[44:56]), f"{name}: offset 44: reserved kind fields")
    else:
        g, set_from, starts_at = u(h, 44, 4), u(h, 48, 4), 4 * vocab
        check(1 <= g <= BAND_LIMIT, f"{name}: offset 44: B = {g} is not in 1-{BAND_LIMIT}")
        check(1 <= set_from <= g, f"{name}: offset 48: set_from = {set_from} is not in 1-B ({g})")
        check(all(x == 0 for x in h[52:56]), f"{name}: offset 52: reserved kind field")
    global_at = 4 * vocab + (4 * g if kind == 4 else 0)
    directory_at = global_at + 2 * g * s
    frequencies_at = directory_at + 8 * contexts
    candidates_at = frequencies_at + 2 * g * s * contexts
    if kind == 3:
        check(2 * g * s == 744 and candidates_at == 4 * vocab + 744 + 752 * contexts, "the body offsets of 2.4")
        formula = "4·V + 744 + 752·C + 4·N"
    else:
        check(directory_at == 4 * vocab + 252 * g and candidates_at == 4 * vocab + 252 * g + (8 + 248 * g) * contexts,
              "the body offsets of 2.4, kind 4")
        formula = "4·V + 252·B + (8 + 248·B)·C + 4·N"
    check(len(body) == candidates_at + 4 * candidates,
          f"{name}: body_length {len(body)}, {formula} = {candidates_at + 4 * candidates}")
    if kind == 3:
        starts = CONTEXT_GROUP_STARTS
    else:
        starts = [u(body, starts_at + 4 * b, 4) for b in range(g)]
        for b, x in enumerate(starts):
            where = f"{name}: offset {DICTIONARY_HEADER_SIZE + starts_at + 4 * b}: band start {b} = {x}"
            check(x == 0 if b == 0 else starts[b - 1] < x < BAND_START_LIMIT,
                  f"{where}: start_0 is not 0, or the starts are not strictly ascending below {BAND_START_LIMIT}")

    def frequency_table(at, global_table):
        f = [u(body, at + 2 * i, 2) for i in range(s)]
        where = f"{name}: offset {DICTIONARY_HEADER_SIZE + at}"
        check(sum(f) == CONTEXT_TOTAL, f"{where}: a frequency table sums to {sum(f)}, not 4096")
        check(not global_table or f[CONTEXT_ESCAPE] == 0, f"{where}: a global table gives the escape a frequency")
        cumulative, total = [], 0
        for x in f:
            cumulative.append(total)
            total += x
        return f, cumulative

    global_tables = [frequency_table(global_at + 2 * s * t, True) for t in range(g)]
    tokens, counts = [], []
    for k in range(contexts):
        at = directory_at + 8 * k
        token, count = u(body, at, 4), u(body, at + 4, 4)
        where = f"{name}: offset {DICTIONARY_HEADER_SIZE + at}: context {k}"
        check(token < vocab and (not tokens or token > tokens[-1]), f"{where}: token {token} not ascending or not < V")
        check(1 <= count <= vocab, f"{where}: count {count} is 0 or above V")
        tokens.append(token)
        counts.append(count)
    check(sum(counts) == candidates, f"{name}: the context counts sum to {sum(counts)}, N = {candidates}")
    context_tables = [[frequency_table(frequencies_at + 2 * s * (g * k + t), False) for t in range(g)]
                      for k in range(contexts)]
    lists, at = [], candidates_at
    for k, count in enumerate(counts):
        ids = [u(body, at + 4 * i, 4) for i in range(count)]
        where = f"{name}: offset {DICTIONARY_HEADER_SIZE + at}: context {k}'s list"
        check(max(ids) < vocab and len(set(ids)) == count, f"{where}: a candidate is not < V, or occurs twice")
        lists.append(ids)
        at += 4 * count
    return dict(contexts=contexts, candidates=candidates, global_tables=global_tables,
                context_of={t: k for k, t in enumerate(tokens)}, tokens=tokens, counts=counts,
                context_tables=context_tables, lists=lists, starts=starts, set_from=set_from,
                offsets=dict(starts_at=starts_at, global_at=global_at, directory_at=directory_at,
                             frequencies_at=frequencies_at, candidates_at=candidates_at))


def context_class(v):
    """Spec 5.10, Symbols: the class of a 1-based value v and its extra bits (x, the bits' value)."""
    if v <= 7:
        return v - 1, 0, 0
    e = v.bit_length() - 1
    h = (v >> (e - 2)) - 4
    return 7 + 4 * (e - 3) + h, e - 2, v - ((4 + h) << (e - 2))


def unpack_context(data, tokens, counts, model, vocab, what, trace=None):
    """Spec 5.10: the interleaved rANS symbols and the extra bits of a `context` ids column, entry by entry; and 5.11,
    the `banded` ids column, whose model's bands take the place of the groups (a kind 3 model reads as the bands 0,
    1-7, 8 and later, none of them a set band).

    Returns the ids and, per entry, the steps (position, group or band, context or None, symbols, v, extra bits, from
    the list, and a dict: whether the band is a set band, the list index or rank the id was taken from, and the table
    of each symbol, ("T", k, b) or ("G", b)); with a list as trace, appends (i, state, x before, r, symbol, f, F,
    x after, word or None) for every symbol."""
    check(len(data) >= 20, f"{what}: decoded_length {len(data)} is below 20")
    stream_length = u(data, 0, 4)
    check(stream_length % 2 == 0 and stream_length >= 16 and 4 + stream_length <= len(data),
          f"{what}: offset 0: R = {stream_length} is odd, below 16 or past decoded_length {len(data)}")
    states = [u(data, 4 + 4 * i, 4) for i in range(4)]
    check(all(1 << 16 <= x < 1 << 32 for x in states), f"{what}: offset 4: an initial state is not in [2^16, 2^32)")
    word_at, word_end = 20, 4 + stream_length
    extra_at = word_end
    extra = bits_of(data[extra_at:])
    extra_used = 0
    symbols = 0

    def next_symbol(table):
        nonlocal symbols, word_at
        f, cumulative = table
        i = symbols % 4
        x = states[i]
        r = x % CONTEXT_TOTAL
        s = next(s for s in range(CONTEXT_SYMBOLS) if cumulative[s] <= r < cumulative[s] + f[s])
        before, word = x, None
        x = f[s] * (x // CONTEXT_TOTAL) + r - cumulative[s]
        if x < 1 << 16:
            check(word_at + 2 <= word_end, f"{what}: symbol {symbols} needs a word past the end of the stream")
            word = u(data, word_at, 2)
            x = (x << 16) | word
            word_at += 2
        states[i] = x
        if trace is not None:
            trace.append((symbols, i, before, r, s, f[s], cumulative[s], x, word))
        symbols += 1
        return s

    def value_of(c):
        nonlocal extra_used
        if c <= 6:
            return c + 1, 0
        e = 3 + (c - 7) // 4
        width = e - 2
        check(e <= 31, f"{what}: class {c} has e = {e} > 31")
        b = (extra >> extra_used) & ((1 << width) - 1)
        check(extra_at + (extra_used + width + 7) // 8 <= len(data), f"{what}: the extra bits run past the column")
        extra_used += width
        return ((4 + (c - 7) % 4) << width) + b, width

    def decode_ordered(p, g, k, ids, steps):
        """5.10, coding an entry (an ordered band of 5.11): a list index, or an escape and a global rank."""
        entry = len(ids)
        if k is not None:
            c = next_symbol(model["context_tables"][k][g])
            if c != CONTEXT_ESCAPE:
                v, width = value_of(c)
                check(v <= model["counts"][k], f"{what}: entry {entry}: v = {v} is above count_{k}")
                ids.append(model["lists"][k][v - 1])
                steps.append((p, g, k, [c], v, width, True, dict(set=False, at=v - 1, tables=[("T", k, g)])))
                return
        c = next_symbol(model["global_tables"][g])
        check(c != CONTEXT_ESCAPE, f"{what}: entry {entry}: an escape from a global table")
        v, width = value_of(c)
        check(v <= vocab, f"{what}: entry {entry}: v = {v} is above V")
        ids.append(model["ids"][v - 1])
        tables = ([("T", k, g)] if k is not None else []) + [("G", g)]
        steps.append((p, g, k, ([CONTEXT_ESCAPE] if k is not None else []) + [c], v, width, False,
                      dict(set=False, at=v - 1, tables=tables)))

    def decode_set(p, b, k, m, ids, steps):
        """5.11, a set band of m entries: gaps between list indexes in T(k, b), then (after one escape, or at once where
        the position has no context) gaps between global ranks in G(b), each from -1."""
        in_list, previous = k is not None, -1
        for _ in range(m):
            entry, escaped, tables = len(ids), [], []
            if in_list:
                c = next_symbol(model["context_tables"][k][b])
                tables.append(("T", k, b))
                if c != CONTEXT_ESCAPE:
                    v, width = value_of(c)
                    previous += v
                    check(previous < model["counts"][k], f"{what}: entry {entry}: list index {previous} ≥ count_{k}")
                    ids.append(model["lists"][k][previous])
                    steps.append((p, b, k, [c], v, width, True, dict(set=True, at=previous, tables=tables)))
                    continue
                in_list, previous, escaped = False, -1, [CONTEXT_ESCAPE]
            c = next_symbol(model["global_tables"][b])
            tables.append(("G", b))
            check(c != CONTEXT_ESCAPE, f"{what}: entry {entry}: an escape from a global table")
            v, width = value_of(c)
            previous += v
            check(previous < vocab, f"{what}: entry {entry}: rank {previous} is not below V")
            ids.append(model["ids"][previous])
            steps.append((p, b, k, escaped + [c], v, width, False, dict(set=True, at=previous, tables=tables)))

    starts, set_from = model["starts"], model["set_from"]
    ids, steps = [], []
    for p, n in enumerate(counts):
        k = model["context_of"].get(tokens[p])
        for b, low in enumerate(starts):
            high = n if b == len(starts) - 1 else min(starts[b + 1], n)
            if b < set_from:
                for _ in range(low, high):
                    decode_ordered(p, b, k, ids, steps)
            elif low < high:
                decode_set(p, b, k, high - low, ids, steps)
    check(word_at == word_end, f"{what}: {(word_end - word_at) // 2} words of the rANS stream are left over")
    check(states == [1 << 16] * 4, f"{what}: the final states are {states}, not 2^16")
    check(len(data) == extra_at + (extra_used + 7) // 8,
          f"{what}: decoded_length {len(data)}, 4 + R + ceil(B/8) = {extra_at + (extra_used + 7) // 8}")
    check(extra >> extra_used == 0, f"{what}: unused high bits of the last extra-bits byte are not zero")
    return ids, dict(steps=steps, symbols=symbols, extra_bits=extra_used, stream_length=stream_length,
                     initial_states=[u(data, 4 + 4 * i, 4) for i in range(4)])


def read_shard(store, entry, vocab, version):
    """Spec 3: header, index and footer of one shard, checked against each other and the manifest entry."""
    f = open(os.path.join(store, entry["file"]), "rb").read()
    name = entry["file"]
    check(len(f) == entry["bytes"], f"{name}: {len(f)} bytes, manifest says {entry['bytes']}")
    check(f"{xxh3(f):016x}" == entry["xxh3"], f"{name}: XXH3-64 of the file differs from the manifest's xxh3")
    h = f[:SHARD_HEADER_SIZE]
    check(h[:8] == b"LGSTSHRD", f"{name}: shard magic")
    # Any minor of major 1, whatever the manifest's (7.1, rule 7: merge and resume mix them).
    check((u(h, 8, 2), u(h, 12, 4)) == (version[0], 64),
          f"{name}: shard header major {u(h, 8, 2)}, manifest {version[0]}.{version[1]}; header_size 64")
    check(u(h, 16, 4) == vocab and u(h, 20, 4) == 0 and u(h, 48, 8) == 0, f"{name}: vocab_size, flags, reserved")
    check(u(h, 24, 8) == entry["first_sequence"], f"{name}: header first_sequence vs manifest")
    check(h[32:48].hex() == entry["pack_id"], f"{name}: pack_id vs manifest (2.0: bytes in file order)")
    check(u(h, 56, 8) == xxh3(h[:56]), f"{name}: header_checksum")
    foot_at = len(f) - SHARD_FOOTER_SIZE
    foot = f[foot_at:]
    index_offset, block_count = u(foot, 8, 8), u(foot, 16, 4)
    check(foot[:8] == b"LGSTFOOT" and u(foot, 20, 4) == 0, f"{name}: footer magic, reserved")
    check(len(f) == index_offset + BLOCK_INDEX_ENTRY_SIZE * block_count + SHARD_FOOTER_SIZE, f"{name}: file_length (3)")
    index = f[index_offset:foot_at]
    check(u(foot, 48, 8) == xxh3(index) and u(foot, 56, 8) == xxh3(foot[:56]), f"{name}: index / footer checksum")
    entries, next_offset, next_sequence = [], SHARD_HEADER_SIZE, u(h, 24, 8)
    for b in range(block_count):
        e = index[BLOCK_INDEX_ENTRY_SIZE * b:]
        fields = dict(offset=u(e, 0, 8), length=u(e, 8, 4), sequences=u(e, 12, 4), first=u(e, 16, 8),
                      positions=u(e, 24, 4), entries=u(e, 28, 4))
        check(fields["offset"] == next_offset, f"{name}: index entry {b}: block_offset, expected {next_offset}")
        check(fields["length"] % 8 == 0 and fields["length"] >= 40, f"{name}: index entry {b}: block_length")
        check(fields["first"] == next_sequence and fields["sequences"] >= 1, f"{name}: index entry {b}: first_sequence")
        next_offset, next_sequence = fields["offset"] + fields["length"], fields["first"] + fields["sequences"]
        entries.append(fields)
    check(next_offset == index_offset, f"{name}: the last block ends at index_offset")
    totals = tuple(sum(e[k] for e in entries) for k in ("sequences", "positions", "entries"))
    check(totals == (u(foot, 24, 8), u(foot, 32, 8), u(foot, 40, 8)), f"{name}: footer counts vs the index")
    check(totals + (block_count,) == (entry["sequences"], entry["positions"], entry["entries"], entry["blocks"]),
          f"{name}: footer counts vs manifest")
    return dict(bytes=f, header=h, foot=foot, foot_at=foot_at, index=index, index_offset=index_offset, entries=entries)


def read_block(shard, b, name):
    """Spec 4: one block's header, column directory, payloads (decompressed) and checksum."""
    e = shard["entries"][b]
    blk = shard["bytes"][e["offset"]:e["offset"] + e["length"]]
    where = f"{name} block {b}"
    check(blk[:4] == b"LGBK" and u(blk, 4, 4) == e["length"], f"{where}: magic, block_length vs index")
    check(u(blk, e["length"] - 8, 8) == xxh3(blk[:-8]), f"{where}: block checksum")
    header = (u(blk, 8, 8), u(blk, 16, 4), u(blk, 20, 4), u(blk, 24, 4))
    check(header == (e["first"], e["sequences"], e["positions"], e["entries"]), f"{where}: header counts vs index")
    check(u(blk, 28, 2) == 6 and u(blk, 30, 2) == 0, f"{where}: column_count 6 (4.3), reserved")
    columns, expected = [], BLOCK_HEADER_SIZE + 6 * COLUMN_ENTRY_SIZE
    for c in range(6):
        d = blk[BLOCK_HEADER_SIZE + COLUMN_ENTRY_SIZE * c:BLOCK_HEADER_SIZE + COLUMN_ENTRY_SIZE * (c + 1)]
        col = dict(kind=d[0], codec=d[1], comp=d[2], offset=u(d, 4, 4), stored=u(d, 8, 4), dlen=u(d, 12, 4),
                   param=u(d, 16, 4), raw=d)
        check(col["kind"] == c + 1, f"{where}: column {c} has kind {col['kind']} (kinds 1-6 in order)")
        check(col["codec"] in ALLOWED_CODECS[col["kind"]], f"{where}: codec {col['codec']} for kind {col['kind']}")
        check(col["comp"] in (0, 1) and d[3] == 0 and u(d, 20, 4) == 0, f"{where}: column {c} compression / flags")
        check(col["offset"] == expected, f"{where}: column {c} at +{col['offset']}, expected +{expected} (4.3)")
        check(col["comp"] == 1 or col["stored"] == col["dlen"], f"{where}: column {c} lengths")
        end = col["offset"] + col["stored"]
        col["payload"] = blk[col["offset"]:end]
        col["padding"] = align8(end) - end
        check(all(x == 0 for x in blk[end:align8(end)]), f"{where}: column {c} padding is not zero")
        col["data"] = zstd_decompress(col["payload"]) if col["comp"] else col["payload"]
        check(len(col["data"]) == col["dlen"], f"{where}: column {c} decompresses to {len(col['data'])} bytes")
        expected = align8(end)
        columns.append(col)
    check(expected == e["length"] - 8, f"{where}: the checksum follows the last payload, rounded up to 8 (4.3)")
    return dict(bytes=blk, start=e["offset"], entry=e, columns=columns)


def decode_block(block, vocab, dictionaries, name):
    """Spec 4.3 and 5: the block's sequences, as the golden JSON spells them."""
    e = block["entry"]
    lengths_col, tokens_col, counts_col, ids_col, values_col, residual_col = block["columns"]
    where = f"{name} block starting at sequence {e['first']}"
    lengths = [u(lengths_col["data"], 4 * i, 4) for i in range(e["sequences"])]
    check(len(lengths_col["data"]) == 4 * e["sequences"], f"{where}: sequence_lengths length")
    check(sum(lengths) == e["positions"] and min(lengths) >= 1, f"{where}: lengths sum to P, none is 0")
    width = max(1, math.ceil(math.log2(vocab)))
    check(tokens_col["codec"] == 1 and tokens_col["param"] == width, f"{where}: packed tokens, w = ceil(log2 V)")
    tokens = unpack_bits(tokens_col["data"], e["positions"], width, f"{where}: tokens")
    counts = [u(counts_col["data"], 2 * i, 2) for i in range(e["positions"])]
    check(len(counts_col["data"]) == 2 * e["positions"], f"{where}: kept_counts length")
    check(sum(counts) == e["entries"] and max(counts) <= vocab, f"{where}: kept counts sum to E")
    if ids_col["codec"] == 1:
        check(ids_col["param"] == width, f"{where}: packed ids, w = ceil(log2 V)")
        ids = unpack_bits(ids_col["data"], e["entries"], width, f"{where}: ids")
    elif ids_col["codec"] == 4:
        table_ = dictionaries.get(ids_col["param"])
        check(table_ is not None and table_["kind"] == 2, f"{where}: ranked ids name no listed id rank table")
        ids, _ = unpack_ranked(ids_col["data"], e["entries"], table_["ids"], f"{where}: ids")
    else:
        model = dictionaries.get(ids_col["param"])
        kind = {5: 3, 6: 4}.get(ids_col["codec"])
        check(kind is not None and model is not None and model["kind"] == kind,
              f"{where}: {CODEC_NAMES[ids_col['codec']]} ids name no listed dictionary of kind {kind} (2.4)")
        ids, _ = unpack_context(ids_col["data"], tokens, counts, model, vocab, f"{where}: ids")
    check(max(tokens + ids) < vocab, f"{where}: a token or id is not below V")
    at = 0
    for t, n in enumerate(counts):
        check(len(set(ids[at:at + n])) == n, f"{where}: position {t} keeps one id twice (7.1, rule 8)")
        at += n
    for col in (lengths_col, counts_col, residual_col):
        check(col["param"] == 0, f"{where}: codec_param of a u32, u16 or unorm16 column is not 0 (5)")
    values, coded = decode_values(values_col, counts, dictionaries, f"{where}: values")
    check(len(residual_col["data"]) == 2 * e["positions"], f"{where}: residual_mass length")
    inv65535 = fl32(1 / 65535)
    sequences, position, entry = [], 0, 0
    for s, length in enumerate(lengths):
        positions = []
        for _ in range(length):
            n = counts[position]
            residual = fl32(u(residual_col["data"], 2 * position, 2) * inv65535)
            positions.append(dict(ids=ids[entry:entry + n], probs=values[entry:entry + n], residual=residual,
                                  mvq_coded=coded[position]))
            position, entry = position + 1, entry + n
        sequences.append(dict(sequence=e["first"] + s, tokens=tokens[position - length:position], positions=positions))
    return sequences


def decode_values(col, counts, dictionaries, where):
    """Spec 5.3-5.5 and 5.9: the values column's probabilities, in entry order, and for each position whether it is an
    mvq-coded one (whose values 5.9 pins only to its tolerance)."""
    codec, param, data, entries = col["codec"], col["param"], col["data"], sum(counts)
    not_coded = [False] * len(counts)
    if codec == 18:
        check(1 <= param <= 255999, f"{where}: q8 codec_param outside 1-255999 (5)")
        check(len(data) == entries, f"{where}: q8 decoded_length = E")
        _, _, weights = q8_weights(param)
        values, at = [], 0
        for n in counts:
            values += q8_decode(list(data[at:at + n]), weights)[0]
            at += n
        return values, not_coded
    if codec == 17:
        check(param == 0 and len(data) == 2 * entries, f"{where}: f16 codec_param 0, decoded_length = 2 E")
        values = list(struct.unpack(f"<{entries}e", data))
        check(all(math.isfinite(v) and v >= 0 for v in values), f"{where}: an f16 value is NaN, infinite or negative")
        return values, not_coded
    if codec == 20:
        check(1 <= param <= 65535 and len(data) == 2 * entries, f"{where}: counts codec_param N in 1-65535, 2 E bytes")
        draws = [u(data, 2 * j, 2) for j in range(entries)]
        inv, at = fl32(1 / param), 0
        for t, n in enumerate(counts):
            check(n == 0 or (min(draws[at:at + n]) >= 1 and sum(draws[at:at + n]) == param),
                  f"{where}: position {t}: a count of 0, or counts not summing to N = {param}")
            at += n
        return [fl32(c * inv) for c in draws], not_coded
    check(codec == 21, f"{where}: codec {codec}")
    return mvq_decode(data, counts, dictionaries.get(param), where)


def mvq_decode(data, counts, books, where):
    """Spec 5.9: escape bitmap, M index planes, the escaped positions' q8 codes; coded positions by steps 1-5."""
    check(books is not None and books["kind"] == 1, f"{where}: mvq codec_param names no listed mvq codebooks")
    m, d, floor = books["m"], books["d"], books["log_floor"]
    many = [t for t, n in enumerate(counts) if n >= 2]
    q = len(many)
    bitmap = bits_of(data[:(q + 7) // 8])
    check(bitmap >> q == 0, f"{where}: unused bits of the escape bitmap are not zero")
    planes = (q + 7) // 8
    escaped = [(bitmap >> i) & 1 == 1 for i in range(q)]
    escape_entries = sum(counts[t] for i, t in enumerate(many) if escaped[i])
    check(len(data) == planes + m * q + escape_entries, f"{where}: decoded_length, expected ceil(Q/8) + M Q + E_x")
    _, _, weights = q8_weights(round(256 * books["escape_range"]))
    codes_at, escape_at = planes + m * q, planes + m * q
    values, coded, i = [], [False] * len(counts), 0
    for t, n in enumerate(counts):
        if n < 2:
            values += [1.0] * n
            continue
        index = [data[planes + c * q + i] for c in range(m)]
        if escaped[i]:
            check(not any(index), f"{where}: escaped position {t} has a non-zero codebook index")
            values += q8_decode(list(data[escape_at:escape_at + n]), weights)[0]
            escape_at += n
        else:
            k = n - 1
            check(k <= d, f"{where}: coded position {t} keeps {n} entries, more than D + 1 = {d + 1}")
            a = list(books["centroids"][0][index[0]][:k])
            for c in range(1, m):
                a = [fl32(x + y) for x, y in zip(a, books["centroids"][c][index[c]])]
            for j in range(1, k):
                a[j] = min(a[j], a[j - 1])
            e = [min(fl32(math.exp(min(max(x, -floor), 0.0))), 1.0) for x in a]
            f = 8 * (k // 8)
            lanes = [0.0] * 8
            for j in range(f):
                lanes[j % 8] = fl32(lanes[j % 8] + e[j])
            t01, t23, t45, t67 = (fl32(lanes[x] + lanes[x + 1]) for x in (0, 2, 4, 6))
            total = fl32(fl32(t01 + t23) + fl32(t45 + t67))
            for j in range(f, k):
                total = fl32(total + e[j])
            inv = fl32(1 / fl32(1 + total))
            values += [inv] + [fl32(x * inv) for x in e]
            coded[t] = True
        i += 1
    check(codes_at + escape_entries == escape_at, f"{where}: escaped codes")
    return values, coded


def ulp32(x):
    """The spacing of binary32 numbers at x >= 0 (5.9)."""
    bits = struct.unpack("<I", struct.pack("<f", x))[0]
    return struct.unpack("<f", struct.pack("<I", bits + 1))[0] - x


def compare(decoded, golden, name):
    """Bit for bit: tokens and ids equal, every probability and residual the same binary32; the values of an mvq-coded
    position within 32 ulp of the larger of the two (5.9). Returns the largest such difference, in ulp."""
    widest = 0
    check(len(decoded) == len(golden), f"{name}: {len(decoded)} sequences, the JSON has {len(golden)}")
    for mine, theirs in zip(decoded, golden):
        where = f"{name} sequence {theirs['sequence']}"
        check(mine["sequence"] == theirs["sequence"] and mine["tokens"] == theirs["tokens"], f"{where}: id / tokens")
        check(len(mine["positions"]) == len(theirs["positions"]), f"{where}: length")
        for t, (p, q) in enumerate(zip(mine["positions"], theirs["positions"])):
            check(p["ids"] == q["ids"], f"{where} position {t}: ids {p['ids']} vs {q['ids']}")
            check(len(p["probs"]) == len(q["probs"]), f"{where} position {t}: kept count")
            for j, (a, b) in enumerate(zip(p["probs"], q["probs"])):
                if p["mvq_coded"]:
                    apart = abs(a - b) / ulp32(fl32(max(a, b)))
                    widest = max(widest, apart)
                    check(apart <= 32, f"{where} position {t} entry {j}: decoded {short32(a)}, the JSON has {b!r}")
                else:
                    check(same_float(a, b), f"{where} position {t} entry {j}: decoded {short32(a)}, the JSON has {b!r}")
            check(same_float(p["residual"], q["residual"]), f"{where} position {t}: residual")
    return widest


def check_manifest_checksum(raw, version, name):
    """Spec 2.7: XXH3-64 of the file with the 16 digits of manifest_xxh3 replaced by ASCII zeros; from 1.2 on, required."""
    key = b'"manifest_xxh3": "'
    if key not in raw:
        check(version < (1, 2), f"{name}: a {version[0]}.{version[1]} manifest lacks manifest_xxh3")
        return None
    at = raw.index(key) + len(key)
    check(raw.count(key) == 1 and raw[at + 16:at + 17] == b'"', f"{name}: manifest_xxh3 is not one string of 16 digits")
    digits = raw[at:at + 16].decode()
    zeroed = raw[:at] + b"0" * 16 + raw[at + 16:]
    check(f"{xxh3(zeroed):016x}" == digits, f"{name}: manifest_xxh3 {digits} is not the checksum of the manifest")
    check(raw.rstrip(b" \n")[-1:] == b"}" and raw[at + 17:].strip() == b"}", f"{name}: manifest_xxh3 is not the last member")
    return dict(offset=at, digits=digits, tail=raw[-1:])


def unique_members(pairs):
    """7.1, rule 2: no object has two members of one name."""
    names = [k for k, _ in pairs]
    check(len(set(names)) == len(names), f"manifest: a member occurs twice in one object ({names})")
    return dict(pairs)


# 7.1, rule 4: the type and range of every member a reader reads ("*": an array index).
COUNT = (0, 2 ** 53 - 1)
MANIFEST_RULES = {
    "format": str, "format_version": dict, "format_version/major": (0, 65535), "format_version/minor": (0, 65535),
    "store_id": str, "status": str, "vocab_size": (2, 2 ** 32 - 1), "tokenizer": dict, "tokenizer/name": str,
    "tokenizer/vocab_hash": str, "teacher": dict, "source": dict, "processing": dict, "processing/method": str,
    "processing/temperature": float, "processing/top_p": float, "processing/top_k": (0, 2 ** 31 - 1),
    "processing/draws": (0, 2 ** 31 - 1), "processing/seed": (0, 2 ** 64 - 1), "codecs": dict, "codecs/tokens": str,
    "codecs/ids": str, "codecs/values": str, "codecs/ids_dictionary": str, "codecs/values_dictionary": str,
    "codecs/value_log_range": float, "codecs/zstd_level": (-2 ** 31, 2 ** 31 - 1),
    "codecs/sequences_per_block": (1, 2 ** 31 - 1), "codecs/shard_target_bytes": COUNT,
    "codecs/mvq_beam": (0, 2 ** 31 - 1), "codecs/dictionary_sample": (0, 2 ** 31 - 1), "fingerprint": dict,
    "dictionaries": list, "dictionaries/*": dict, "dictionaries/*/file": str, "dictionaries/*/kind": str,
    "dictionaries/*/ref": str, "dictionaries/*/bytes": COUNT, "dictionaries/*/xxh3": str,
    "shards": list, "shards/*": dict, "shards/*/file": str, "shards/*/pack_id": str, "shards/*/first_sequence": COUNT,
    "shards/*/sequences": COUNT, "shards/*/positions": COUNT, "shards/*/entries": COUNT, "shards/*/blocks": (0, 2 ** 32 - 1),
    "shards/*/bytes": COUNT, "shards/*/xxh3": str, "totals": dict, "totals/sequences": COUNT, "totals/positions": COUNT,
    "totals/entries": COUNT, "totals/bytes": COUNT, "manifest_xxh3": str,
}


def check_members(value, path, name):
    """7.1, rules 4 to 6: types and ranges, processing's required members, file paths."""
    rule = MANIFEST_RULES.get("/".join("*" if p.isdigit() and i == 1 else p for i, p in enumerate(path.split("/"))))
    if rule is float:
        check(type(value) in (int, float) and math.isfinite(value) and value >= 0, f"{name}: {path} is {value!r}")
    elif isinstance(rule, tuple):
        # json parses digits alone as int; 1.0 or 1e3 would be a float.
        check(type(value) is int and rule[0] <= value <= rule[1], f"{name}: {path} is {value!r}, not an integer in {rule}")
    elif rule is not None:
        check(type(value) is rule, f"{name}: {path} is {value!r}, not a {rule.__name__}")
    if path in ("teacher", "source"):
        return
    children = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
    for key, child in children:
        check_members(child, f"{path}/{key}" if path else str(key), name)


def parse_manifest(raw, name):
    """Spec 2 and 7.1: UTF-8, unique members, types and ranges, file paths."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        check(False, f"{name}: manifest is not UTF-8 at byte {e.start}")
    manifest = json.loads(text, object_pairs_hook=unique_members)
    check_members(manifest, "", name)
    check(manifest["processing"]["temperature"] > 0, f"{name}: processing.temperature is not above 0")
    check(manifest["processing"]["top_p"] <= 1, f"{name}: processing.top_p is above 1")
    check("method" in manifest["processing"] and "temperature" in manifest["processing"],
          f"{name}: processing lacks method or temperature")
    files = [("shards", e["file"]) for e in manifest["shards"]] + [("dictionaries", d["file"]) for d in manifest["dictionaries"]]
    for folder, file in files:
        base = file[len(folder) + 1:] if file.startswith(folder + "/") else ""
        check(base not in ("", ".", "..") and not any(c in base for c in "/\\:\0"),
              f"{name}: file {file!r} is not {folder}/NAME (7.1, rule 6)")
    check(len(set(f for _, f in files)) == len(files), f"{name}: a file is listed twice")
    return manifest


def banded_name(name_in_manifest, model, store):
    """2.2: `banded:R`, R the first rank the writer codes in a set. A reader takes the bands and set_from from the model
    and does not check them against R (5.11); the writer's model check (check_context_model) does. The manifest's name
    when it has that form."""
    check(model["kind"] == 4, f"{store}: banded ids name a dictionary of kind {model['kind']}")
    prefix, _, rank = name_in_manifest.partition(":")
    check(prefix == "banded" and rank.isdigit() and rank == str(int(rank)) and int(rank) >= 1,
          f"{store}: codecs.ids {name_in_manifest!r} is not banded:R")
    return name_in_manifest


def read_store(store, golden_json):
    """Everything a reader checks when it opens a store and decodes all of it (7), compared with the golden JSON."""
    raw = open(os.path.join(store, "manifest.json"), "rb").read()
    name = os.path.relpath(store, os.path.dirname(os.path.dirname(store)))
    manifest = parse_manifest(raw, name)
    version = (manifest["format_version"]["major"], manifest["format_version"]["minor"])
    check(manifest["format"] == "logitstore" and version[0] == 1, f"{name}: format / major version")
    check(f"{version[0]}.{version[1]}" == os.path.basename(os.path.dirname(store)), f"{name}: version vs its directory")
    manifest_checksum = check_manifest_checksum(raw, version, name)
    vocab = manifest["vocab_size"]
    tables = {}
    for d in manifest["dictionaries"]:
        table_ = read_dictionary(store, d, vocab)
        check(table_["ref"] not in tables, f"{name}: two dictionaries share a ref")
        tables[table_["ref"]] = table_
    shards, decoded, first = [], [], 0
    for entry in manifest["shards"]:
        check(entry["first_sequence"] == first, f"{name}: shards are not contiguous")
        shard = read_shard(store, entry, vocab, version)
        shard["blocks"] = [read_block(shard, b, entry["file"]) for b in range(len(shard["entries"]))]
        for block in shard["blocks"]:
            names = [CODEC_NAMES[c["codec"]] for c in block["columns"]]
            codecs = manifest["codecs"]
            values_ref = f"{block['columns'][4]['param']:08x}" if names[4] == "mvq" else ""
            values_name = f"mvq:{tables[block['columns'][4]['param']]['m']}" if values_ref else names[4]
            ids_name = names[3]
            if ids_name == "banded":
                ids_name = banded_name(codecs["ids"], tables[block["columns"][3]["param"]], name)
            check([codecs["tokens"], codecs["ids"], codecs["values"]] == [names[1], ids_name, values_name],
                  f"{name}: the manifest's codecs (2.2) are not those of the column directory")
            ids_ref = f"{block['columns'][3]['param']:08x}" if names[3] in ("ranked", "context", "banded") else ""
            check(codecs["ids_dictionary"] == ids_ref, f"{name}: ids_dictionary is not the ids column's ref")
            check(codecs["values_dictionary"] == values_ref, f"{name}: values_dictionary is not the values column's ref")
            decoded += decode_block(block, vocab, tables, f"{name}/{entry['file']}")
        first += entry["sequences"]
        shards.append(shard)
    totals = {k: sum(s[k] for s in manifest["shards"]) for k in ("sequences", "positions", "entries", "bytes")}
    check(totals == manifest["totals"], f"{name}: totals")
    widest = compare(decoded, json.load(open(golden_json, encoding="utf-8")), name)
    return dict(manifest=manifest, shards=shards, tables=tables, decoded=decoded, vocab=vocab, name=name, version=version,
                raw_manifest=raw, manifest_checksum=manifest_checksum, widest_mvq_difference=widest)


# ---------------------------------------------------------------------------------------------------------------------
# The walk-through


def walk_packed(store):
    out = []
    emit = out.append
    entry = store["manifest"]["shards"][0]
    shard = store["shards"][0]
    f, h, foot, foot_at = shard["bytes"], shard["header"], shard["foot"], shard["foot_at"]
    index_offset, entries = shard["index_offset"], shard["entries"]
    block = shard["blocks"][0]
    blk, b_off, b_len = block["bytes"], block["start"], block["entry"]["length"]
    seq = store["decoded"][0]

    emit(f"### 9.1 The shard file of `{store['name']}`\n")
    emit(para(f"`{store['name']}/{entry['file']}` is {len(f)} bytes: the shard header (0–63), {len(entries)} blocks "
              f"from offset 64, the block index at {index_offset} ({len(entries)} × 32 bytes) and the footer at "
              f"{foot_at} (3). Its manifest entry (2.3):"))
    emit("```json\n" + json.dumps(entry, indent=2) + "\n```\n")
    emit(para(f"`bytes` is the file's length and `xxh3` the XXH3-64 of all {len(f)} bytes, spelled as a number (2.0). "
              "Offsets are in decimal: file offsets, and inside a block also `+n`, the block-relative offset (1.1). "
              "Bytes are in file order, so a little-endian integer reads right to left."))
    if store["manifest_checksum"] is not None:
        c = store["manifest_checksum"]
        last = "no newline" if c["tail"] == b"}" else "a newline"
        emit(para(f"The manifest ({len(store['raw_manifest'])} bytes) ends with `\"manifest_xxh3\": \"{c['digits']}\"` (2.7): "
                  f"the XXH3-64 of the whole file with these 16 digits, at byte {c['offset']}, replaced by 16 ASCII `0` "
                  f"bytes. After its closing `}}` the writer puts {last}."))

    emit("### 9.2 Shard header (3.1), bytes 0–63\n")
    emit(dump_lines(h, 0))
    emit(table([
        (0, hexbytes(h[0:8]), "magic", '`"LGSTSHRD"`', "ASCII"),
        (8, hexbytes(h[8:10]), "major_version", u(h, 8, 2), "1"),
        (10, hexbytes(h[10:12]), "minor_version", u(h, 10, 2), "the writer's version (here the manifest's; 7.1, rule 7)"),
        (12, hexbytes(h[12:16]), "header_size", u(h, 12, 4), "64"),
        (16, hexbytes(h[16:20]), "vocab_size", u(h, 16, 4), "= manifest `vocab_size`"),
        (20, hexbytes(h[20:24]), "flags", u(h, 20, 4), "0 (reserved)"),
        (24, hexbytes(h[24:32]), "first_sequence", u(h, 24, 8), "= manifest `first_sequence`"),
        (32, hexbytes(h[32:48]), "pack_id", f"`{h[32:48].hex()}`",
         "= manifest `pack_id`, bytes in file order (2.0); derived from identity seed 1 (2.8)"),
        (48, hexbytes(h[48:56]), "reserved", 0, "0"),
        (56, hexbytes(h[56:64]), "header_checksum", f"`0x{u(h, 56, 8):016x}`", "XXH3-64 of bytes 0–55"),
    ]))

    e0 = shard["index"][:BLOCK_INDEX_ENTRY_SIZE]
    emit(f"### 9.3 Block index entry 0 (3.2), bytes {index_offset}–{index_offset + 31}\n")
    emit(para(f"A reader finds the index through the footer (9.9): `index_offset` = {index_offset}. Entry 0 describes "
              "the block this walk-through follows:"))
    emit(dump_lines(e0, index_offset))
    emit(table([
        (index_offset, hexbytes(e0[0:8]), "block_offset", u(e0, 0, 8), "64 for block 0"),
        (index_offset + 8, hexbytes(e0[8:12]), "block_length", u(e0, 8, 4), "multiple of 8, ≥ 40, checksum included"),
        (index_offset + 12, hexbytes(e0[12:16]), "sequence_count", u(e0, 12, 4), "`sequences_per_block` = 1"),
        (index_offset + 16, hexbytes(e0[16:24]), "first_sequence", u(e0, 16, 8), "= the header's `first_sequence`"),
        (index_offset + 24, hexbytes(e0[24:28]), "position_count", u(e0, 24, 4), "P"),
        (index_offset + 28, hexbytes(e0[28:32]), "entry_count", u(e0, 28, 4), "E"),
    ]))
    later = "; ".join(f"block {b}: offset {e['offset']}, length {e['length']}, P {e['positions']}, E {e['entries']}"
                      for b, e in enumerate(entries[1:], 1))
    emit(para(f"The other entries ({later}) follow the same rules: each block starts where the previous one ends, and "
              f"the last ends at `index_offset` = {index_offset}."))

    bh = blk[:BLOCK_HEADER_SIZE]
    emit(f"### 9.4 Block header (4.1), bytes {b_off}–{b_off + 31}\n")
    emit(dump_lines(bh, b_off, b_off))
    emit(table([
        (f"{b_off} (+0)", hexbytes(bh[0:4]), "magic", '`"LGBK"`', "ASCII"),
        (f"{b_off + 4} (+4)", hexbytes(bh[4:8]), "block_length", u(bh, 4, 4), "= index entry"),
        (f"{b_off + 8} (+8)", hexbytes(bh[8:16]), "first_sequence", u(bh, 8, 8), "= index entry"),
        (f"{b_off + 16} (+16)", hexbytes(bh[16:20]), "sequence_count", u(bh, 16, 4), "= index entry"),
        (f"{b_off + 20} (+20)", hexbytes(bh[20:24]), "position_count", u(bh, 20, 4), "P = sum of sequence lengths"),
        (f"{b_off + 24} (+24)", hexbytes(bh[24:28]), "entry_count", u(bh, 24, 4), "E = sum of kept counts"),
        (f"{b_off + 28} (+28)", hexbytes(bh[28:30]), "column_count", u(bh, 28, 2), "the six required columns (4.3)"),
        (f"{b_off + 30} (+30)", hexbytes(bh[30:32]), "reserved", 0, "0"),
    ]))

    cols = block["columns"]
    dir_at = b_off + BLOCK_HEADER_SIZE
    emit(f"### 9.5 Column directory (4.2), bytes {dir_at}–{dir_at + 6 * COLUMN_ENTRY_SIZE - 1}\n")
    emit(para("Six entries of 24 bytes (kind, codec, compression, flags: one byte each; then offset, stored_length, "
              "decoded_length, codec_param and reserved: a u32 each), kinds 1 to 6 in order (4.3); `flags` and "
              "`reserved` are 0 in all of them:"))
    emit(dump_lines(blk[BLOCK_HEADER_SIZE:BLOCK_HEADER_SIZE + 6 * COLUMN_ENTRY_SIZE], dir_at, b_off))
    rows = []
    for c in cols:
        meaning = {1: f"w = {c['param']} bits", 18: f"256 · R: R = {c['param'] / 256:g} nats"}.get(c["codec"], "unused")
        rows.append((f"{KIND_NAMES[c['kind']]} ({c['kind']})", f"`{CODEC_NAMES[c['codec']]}` ({c['codec']})",
                     f"{c['comp']} ({['none', 'zstd'][c['comp']]})", f"+{c['offset']}", c["stored"], c["dlen"],
                     f"{c['param']} ({meaning})"))
    emit(table(rows, ("kind", "codec", "compression", "offset", "stored_length", "decoded_length", "codec_param")))
    emit(para("Each payload starts at the end of the previous one rounded up to a multiple of 8, the first at +176 "
              f"(`32 + 6 × 24`), and the block checksum at the end of the last one, rounded up: +{b_len - 8} (4.3). "
              "The ids column is stored uncompressed because zstd would not make it smaller (4.2)."))

    lengths_col, tokens_col, counts_col, ids_col, values_col, residual_col = cols
    e = block["entry"]
    width = tokens_col["param"]
    tokens = seq["tokens"]
    counts = [len(p["ids"]) for p in seq["positions"]]
    ids = [i for p in seq["positions"] for i in p["ids"]]

    def heading(c, title):
        start = b_off + c["offset"]
        text = (f"**{title}**: bytes {start}–{start + c['stored'] - 1} (+{c['offset']}), {c['stored']} bytes"
                + (f", one zstd frame of {c['dlen']} decoded bytes" if c["comp"] else ", stored as they are"))
        if c["padding"]:
            text += f"; then {c['padding']} zero byte{'s' if c['padding'] > 1 else ''} of padding"
        return para(text + ".")

    emit("### 9.6 Column payloads (4.3, 5)\n")
    emit(heading(lengths_col, "sequence_lengths, `u32` (5.6)"))
    emit(dump_lines(lengths_col["payload"], b_off + lengths_col["offset"], b_off))
    emit(para(f"One u32 per sequence: {[u(lengths_col['data'], 4 * i, 4) for i in range(e['sequences'])]}; "
              f"the sum is P = {e['positions']}."))

    emit(heading(tokens_col, f"tokens, `packed` with w = {width} (5.1)"))
    emit(dump_lines(tokens_col["payload"], b_off + tokens_col["offset"], b_off))
    bits = bits_of(tokens_col["data"])
    mask = (1 << width) - 1
    emit(para(f"P = {e['positions']} tokens of w = ⌈log2 50⌉ = {width} bits: {e['positions'] * width} bits, "
              f"{len(tokens_col['data'])} bytes. Bit b of the stream is bit b mod 8 of byte ⌊b/8⌋, and each token "
              f"comes least significant bit first: token 0 is bits 0–{width - 1}, `{bits & mask:0{width}b}` = "
              f"{tokens[0]}; token 1 is bits {width}–{2 * width - 1}, `{(bits >> width) & mask:0{width}b}` = "
              f"{tokens[1]}. All {e['positions']}: {tokens}."))

    emit(heading(counts_col, "kept_counts, `u16` (5.6)"))
    emit(dump_lines(counts_col["payload"], b_off + counts_col["offset"], b_off))
    emit(para(f"One u16 per position: {counts}; the sum is E = {e['entries']}."))

    emit(heading(ids_col, f"ids, `packed` with w = {ids_col['param']} (5.1)"))
    emit(dump_lines(ids_col["payload"], b_off + ids_col["offset"], b_off))
    spare = 8 * len(ids_col["data"]) - e["entries"] * width
    emit(para(f"E = {e['entries']} ids of {width} bits: {e['entries'] * width} bits in {len(ids_col['data'])} bytes "
              f"(the top {spare} bits of the last byte are 0), in rank order. Position 0 holds the first "
              f"{counts[0]}: {ids[:counts[0]]}."))

    r_range, delta, weights = q8_weights(values_col["param"])
    codes = list(values_col["data"])
    emit(heading(values_col, f"values, `q8` with R = {r_range:g} (5.4)"))
    emit(dump_lines(values_col["payload"], b_off + values_col["offset"], b_off))
    if values_col["comp"]:
        emit(para("Compression 1: the payload is one zstd frame (RFC 8878; its first four bytes are the frame magic "
                  f"0xFD2FB528, `{hexbytes(values_col['payload'][:4])}` little-endian). What a reader decodes is its "
                  f"content, the {values_col['dlen']} code bytes, one per entry (offsets from 0):"))
        emit(dump_lines(values_col["data"]))
    n0 = counts[0]
    probs0, s0, inv0 = q8_decode(codes[:n0], weights)
    emit(para(f"Δ = R / 255 = {delta!r} (binary64). Position 0 has {n0} entries; decoding it by 5.4 (the weight table "
              f"W[c] = fl32(exp(−c·Δ)); s, the binary32 sum of the position's weights in entry order; "
              f"inv = fl32(1 / s); p̂ = fl32(W[code] · inv)) gives s = {short32(s0)}, inv = {short32(inv0)} and:"))
    shown = min(n0, 6)
    emit(table([(j, ids[j], codes[j], short32(weights[codes[j]]), short32(probs0[j])) for j in range(shown)],
               ("entry", "id", "code", "W[code]", "p̂")))
    emit(para(f"… and so on for the other {n0 - shown} entries (binary32 values in their shortest round-trip form). "
              "These are the `probs` of the golden JSON, bit for bit; the script that writes this section decodes "
              "every position of both golden stores this way and compares them all."))

    res_codes = [u(residual_col["data"], 2 * i, 2) for i in range(e["positions"])]
    emit(heading(residual_col, "residual_mass, `unorm16` (5.7)"))
    emit(dump_lines(residual_col["payload"], b_off + residual_col["offset"], b_off))
    emit(para(f"One u16 per position: {res_codes}; r̂ = fl32(code · fl32(1 / 65535)), e.g. position 0: "
              f"{res_codes[0]} → {short32(seq['positions'][0]['residual'])}."))

    tail = residual_col["offset"] + residual_col["stored"]
    emit(f"### 9.7 Block checksum (4), bytes {b_off + tail}–{b_off + b_len - 1}\n")
    emit(dump_lines(blk[tail:], b_off + tail, b_off))
    padding = (f"{b_len - 8 - tail} zero bytes of padding up to +{b_len - 8}, then" if b_len - 8 > tail
               else f"The residual column ends at +{tail}, a multiple of 8, so no padding follows; then comes")
    emit(para(f"{padding} the block checksum `0x{u(blk, b_len - 8, 8):016x}`: XXH3-64 of the block's bytes +0 to "
              f"+{b_len - 9}. The block ends at {b_off + b_len}, where block 1 begins with `LGBK`."))

    emit("### 9.8 The block index\n")
    emit(para(f"Block 1 (sequence 1) has the same layout. After it, at {index_offset}, the block index:"))
    emit(dump_lines(shard["index"], index_offset))

    emit(f"### 9.9 Shard footer (3.3), bytes {foot_at}–{len(f) - 1}\n")
    emit(dump_lines(foot, foot_at))
    emit(table([
        (foot_at, hexbytes(foot[0:8]), "magic", '`"LGSTFOOT"`', "ASCII"),
        (foot_at + 8, hexbytes(foot[8:16]), "index_offset", index_offset,
         f"file_length {len(f)} = {index_offset} + 32 × {len(entries)} + 64"),
        (foot_at + 16, hexbytes(foot[16:20]), "block_count", len(entries), "= manifest `blocks`"),
        (foot_at + 20, hexbytes(foot[20:24]), "reserved", 0, "0"),
        (foot_at + 24, hexbytes(foot[24:32]), "sequence_count", u(foot, 24, 8), "sum over the index = manifest `sequences`"),
        (foot_at + 32, hexbytes(foot[32:40]), "position_count", u(foot, 32, 8), "sum over the index = manifest `positions`"),
        (foot_at + 40, hexbytes(foot[40:48]), "entry_count", u(foot, 40, 8), "sum over the index = manifest `entries`"),
        (foot_at + 48, hexbytes(foot[48:56]), "index_checksum", f"`0x{u(foot, 48, 8):016x}`",
         f"XXH3-64 of the {len(shard['index'])} index bytes"),
        (foot_at + 56, hexbytes(foot[56:64]), "footer_checksum", f"`0x{u(foot, 56, 8):016x}`",
         "XXH3-64 of footer bytes 0–55"),
    ]))
    return out


def walk_ranked(store):
    out = []
    emit = out.append
    manifest = store["manifest"]
    d_entry = manifest["dictionaries"][0]
    t = store["tables"][int(d_entry["ref"], 16)]
    h = t["header"]
    vocab = store["vocab"]
    emit(f"### 9.10 The id rank table of `{store['name']}` (2.4) and its `ranked` ids (5.8)\n")
    emit(para(f"`{store['name']}` holds the same sequences with `ranked` ids, so it has one dictionary file. Its "
              "manifest lists it, and names it as the table new blocks are encoded with:"))
    emit("```json\n\"dictionaries\": " + json.dumps(manifest["dictionaries"], indent=2) + ",\n"
         + f"\"codecs\": {{ \"ids\": \"ranked\", \"ids_dictionary\": \"{manifest['codecs']['ids_dictionary']}\", … }}"
         + "\n```\n")
    emit(para(f"`{d_entry['file']}` is a 64-byte header and a body of V = {vocab} u32:"))
    emit(dump_lines(h, 0))
    emit(table([
        (0, hexbytes(h[0:8]), "magic", '`"LGSTDICT"`', "ASCII"),
        (8, hexbytes(h[8:10]), "major", 1, "1"),
        (10, hexbytes(h[10:12]), "minor", 0, "0"),
        (12, hexbytes(h[12:13]), "kind", 2, "id rank table"),
        (13, hexbytes(h[13:16]), "reserved", 0, "0"),
        (16, hexbytes(h[16:24]), "body_length", t["body_length"], f"4 · V = 4 · {vocab}"),
        (24, hexbytes(h[24:32]), "body_xxh3", f"`0x{t['body_sum']:016x}`", "XXH3-64 of the body"),
        (32, hexbytes(h[32:36]), "V", vocab, "= manifest `vocab_size`"),
        (36, hexbytes(h[36:56]), "reserved", 0, "0"),
        (56, hexbytes(h[56:64]), "header_xxh3", f"`0x{t['header_sum']:016x}`",
         f"XXH3-64 of bytes 0–55; its low 32 bits, the u32 at offset 56, are the ref `{d_entry['ref']}`"),
    ]))
    body = t["bytes"][DICTIONARY_HEADER_SIZE:]
    emit(para(f"The body, entry r the id of rank r: {t['ids'][:12]} … (its first 12 of {vocab}). The writer ranks ids "
              "by how often they are kept over the positions it samples (here all 16), most frequent first, ties "
              "by ascending id (5.8); the script recounts the golden JSON and finds the same order. The first 48 "
              "body bytes:"))
    emit(dump_lines(body[:48], DICTIONARY_HEADER_SIZE))

    shard = store["shards"][0]
    block = shard["blocks"][0]
    ids_col = block["columns"][3]
    e = block["entry"]
    seq = store["decoded"][0]
    n0 = len(seq["positions"][0]["ids"])
    _, steps = unpack_ranked(ids_col["data"], e["entries"], t["ids"], "ids")
    start = block["start"] + ids_col["offset"]
    emit(para(f"In block 0 of `{store['name']}/{manifest['shards'][0]['file']}`, the ids column's directory entry has "
              f"codec 4 (`ranked`), compression {ids_col['comp']} and codec_param `{hexbytes(ids_col['raw'][16:20])}`, "
              f"the u32 0x{ids_col['param']:08x}: the ref of this table. Its payload, bytes {start}–"
              f"{start + ids_col['stored'] - 1} (+{ids_col['offset']}), is "
              + (f"a zstd frame of {ids_col['stored']} bytes; decompressed, it is" if ids_col["comp"]
                 else f"stored as it is, {ids_col['stored']} bytes:")
              + f" E = {e['entries']} exponent bytes and then the mantissa bits:"))
    emit(dump_lines(ids_col["data"]))
    total = sum(s[0] for s in steps)
    rows, at = [], 0
    for j in range(min(n0, 6)):
        ex, mant, v = steps[j]
        rows.append((j, ex, f"bits {at}–{at + ex - 1}: `{mant:0{ex}b}`" if ex else "none", v, v - 1, t["ids"][v - 1]))
        at += ex
    emit(para(f"The mantissas take Σ e = {total} bits, {(total + 7) // 8} bytes, so decoded_length = {e['entries']} + "
              f"{(total + 7) // 8} = {ids_col['dlen']}. Bit b of the mantissa stream is bit b mod 8 of byte "
              f"{e['entries']} + ⌊b/8⌋; each entry takes e bits, least significant first (5.1), and "
              "v = 2^e + mantissa, id = table[v − 1]. Position 0's first entries:"))
    emit(table(rows, ("entry", "e", "mantissa", "v", "rank", "id")))
    emit(para(f"Position 0's ids, {seq['positions'][0]['ids'][:6]} …, are those of `packed-q8`: the two stores differ "
              "only in how the ids are coded."))
    return out


def walk_context(store):
    out = []
    emit = out.append
    manifest = store["manifest"]
    d_entry = manifest["dictionaries"][0]
    m = store["tables"][int(d_entry["ref"], 16)]
    h, vocab, o = m["header"], store["vocab"], m["offsets"]
    body = m["bytes"][DICTIONARY_HEADER_SIZE:]
    source = manifest["source"]
    emit(f"### 9.11 The id context model of `{store['name']}` (2.4, kind 3) and its `context` ids (5.10)\n")
    emit(para(f"`{store['name']}` holds other data than the two stores above: {source['total_sequences']} sequences of "
              f"{source['sequence_length']} positions of the same synthetic teacher over V = {vocab}, top-p-k 0.95 "
              f"with at most {manifest['processing']['top_k']} entries, "
              f"{manifest['codecs']['sequences_per_block']} sequences per block (`tools/golden/regenerate.sh`), so that "
              "some input tokens occur at 32 positions or more and get a context, and some ids are kept only once at a "
              "context and are coded as escapes. Its manifest lists one dictionary:"))
    emit("```json\n\"dictionaries\": " + json.dumps(manifest["dictionaries"], indent=2) + ",\n"
         + f"\"codecs\": {{ \"ids\": \"context\", \"ids_dictionary\": \"{manifest['codecs']['ids_dictionary']}\", … }}"
         + "\n```\n")
    emit(para(f"`{d_entry['file']}` is a 64-byte header and a body of {m['body_length']} bytes:"))
    emit(dump_lines(h, 0))
    emit(table([
        (0, hexbytes(h[0:8]), "magic", '`"LGSTDICT"`', "ASCII"),
        (8, hexbytes(h[8:10]), "major", 1, "1"),
        (10, hexbytes(h[10:12]), "minor", 0, "0 (the dictionary header's own version, for every kind)"),
        (12, hexbytes(h[12:13]), "kind", 3, "id context model"),
        (13, hexbytes(h[13:16]), "reserved", 0, "0"),
        (16, hexbytes(h[16:24]), "body_length", m["body_length"],
         f"4·V + 744 + 752·C + 4·N = {4 * vocab} + 744 + {752 * m['contexts']} + {4 * m['candidates']}"),
        (24, hexbytes(h[24:32]), "body_xxh3", f"`0x{m['body_sum']:016x}`", "XXH3-64 of the body"),
        (32, hexbytes(h[32:36]), "V", vocab, "= manifest `vocab_size`"),
        (36, hexbytes(h[36:40]), "C", m["contexts"], "token contexts"),
        (40, hexbytes(h[40:44]), "N", m["candidates"], "candidates over all contexts"),
        (44, hexbytes(h[44:56]), "reserved", 0, "0"),
        (56, hexbytes(h[56:64]), "header_xxh3", f"`0x{m['header_sum']:016x}`",
         f"XXH3-64 of bytes 0–55; its low 32 bits are the ref `{d_entry['ref']}`"),
    ]))
    at = lambda x: DICTIONARY_HEADER_SIZE + x
    directory = ", ".join(f"(token {t}, count {c})" for t, c in zip(m["tokens"], m["counts"]))
    emit(para("The body's five arrays, at these file offsets: the rank table at "
              f"{at(0)} ({vocab} u32: {m['ids'][:8]} …); the global frequencies at {at(o['global_at'])} (3 tables of "
              f"124 u16); the context directory at {at(o['directory_at'])}: {directory}; the context frequencies at "
              f"{at(o['frequencies_at'])} (3 tables of 124 u16 per context); the candidates at "
              f"{at(o['candidates_at'])}: context 0's list is {m['lists'][0][:8]} … The file ends at "
              f"{at(m['body_length'])}. Every table sums to 4096, and the global ones give the escape (symbol 123) 0. "
              "The first 8 symbols of each global table (f, one per class):"))
    emit(table([(g, m["global_tables"][g][0][:8], m["global_tables"][g][1][:8]) for g in range(CONTEXT_GROUPS)],
               ("group", "f[0 … 7]", "F[0 … 7]")))
    emit(para("The writer's model (5.10) is a function of the data: the script recounts the golden JSON (every "
              "position is in the sample) and finds the same rank table, contexts, lists and frequency tables."))

    shard = store["shards"][0]
    block = shard["blocks"][0]
    ids_col = block["columns"][3]
    e = block["entry"]
    lengths_col, tokens_col, counts_col = block["columns"][:3]
    tokens = unpack_bits(tokens_col["data"], e["positions"], tokens_col["param"], "tokens")
    counts = [u(counts_col["data"], 2 * i, 2) for i in range(e["positions"])]
    trace = []
    ids, info = unpack_context(ids_col["data"], tokens, counts, m, vocab, "ids", trace)
    data = ids_col["data"]
    start = block["start"] + ids_col["offset"]
    emit(para(f"In block 0 of `{store['name']}/{manifest['shards'][0]['file']}` (P = {e['positions']} positions, "
              f"E = {e['entries']} entries), the ids column's directory entry has codec 5 (`context`), compression "
              f"{ids_col['comp']} and codec_param `{hexbytes(ids_col['raw'][16:20])}`, the u32 0x{ids_col['param']:08x}: "
              f"the ref of this model. Its payload, bytes {start}–{start + ids_col['stored'] - 1} "
              f"(+{ids_col['offset']}), is "
              + (f"a zstd frame; decompressed, it is {ids_col['dlen']} bytes" if ids_col["comp"]
                 else f"stored as it is ({ids_col['dlen']} bytes: zstd would not make the rANS stream smaller)")
              + ". Its first 32 bytes (offsets from 0):"))
    emit(dump_lines(data[:32]))
    r_len = info["stream_length"]
    emit(para(f"R = {r_len}: the four initial states {', '.join(f'0x{x:08x}' for x in info['initial_states'])}, and "
              f"{(r_len - 16) // 2} u16 words from offset 20; the extra bits start at offset {4 + r_len}, "
              f"B = {info['extra_bits']} bits in {(info['extra_bits'] + 7) // 8} bytes, so decoded_length = 4 + "
              f"{r_len} + {(info['extra_bits'] + 7) // 8} = {ids_col['dlen']}. The block's {e['entries']} entries "
              f"take K = {info['symbols']} symbols. Some of them, symbol i with state X[i mod 4] (x before and after, "
              "r = x mod 4096, the symbol s with F[s] ≤ r < F[s] + f[s], the word read when x fell below 2^16):"))
    symbol_of, i = {}, 0
    for j, step in enumerate(info["steps"]):
        p, g, k, syms = step[:4]
        for n, _ in enumerate(syms):
            symbol_of[i] = (j, p, f"T({k},{g})" if k is not None and n == 0 else f"G({g})")
            i += 1
    first_context = next(j for j, step in enumerate(info["steps"]) if step[2] is not None)
    escape = next((j for j, step in enumerate(info["steps"]) if step[2] is not None and not step[6]), None)
    shown = list(range(6))
    for j in (first_context, first_context + 1, escape):
        if j is not None:
            shown += [i for i, (jj, _, _) in symbol_of.items() if jj == j and i not in shown]
    rows = []
    for i in shown:
        (_, state, before, r, sym, f, cum, after, word) = trace[i]
        j, p, where = symbol_of[i]
        rows.append((i, j, p, tokens[p], where, state, f"0x{before:08x}", r, sym, f, cum, f"0x{after:08x}",
                     f"0x{word:04x}" if word is not None else "—"))
    emit(table(rows, ("i", "entry", "position", "token", "table", "X", "x", "r", "s", "f[s]", "F[s]", "x after",
                      "word")))
    emit(para(f"(T(k,g) is context k's table of group g, G(g) the global table of group g.) The entries of these "
              "symbols (position, its input token and context, group, the symbols read: a class, or the escape 123 "
              f"then a class of the global table; v; the extra bits, counted from bit 0 of byte {4 + r_len}; the id):"))
    bit_at, at = {}, 0
    for j, step in enumerate(info["steps"]):
        bit_at[j] = at
        at += step[5]
    extra_bits = bits_of(data[4 + r_len:])
    rows = []
    for j in sorted({symbol_of[i][0] for i in shown}):
        p, g, k, syms, v, width, listed = info["steps"][j][:7]
        b0 = bit_at[j]
        extra = (f"bits {b0}–{b0 + width - 1}: `{(extra_bits >> b0) & ((1 << width) - 1):0{width}b}`" if width > 1
                 else f"bit {b0}: `{(extra_bits >> b0) & 1}`" if width else "none")
        how = f"cand_{k}[{v - 1}]" if listed else f"table[{v - 1}]"
        rows.append((j, p, tokens[p], "—" if k is None else k, g, syms, v, extra, how, ids[j]))
    emit(table(rows, ("entry", "position", "token", "context", "group", "symbols", "v", "extra bits", "id from",
                      "id")))
    emit(para(f"Position {info['steps'][first_context][0]} is the block's first context position (its input token "
              f"{tokens[info['steps'][first_context][0]]} is context {info['steps'][first_context][2]}'s token): "
              "its ids are coded as their index in the list, plus 1."))
    if escape is not None:
        p, g, k, syms, v, width, _ = info["steps"][escape][:7]
        emit(para(f"The block's first escape is entry {escape} (position {p}, token {tokens[p]}, context {k}, group "
                  f"{g}): symbol 123 in T({k},{g}), then class {syms[1]} in G({g}): v = {v}, id = table[{v - 1}] = "
                  f"{ids[escape]}, an id that is not in context {k}'s list."))
    emit(para(f"After symbol {info['symbols'] - 1} every word has been read and the four states are 0x10000 again (the "
              f"encoder's start). Position 0's ids, {ids[:counts[0]]}, are those of the golden JSON."))
    return out


def banded_blocks(store, model):
    """Every block of a banded store decoded again by unpack_context, keeping its steps (and for block 0 the symbol
    trace): (block, tokens, counts, ids, info, trace) each."""
    out = []
    for b_index, blk in enumerate(store["shards"][0]["blocks"]):
        e = blk["entry"]
        tokens = unpack_bits(blk["columns"][1]["data"], e["positions"], blk["columns"][1]["param"], "tokens")
        counts = [u(blk["columns"][2]["data"], 2 * i, 2) for i in range(e["positions"])]
        trace = [] if b_index == 0 else None
        ids, info = unpack_context(blk["columns"][3]["data"], tokens, counts, model, store["vocab"], "ids", trace)
        out.append((blk, tokens, counts, ids, info, trace))
    return out


def banded_escapes(blocks):
    """The escapes a banded store's ids column codes: per band, in set bands and in ordered ones, and the ids a set band
    reads from its global table after its escape."""
    in_set, in_ordered, after = {}, {}, 0
    for _, _, _, _, info, _ in blocks:
        for p, b, k, symbols, _, _, listed, more in info["steps"]:
            if CONTEXT_ESCAPE in symbols:
                counted = in_set if more["set"] else in_ordered
                counted[b] = counted.get(b, 0) + 1
            after += more["set"] and k is not None and not listed
    return in_set, in_ordered, after


def walk_banded(store, orders):
    out = []
    emit = out.append
    manifest = store["manifest"]
    d_entry = manifest["dictionaries"][0]
    m = store["tables"][int(d_entry["ref"], 16)]
    h, vocab, o = m["header"], store["vocab"], m["offsets"]
    body = m["bytes"][DICTIONARY_HEADER_SIZE:]
    source, codecs, processing = manifest["source"], manifest["codecs"], manifest["processing"]
    starts, set_from, bands = m["starts"], m["set_from"], len(m["starts"])
    emit(f"### 9.12 The id band model of `{store['name']}` (2.4, kind 4) and its `banded` ids (5.11)\n")
    emit(para(f"`{store['name']}` holds the synthetic teacher's (seed {source['seed']}) {processing['method']} "
              f"{processing['top_k']} distributions over V = {vocab} for {source['total_sequences']} sequences of "
              f"{source['sequence_length']} positions, {codecs['sequences_per_block']} sequences per block, with "
              f"`{codecs['ids']}` ids. Its manifest lists one dictionary:"))
    emit("```json\n\"dictionaries\": " + json.dumps(manifest["dictionaries"], indent=2) + ",\n"
         + f"\"codecs\": {{ \"ids\": \"{codecs['ids']}\", \"ids_dictionary\": \"{codecs['ids_dictionary']}\", … }}"
         + "\n```\n")
    emit(para(f"`{d_entry['file']}` is a 64-byte header and a body of {m['body_length']} bytes:"))
    emit(dump_lines(h, 0))
    emit(table([
        (0, hexbytes(h[0:8]), "magic", '`"LGSTDICT"`', "ASCII"),
        (8, hexbytes(h[8:10]), "major", 1, "1"),
        (10, hexbytes(h[10:12]), "minor", 0, "0 (the dictionary header's own version, for every kind)"),
        (12, hexbytes(h[12:13]), "kind", 4, "id band model"),
        (13, hexbytes(h[13:16]), "reserved", 0, "0"),
        (16, hexbytes(h[16:24]), "body_length", m["body_length"],
         f"4·V + 252·B + (8 + 248·B)·C + 4·N = {4 * vocab} + {252 * bands} + {(8 + 248 * bands) * m['contexts']} + "
         f"{4 * m['candidates']}"),
        (24, hexbytes(h[24:32]), "body_xxh3", f"`0x{m['body_sum']:016x}`", "XXH3-64 of the body"),
        (32, hexbytes(h[32:36]), "V", vocab, "= manifest `vocab_size`"),
        (36, hexbytes(h[36:40]), "C", m["contexts"], "token contexts"),
        (40, hexbytes(h[40:44]), "N", m["candidates"], "candidates over all contexts"),
        (44, hexbytes(h[44:48]), "B", bands, f"bands, 1–{BAND_LIMIT}"),
        (48, hexbytes(h[48:52]), "set_from", set_from,
         f"bands {set_from}–{bands - 1} are set bands" if set_from < bands else "no set band"),
        (52, hexbytes(h[52:56]), "reserved", 0, "0"),
        (56, hexbytes(h[56:64]), "header_xxh3", f"`0x{m['header_sum']:016x}`",
         f"XXH3-64 of bytes 0–55; its low 32 bits are the ref `{d_entry['ref']}`"),
    ]))
    at = lambda x: DICTIONARY_HEADER_SIZE + x
    ranges = [f"{s}" if e - s == 1 else f"{s}–{e - 1}" for s, e in zip(starts, starts[1:])] + [f"{starts[-1]} and later"]
    emit(para(f"The band starts, {bands} u32 at {at(o['starts_at'])}, right after the rank table (at {at(0)}, {vocab} "
              f"u32: {m['ids'][:8]} …):"))
    emit(dump_lines(body[o["starts_at"]:o["starts_at"] + 4 * bands], at(o["starts_at"])))
    most = max(len(p["ids"]) for s in store["decoded"] for p in s["positions"])
    set_bands = (f"bands {', '.join(str(b) for b in range(set_from, bands))} (entries {starts[set_from]} and later) are "
                 "coded as sets" if set_from < bands else "no band is coded as a set")
    emit(para(f"start = {starts}: band b holds the entries j with start_b ≤ j < start_(b+1), so the bands are the "
              f"entries {', '.join(ranges)}; the largest kept count is {most}, so the last band holds at most "
              f"entries {starts[-1]}–{most - 1}. set_from = {set_from}: {set_bands}. These are the bands of the "
              f"writer's model (5.11) for `{codecs['ids']}`: ordered bands from 0, 1, 2, 4, … below R, set bands of 4 "
              f"entries from R, every start below the largest kept count of the sample."))
    directory = ", ".join(f"(token {t}, count {c})" for t, c in zip(m["tokens"], m["counts"]))
    emit(para(f"The other arrays: the global frequencies at {at(o['global_at'])} ({bands} tables of 124 u16, one per "
              f"band); the context directory at {at(o['directory_at'])}: {directory}; the context frequencies at "
              f"{at(o['frequencies_at'])} ({bands} tables of 124 u16 per context); the candidates at "
              f"{at(o['candidates_at'])}: context 0's list is {m['lists'][0][:8]} … The file ends at "
              f"{at(m['body_length'])}. Every table sums to 4096, and the global ones give the escape (symbol 123) 0."))
    decided, pairs = sum(x[0] for x in orders), sum(x[1] for x in orders)
    emit(para("The writer's model (5.11) is recomputed from the golden JSON (every position is in the sample; a set "
              "band's ids come back in canonical order, but as the same set): the script finds the same rank table, "
              "band starts and set_from, contexts, list members and frequency tables, a set band's tables counting "
              "the classes of its gaps. The order of a list is the one thing the JSON does not fix: an id's "
              "rank-weighted count needs its entry index j in the teacher's order, which a set band does not keep. "
              f"Of the {pairs} adjacent pairs of the lists, {decided} are ordered by the bounds alone (each of an id's "
              "set-band entries at its band's first or last index); for the others the script finds a teacher order "
              "that the JSON allows (each set band's ids permuted among the band's entries) under which the rule gives "
              "exactly the stored lists, and the frequency tables, which follow from the list indexes, are the "
              "file's."))

    blocks = banded_blocks(store, m)
    block, tokens0, counts0, ids0, info0, trace0 = blocks[0]
    e0 = block["entry"]
    ids_col = block["columns"][3]
    data = ids_col["data"]
    start = block["start"] + ids_col["offset"]
    emit(para(f"In block 0 of `{store['name']}/{manifest['shards'][0]['file']}` (P = {e0['positions']} positions, "
              f"E = {e0['entries']} entries), the ids column's directory entry has codec 6 (`banded`), compression "
              f"{ids_col['comp']} and codec_param `{hexbytes(ids_col['raw'][16:20])}`, the u32 0x{ids_col['param']:08x}: "
              f"the ref of this model. Its payload, bytes {start}–{start + ids_col['stored'] - 1} "
              f"(+{ids_col['offset']}), is "
              + (f"a zstd frame; decompressed, it is {ids_col['dlen']} bytes" if ids_col["comp"]
                 else f"stored as it is ({ids_col['dlen']} bytes)")
              + ", laid out as 5.10's. Its first 32 bytes (offsets from 0):"))
    emit(dump_lines(data[:32]))
    r_len = info0["stream_length"]
    emit(para(f"R = {r_len}: the four initial states {', '.join(f'0x{x:08x}' for x in info0['initial_states'])}, and "
              f"{(r_len - 16) // 2} u16 words from offset 20; the extra bits start at offset {4 + r_len}, "
              f"{info0['extra_bits']} bits in {(info0['extra_bits'] + 7) // 8} bytes, so decoded_length = 4 + {r_len} + "
              f"{(info0['extra_bits'] + 7) // 8} = {ids_col['dlen']}. The block's {e0['entries']} entries take "
              f"K = {info0['symbols']} symbols."))

    steps = info0["steps"]
    symbol_of, i = {}, 0
    for j, step in enumerate(steps):
        for where in step[7]["tables"]:
            symbol_of[i] = (j, step[0], f"T({where[1]},{where[2]})" if where[0] == "T" else f"G({where[1]})")
            i += 1
    first_entry = [sum(counts0[:p]) for p in range(len(counts0))]
    n0 = counts0[0]
    band_end = lambda b, n: min(starts[b + 1], n) if b + 1 < bands else n
    # Position 0's first two entries, its first set band; then the first set band of block 0 that codes an escape
    # (or, without one, the first set band at a context position) and the set band before it at that position.
    shown_entries = [0, 1][:n0]
    if set_from < bands and starts[set_from] < n0:
        shown_entries += list(range(starts[set_from], band_end(set_from, n0)))
    escape_at = next(((p, b) for p, b, k, symbols, _, _, _, more in steps
                      if more["set"] and k is not None and CONTEXT_ESCAPE in symbols), None)
    if escape_at is None:
        escape_at = next(((p, set_from) for p in range(len(counts0))
                          if tokens0[p] in m["context_of"] and set_from < bands and counts0[p] > starts[set_from]), None)
    if escape_at is not None:
        p, b = escape_at
        for shown_band in ([b - 1] if b - 1 >= set_from else []) + [b]:
            shown_entries += [first_entry[p] + j for j in range(starts[shown_band], band_end(shown_band, counts0[p]))]
    shown = [i for i, (j, _, _) in sorted(symbol_of.items()) if j in shown_entries]
    emit(para("Some of them, symbol i with state X[i mod 4] (x before and after, r = x mod 4096, the symbol s with "
              "F[s] ≤ r < F[s] + f[s], the word read when x fell below 2^16; T(k,b) is context k's table of band b, "
              "G(b) the global table of band b):"))
    rows = []
    for i in shown:
        (_, state, before, r, sym, f, cum, after, word) = trace0[i]
        j, p, where = symbol_of[i]
        rows.append((i, j, p, tokens0[p], where, state, f"0x{before:08x}", r, sym, f, cum, f"0x{after:08x}",
                     f"0x{word:04x}" if word is not None else "—"))
    emit(table(rows, ("i", "entry", "position", "token", "table", "X", "x", "r", "s", "f[s]", "F[s]", "x after",
                      "word")))
    bit_at, bit = {}, 0
    for j, step in enumerate(steps):
        bit_at[j] = bit
        bit += step[5]
    extra_bits = bits_of(data[4 + r_len:])
    emit(para(f"Their entries (j, the entry's index in its position; its band; the symbols read; v, a list index or "
              "rank plus 1 in an ordered band and the gap d in a set band; the extra bits, counted from bit 0 of byte "
              f"{4 + r_len}; the list index i or rank r the id is taken from, i = i_prev + d or r = r_prev + d in a set "
              "band, from −1; the id):"))
    rows = []
    for j in shown_entries:
        p, b, k, syms, v, width, listed, more = steps[j]
        b0 = bit_at[j]
        extra = (f"bits {b0}–{b0 + width - 1}: `{(extra_bits >> b0) & ((1 << width) - 1):0{width}b}`" if width > 1
                 else f"bit {b0}: `{(extra_bits >> b0) & 1}`" if width else "none")
        kind_of_band = "set" if more["set"] else "ordered"
        how = f"cand_{k}[{more['at']}]" if listed else f"table[{more['at']}]"
        rows.append((j, p, tokens0[p], "—" if k is None else k, j - first_entry[p], f"{b} ({kind_of_band})", syms, v,
                     extra, how, ids0[j]))
    emit(table(rows, ("entry", "position", "token", "context", "j", "band", "symbols", "v", "extra bits", "id from",
                      "id")))
    explained = []
    if set_from < bands and starts[set_from] < n0:
        band_ids = ids0[starts[set_from]:band_end(set_from, n0)]
        if tokens0[0] in m["context_of"]:
            explained.append(f"Position 0 (input token {tokens0[0]}) is a context position.")
        else:
            explained.append(
                f"Position 0 (input token {tokens0[0]}) has no context, so its set bands are coded in the global "
                f"tables: band {set_from}'s ids, {band_ids}, come out by ascending rank "
                f"({[m['ids'].index(x) for x in band_ids]}), each rank coded as its gap to the one before (the first "
                "from −1); the next band starts again from −1.")
    if escape_at is not None:
        p, b = escape_at
        k = m["context_of"][tokens0[p]]
        text = f"Position {p} (input token {tokens0[p]}, context {k}) codes its set bands in the context's tables: "
        for shown_band in ([b - 1] if b - 1 >= set_from else []) + [b]:
            band_steps = [(j, steps[j]) for j in range(first_entry[p] + starts[shown_band],
                                                       first_entry[p] + band_end(shown_band, counts0[p]))]
            listed = [s[7]["at"] for _, s in band_steps if s[6]]
            ranked = [(ids0[j], s[7]["at"]) for j, s in band_steps if not s[6]]
            text += (f"band {shown_band}'s ids at list indexes {listed}, each index coded as its gap to the one "
                     "before (the first from −1)" if shown_band < b else
                     f"; band {shown_band} starts again from −1 with its ids at list indexes {listed}")
            if ranked:
                one = len(ranked) == 1
                text += (f", then {'id' if one else 'ids'} {', '.join(str(x) for x, _ in ranked)}, kept only once at "
                         f"token {tokens0[p]}'s positions and so not in context {k}'s list: one escape (symbol 123) in "
                         f"T({k},{shown_band}), then {'its rank' if one else 'their ranks'} "
                         f"{', '.join(str(r) for _, r in ranked)} in G({shown_band}), coded as "
                         + (f"the gap {ranked[0][1] + 1} from −1" if one else "gaps from −1") + ". No second escape "
                         "is read: after the escape every remaining entry of the band is a global one")
        explained.append(text + ".")
    emit(para(" ".join(explained)))
    in_set, in_ordered, after = banded_escapes(blocks)
    if in_set or in_ordered:
        spelled = lambda counted: ", ".join(f"{counted[b]} in band {b}" for b in sorted(counted))
        emit(para(f"Over the store's {len(blocks)} blocks the ids column codes {sum(in_set.values())} escapes in set "
                  f"bands ({spelled(in_set)}), after which {after} ids are read from a global table, and "
                  f"{sum(in_ordered.values())} in ordered bands" + (f" ({spelled(in_ordered)})" if in_ordered else "")
                  + ": every id kept once at a token context, so not in its list."))
    else:
        emit(para("No block of this store codes an escape, in any band, so K = E in every block."))
    emit(para(f"Position 0's ids, {ids0[:n0]}, are those of the golden JSON"
              + (f": from entry {starts[set_from]} on in the canonical order of their set bands, paired with the "
                 "values in rank order (5.11)." if set_from < bands and starts[set_from] < n0 else ".")))
    emit(para(f"After symbol {info0['symbols'] - 1} every word has been read and the four states are 0x10000 again."))
    return out


def check_rank_order(store):
    """The writer's rule of 5.8 for the table (counts over the sampled positions, ties by ascending id)."""
    counts = [0] * store["vocab"]
    for s in store["decoded"]:
        for p in s["positions"]:
            for i in p["ids"]:
                counts[i] += 1
    expected = sorted(range(store["vocab"]), key=lambda i: (-counts[i], i))
    for t in store["tables"].values():
        check(t["ids"] == expected, f"{store['name']}: the rank table is not by count, ties by ascending id (5.8)")


def writer_table(counts, codable):
    """The writer's frequency table of 5.10 (informative): counts scaled to 4096 and floored, every codable symbol at
    least 1, the rounding difference on the largest frequency."""
    total = sum(counts)
    f = [c * CONTEXT_TOTAL // total if total else 0 for c in counts]
    for sym in codable:
        f[sym] = max(f[sym], 1)
    largest = max(range(CONTEXT_SYMBOLS), key=lambda sym: (f[sym], -sym))
    f[largest] += CONTEXT_TOTAL - sum(f)
    return f


def writer_bands(most, ids_name, name):
    """The writer's bands of 5.11 (informative) for `banded:R`, R a power of two: ordered bands from 0, 1, 2, 4, 8, …
    below R, then set bands from R, each 4 entries long, or p/8 where that is more (p the largest power of two not
    above its start); every start below the sample's largest kept count `most` (just 0 when it is at most 1); set_from
    the band that starts at R, or B when none does."""
    rank = int(ids_name.partition(":")[2])
    check(rank >= 1 and rank & (rank - 1) == 0, f"{name}: codecs.ids {ids_name!r}: R is not a power of two (5.11)")
    starts, start = [0], 1
    while start < most:
        starts.append(start)
        start = 2 * start if start < rank else start + max(4, (1 << (start.bit_length() - 1)) // 8)
    return starts, starts.index(rank) if rank in starts else len(starts)


def rank_weight(j):
    """5.11, the writer's model: an id kept at entry index j adds floor(10^6 / (1 + j)) to its rank-weighted count."""
    return 10 ** 6 // (1 + j)


# Swaps the search of check_rank_weighted_order may try; on the golden stores it needs a few thousand.
ORDER_SEARCH_LIMIT = 200000


def check_rank_weighted_order(listed, fixed, groups, where):
    """5.11: a band model's list is ordered by rank-weighted count, highest first, ties by ascending id. The count needs
    each id's entry index j in the teacher's rank order, which a set band does not keep (its ids decode in canonical
    order), so the JSON fixes a count only up to where each set band's ids sat among the band's entries: `fixed` holds
    each listed id's exact part (its ordered-band entries), `groups` one (entry indexes, ids) pair per non-empty set
    band of a position of the context. This checks that the stored order is one the rule can give: no adjacent pair is
    ruled out by the bounds, and a seeded search (swaps inside a band, from the canonical order, kept when they do not
    move the counts further from the stored order) finds an assignment of every set band's ids to its entries, i.e. a
    teacher order the JSON allows, under which the rule gives exactly the stored list. Returns the adjacent pairs
    whose order the bounds alone decide, all adjacent pairs, and the swaps tried."""
    count, low, high = dict(fixed), dict(fixed), dict(fixed)
    groups = [(entries, list(ids)) for entries, ids in groups]
    for entries, ids in groups:
        weights = [rank_weight(j) for j in entries]
        for j, i in zip(entries, ids):
            if i in count:
                count[i] += rank_weight(j)
                low[i] += min(weights)
                high[i] += max(weights)
    index = {i: n for n, i in enumerate(listed)}
    last = len(listed) - 1

    def shortfall(n):
        """How far adjacent pair n is from its stored order: a first needs the larger count, or an equal one and the
        smaller id."""
        a, b = listed[n], listed[n + 1]
        return max(0, (0 if a < b else 1) - (count[a] - count[b]))

    decided = 0
    for n, (a, b) in enumerate(zip(listed, listed[1:])):
        need = 0 if a < b else 1
        check(high[a] - low[b] >= need,
              f"{where}: ids {a} and {b}, list indexes {n} and {n + 1}: rank-weighted counts at most {high[a]} and at "
              f"least {low[b]}, whatever the order inside the set bands")
        decided += low[a] - high[b] >= need
    shortfalls = sum(shortfall(n) for n in range(last))
    movable = [g for g in groups if len(g[1]) >= 2 and any(i in index for i in g[1])]
    rng, tries = random.Random(0), 0
    while shortfalls:
        check(movable and tries < ORDER_SEARCH_LIMIT,
              f"{where}: no order inside the set bands found (in {tries} swaps) under which the rank-weighted counts "
              f"give the stored list")
        tries += 1
        entries, ids = movable[rng.randrange(len(movable))]
        x, y = rng.sample(range(len(ids)), 2)
        a, b = ids[x], ids[y]
        moved = rank_weight(entries[y]) - rank_weight(entries[x])
        pairs = {n for i in (a, b) if i in index for n in (index[i] - 1, index[i]) if 0 <= n < last}
        before = sum(shortfall(n) for n in pairs)
        count[a], count[b] = count.get(a, 0) + moved, count.get(b, 0) - moved
        after = sum(shortfall(n) for n in pairs)
        if after <= before:
            ids[x], ids[y] = b, a
            shortfalls += after - before
        else:
            count[a], count[b] = count[a] - moved, count[b] + moved
    check(sorted(listed, key=lambda i: (-count[i], i)) == listed, f"{where}: the order found does not give the list")
    return decided, last, tries


def check_context_model(store):
    """The writer's model of 5.10 (kind 3) or 5.11 (kind 4), recomputed from the golden JSON, in which every position is
    in the sample, and compared with the model file. For kind 4, a set band's ids come back in canonical order, not the
    teacher's, but as the same set: the rank table, bands, contexts, list members and frequency tables (a set band's
    counting the gaps of its canonical order) are the writer's exactly; a list's order, which depends on the teacher's
    order inside the set bands, is checked by check_rank_weighted_order. Returns, for a band model, per context the
    figures that check returns."""
    vocab, name = store["vocab"], store["name"]
    positions = [(tok, p["ids"]) for s in store["decoded"] for tok, p in zip(s["tokens"], s["positions"])]
    check(len(positions) <= store["manifest"]["codecs"]["dictionary_sample"], f"{name}: sample")
    kept = [0] * vocab
    seen = [0] * vocab
    for tok, ids in positions:
        seen[tok] += 1
        for i in ids:
            kept[i] += 1
    rank = sorted(range(vocab), key=lambda i: (-kept[i], i))
    frequent = sorted((t for t in range(vocab) if seen[t] >= 32), key=lambda t: (-seen[t], t))[:1024]
    tokens = sorted(frequent)
    kept_at = {}
    for t in tokens:
        kept_at[t] = [0] * vocab
        for tok, ids in positions:
            if tok == t:
                for i in ids:
                    kept_at[t][i] += 1
    position_of_rank = {i: r for r, i in enumerate(rank)}
    kinds = {model["kind"] for model in store["tables"].values()} & {3, 4}
    check(len(kinds) == 1, f"{name}: one id context or band model")
    kind = kinds.pop()
    if kind == 3:
        starts, set_from, what = CONTEXT_GROUP_STARTS, CONTEXT_GROUPS, "5.10"
    else:
        most = max((len(ids) for _, ids in positions), default=0)
        starts, set_from = writer_bands(most, store["manifest"]["codecs"]["ids"], name)
        what = "5.11"
    bands = len(starts)
    band_ranges = [(low, starts[b + 1] if b + 1 < bands else None) for b, low in enumerate(starts)]
    orders = []
    for model in store["tables"].values():
        if model["kind"] != kind:
            continue
        where = f"{name}: the writer's model ({what})"
        check(model["ids"] == rank, f"{where}: rank table")
        check(model["starts"] == starts and model["set_from"] == set_from,
              f"{where}: bands {model['starts']} from set_from {model['set_from']}, expected {starts} from {set_from}")
        check(model["tokens"] == tokens, f"{where}: context tokens {model['tokens']}, expected {tokens}")
        lists = {}
        for k, t in enumerate(tokens):
            members = [i for i in range(vocab) if kept_at[t][i] >= 2]
            stored = model["lists"][k]
            if kind == 3:
                lists[t] = sorted(members, key=lambda i: (-kept_at[t][i], i))[:4096]
                check(stored == lists[t], f"{where}: context {k}'s list")
                continue
            # 5.11 keeps 5.10's members (at most 4096 of them; which ones when more qualify, the JSON cannot say).
            check(set(stored) == set(members) if len(members) <= 4096 else len(stored) == 4096 and set(stored) <= set(
                members), f"{where}: context {k}'s list holds other ids than those kept at least twice at token {t}")
            fixed, groups = {i: 0 for i in stored}, []
            for tok, ids in positions:
                if tok != t:
                    continue
                for b, (low, high) in enumerate(band_ranges):
                    high = len(ids) if high is None else min(high, len(ids))
                    if b >= set_from and low < high:
                        groups.append((range(low, high), ids[low:high]))
                    for j in range(low, high) if b < set_from else ():
                        if ids[j] in fixed:
                            fixed[ids[j]] += rank_weight(j)
            orders.append(check_rank_weighted_order(stored, fixed, groups,
                                                    f"{where}: context {k}'s list order (rank-weighted counts)"))
            lists[t] = stored
        global_counts = [[0] * CONTEXT_SYMBOLS for _ in range(bands)]
        context_counts = {t: [[0] * CONTEXT_SYMBOLS for _ in range(bands)] for t in tokens}
        for tok, ids in positions:
            listed = lists.get(tok)
            for b, (low, high) in enumerate(band_ranges):
                band = ids[low:high]
                if b < set_from:
                    for i in band:
                        if listed is not None:
                            if i in listed:
                                context_counts[tok][b][context_class(listed.index(i) + 1)[0]] += 1
                                continue
                            context_counts[tok][b][CONTEXT_ESCAPE] += 1
                        global_counts[b][context_class(position_of_rank[i] + 1)[0]] += 1
                    continue
                indexes = sorted(listed.index(i) for i in band if i in listed) if listed is not None else []
                others = sorted(position_of_rank[i] for i in band if listed is None or i not in listed)
                for previous, i in zip([-1] + indexes, indexes):
                    context_counts[tok][b][context_class(i - previous)[0]] += 1
                if others and listed is not None:
                    context_counts[tok][b][CONTEXT_ESCAPE] += 1
                for previous, r in zip([-1] + others, others):
                    global_counts[b][context_class(r - previous)[0]] += 1
        all_classes = sorted({context_class(v)[0] for v in range(1, vocab + 1)})
        for g in range(bands):
            expected = writer_table(global_counts[g], all_classes)
            check(model["global_tables"][g][0] == expected,
                  f"{where}: global table {g}: {model['global_tables'][g][0]} vs {expected}")
            for k, t in enumerate(tokens):
                codable = sorted({context_class(v)[0] for v in range(1, len(lists[t]) + 1)} | {CONTEXT_ESCAPE})
                expected = writer_table(context_counts[t][g], codable)
                check(model["context_tables"][k][g][0] == expected,
                      f"{where}: context {k} table {g}: {model['context_tables'][k][g][0]} vs {expected}")
    return orders


def main(golden):
    versions = sorted((tuple(int(x) for x in d.split(".")), d) for d in os.listdir(golden)
                      if os.path.isdir(os.path.join(golden, d)) and d.replace(".", "").isdigit() and d.count(".") == 1)
    check(versions, f"{golden}: no version directories")
    newest = None
    for version, directory in versions:
        packed = read_store(os.path.join(golden, directory, "packed-q8"), os.path.join(golden, directory, "packed-q8.json"))
        ranked = read_store(os.path.join(golden, directory, "ranked-q8"), os.path.join(golden, directory, "ranked-q8.json"))
        check_rank_order(ranked)
        check(packed["decoded"] == ranked["decoded"], f"{directory}: packed-q8 and ranked-q8 decode to different sequences")
        context = None
        if os.path.isdir(os.path.join(golden, directory, "context-q8")):
            context = read_store(os.path.join(golden, directory, "context-q8"),
                                 os.path.join(golden, directory, "context-q8.json"))
            check_context_model(context)
        banded = None
        if version >= (1, 5):
            # 1.5 added the banded ids codec and its golden store (9): from then on every version has it.
            check(os.path.isdir(os.path.join(golden, directory, "banded-q8")), f"{directory}: banded-q8 is missing")
            banded = read_store(os.path.join(golden, directory, "banded-q8"),
                                os.path.join(golden, directory, "banded-q8.json"))
            orders = check_context_model(banded)
            banded["orders"] = orders
            model = next(t for t in banded["tables"].values() if t["kind"] == 4)
            in_set, in_ordered, after = banded_escapes(banded_blocks(banded, model))
            # Section 9 says the store escapes ids kept once at a token context in set bands too.
            check(in_set, f"{banded['name']}: no set band codes an escape, so the golden store does not cover 5.11's")
            print(f"hexwalk: {banded['name']}: {sum(in_set.values())} escapes in set bands "
                  f"({', '.join(f'band {b}: {n}' for b, n in sorted(in_set.items()))}; {after} ids read from a global "
                  f"table after them), {sum(in_ordered.values())} in ordered bands; list order by rank-weighted count: "
                  + ", ".join(f"context {k}: {d} of {n} adjacent pairs fixed by the JSON's bounds, the rest by a "
                              f"teacher order found in {t} swaps" for k, (d, n, t) in enumerate(orders)),
                  file=sys.stderr)
        for other in ("context-mvq4", "packed-counts", "packed-f16"):
            if os.path.isdir(os.path.join(golden, directory, other)):
                store = read_store(os.path.join(golden, directory, other), os.path.join(golden, directory, other + ".json"))
                coded = sum(p["mvq_coded"] for s in store["decoded"] for p in s["positions"])
                if coded:
                    print(f"hexwalk: {store['name']}: {coded} mvq-coded positions, decoded within "
                          f"{store['widest_mvq_difference']:g} ulp of the JSON", file=sys.stderr)
        newest = (packed, ranked, context, banded)
    walk = walk_packed(newest[0]) + walk_ranked(newest[1])
    if newest[2] is not None:
        walk += walk_context(newest[2])
    if newest[3] is not None:
        walk += walk_banded(newest[3], newest[3]["orders"])
    sys.stdout.write("\n".join(walk))


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    try:
        main(sys.argv[1])
    except SpecMismatch as e:
        sys.exit(f"hexwalk: the bytes disagree with the spec: {e}")
