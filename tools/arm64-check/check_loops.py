#!/usr/bin/env python3
"""Checks the hot loops of JIT disassembly listings (JitStdOutFile output of crossgen2 for arm64).

usage: check_loops.py LISTING SPEC...
SPEC is  NAME|METHOD-SUBSTRING|MODE|ARG
  MODE neon:     ARG = comma-separated mnemonics that the vector loop (an innermost loop with
                 NEON register operands) must contain; it must contain no call (bl/blr).
  MODE explicit: ARG = the number of calls the vector loop must contain: each is an explicit
                 AdvSimd/Dp intrinsic, which the x64 CoreLib used for cross-compilation only holds
                 as a stub (on arm64 each call is one instruction); the count pins the loop's shape.
Every innermost loop of every listed method must be free of range checks: no branch from the loop
to a block that ends in a no-return helper call (brk after blr: CORINFO_HELP_RNGCHKFAIL and kin).
Prints one PASS/FAIL line per spec; exits 1 if any fails.
"""
import re
import sys

IG = re.compile(r'^(G_M\d+_IG(\d+)):')
BRANCH = re.compile(r'^\s+(b(?:\.[a-z]+|eq|ne|hs|lo|mi|pl|vs|vc|hi|ls|ge|lt|gt|le|cs|cc)?|cbn?z|tbn?z)\s+(?:[^,]+,\s*)*G_M\d+_IG(\d+)\s*$')
CALL = re.compile(r'^\s+(bl|blr)\s')
NEON = {'sxtl', 'sxtl2', 'smull', 'smull2', 'sadalp', 'saddlp', 'addp', 'addv', 'sdot', 'mul', 'smax', 'smin',
        'saddw', 'saddw2', 'smlal', 'smlal2', 'sqrdmulh', 'srshl', 'sqadd', 'xtn', 'xtn2', 'scvtf', 'fdiv', 'fcvtzs', 'add', 'ldr', 'cmgt', 'bsl', 'bif', 'bit', 'tbl'}
VREG = re.compile(r'\bv\d+\.(16b|8b|8h|4h|4s|2s|2d)\b|\bq\d+\b')


def methods(text):
    parts = re.split(r'^; Assembly listing for method ', text, flags=re.M)
    for p in parts[1:]:
        name, _, body = p.partition('\n')
        yield name, body.splitlines()


def blocks(lines):
    """IG number -> list of instruction lines, in order."""
    order, content, cur = [], {}, None
    for ln in lines:
        m = IG.match(ln)
        if m:
            cur = int(m.group(2))
            order.append(cur)
            content[cur] = []
        elif cur is not None and ln.strip() and not ln.lstrip().startswith(';'):
            content[cur].append(ln)
    return order, content


def analyse(lines):
    order, content = blocks(lines)
    pos = {ig: i for i, ig in enumerate(order)}
    loops = []
    for ig in order:
        for ln in content[ig]:
            m = BRANCH.match(ln)
            if m and int(m.group(2)) in pos and pos[int(m.group(2))] <= pos[ig]:
                loops.append((pos[int(m.group(2))], pos[ig]))
    inner = [l for l in loops if not any(o != l and l[0] <= o[0] and o[1] <= l[1] for o in loops)]
    throw_blocks = set()
    for ig in order:
        body = [x.split()[0] for x in content[ig]]
        if 'brk' in body and any(b in ('bl', 'blr') for b in body):
            throw_blocks.add(ig)
    result = []
    for lo, hi in inner:
        igs = order[lo:hi + 1]
        body = [ln for ig in igs for ln in content[ig]]
        mnems = [ln.split()[0] for ln in body]
        calls = sum(1 for ln in body if CALL.match(ln))
        vector = any(VREG.search(ln) for ln in body)
        checks = []
        for ln in body:
            m = BRANCH.match(ln)
            if m and int(m.group(2)) in throw_blocks:
                checks.append(ln.strip())
        result.append({'igs': igs, 'mnems': mnems, 'calls': calls, 'vector': vector, 'rangechecks': checks})
    return result


def main():
    text = open(sys.argv[1]).read()
    listing = list(methods(text))
    failed = 0
    for spec in sys.argv[2:]:
        name, sub, mode, arg = spec.split('|')
        found = [(n, l) for n, l in listing if sub in n]
        if not found:
            print(f'FAIL {name}: no listing for {sub}')
            failed += 1
            continue
        problems, notes = [], []
        for n, lines in found:
            loops = analyse(lines)
            vloops = [lp for lp in loops if lp['vector']]
            if mode == 'neon':
                want = arg.split(',')
                ok = [lp for lp in vloops if not lp['calls'] and not lp['rangechecks'] and all(x in lp['mnems'] for x in want)]
            else:
                ok = [lp for lp in vloops if lp['calls'] == int(arg) and not lp['rangechecks']]
            if not ok:
                seen = ', '.join(f"IG{lp['igs'][0]:02d}..IG{lp['igs'][-1]:02d} ({lp['calls']} calls, {len(lp['rangechecks'])} range checks)" for lp in vloops) or 'none'
                problems.append(f'no innermost vector loop meets "{mode} {arg}"; vector loops: {seen}')
                continue
            hot = min(ok, key=lambda lp: len(lp['mnems']))
            where = f"IG{hot['igs'][0]:02d}..IG{hot['igs'][-1]:02d}"
            if mode == 'neon':
                used = sorted({m for m in hot['mnems'] if m in NEON})
                notes.append(f"{where}: {len(hot['mnems'])} instructions, no calls, no range checks, uses {' '.join(used)}")
            else:
                notes.append(f"{where}: {hot['calls']} explicit-intrinsic calls (one instruction each on arm64), no range checks")
            other = sum(len(lp['rangechecks']) > 0 for lp in loops)
            if other:
                notes.append(f'{other} other innermost loop(s) with throw-helper branches (range or divide checks; scalar tails)')
        if problems:
            print(f'FAIL {name}: ' + '; '.join(problems))
            failed += 1
        else:
            print(f'PASS {name}: ' + '; '.join(notes))
    sys.exit(1 if failed else 0)


if __name__ == '__main__':
    main()
