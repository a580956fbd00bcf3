#!/usr/bin/env bash
# tests/readme_commands.sh [NNFMRI [README]] — README's commands are ones the CLI accepts, so that a
# command copied from README never meets "unknown command" or "unknown flag".  Every nnfmri command in
# README's fenced code blocks (backslash-continued lines joined) and in its inline code spans
# (`nnfmri CMD ...`, `build/nnfmri CMD ...`, `mpirun -np P build/nnfmri CMD ...`, and in prose
# `train --analyze-every N` with nnfmri left out) must name a command that `NNFMRI --help` lists, and
# each --flag in it must be one that `NNFMRI CMD --help` lists; a code span that starts with a flag
# (`--zeta-budget`) must name one that some command lists.  Operands and placeholders (CKPT, DIR, a
# command written CMD) are not checked.  Every `make X` README names must be a target of the Makefile
# beside this folder, and the --flags in IMAGING= and RUN_ARGS= must be train's (make run passes them
# to nnfmri train).  Prints one line per problem (README's line number, the command, the flag) and a
# one-line summary; exit status 1 on any problem, 2 when NNFMRI or README is missing.
# NNFMRI defaults to build/nnfmri, README to $README or else README.md, both beside this folder.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
nnfmri=$(realpath -m "${1:-$here/build/nnfmri}")
readme=$(realpath -m "${2:-${README:-$here/README.md}}")
test -x "$nnfmri" || { echo "readme_commands: $nnfmri is not an executable (build it: make build)"; exit 2; }
test -f "$readme" || { echo "readme_commands: $readme does not exist, expected a README.md"; exit 2; }
exec python3 - "$nnfmri" "$readme" "$here/Makefile" <<'PYTHON'
import os, re, shlex, subprocess, sys

nnfmri, readme, makefile = sys.argv[1:4]
where = os.path.relpath(readme)  # how problems name README (a continued command: its first line)

def help_text(*args):
    r = subprocess.run([nnfmri, *args], capture_output=True, text=True, timeout=60)
    if r.returncode != 0:
        sys.exit(f"readme_commands: '{nnfmri} {' '.join(args)}' exited {r.returncode}: {r.stderr.strip()}")
    return r.stdout

# `nnfmri --help`: one line per command, "  NAME  what it does"; `nnfmri CMD --help`: "  --flag ...".
commands = re.findall(r"^  ([a-z][a-z0-9-]*)\b", help_text("--help"), re.M)
if not commands:
    sys.exit(f"readme_commands: '{nnfmri} --help' lists no commands")
flags_of = {c: set(re.findall(r"^  (--[a-z0-9][a-z0-9-]*)", help_text(c, "--help"), re.M)) for c in commands}
all_flags = set().union(*flags_of.values())

def makefile_targets():
    """The Makefile's explicit targets (no variables, no patterns): what `make X` may name."""
    targets = set()
    for line in open(makefile, encoding="utf-8"):
        m = re.match(r"^([A-Za-z0-9_.][A-Za-z0-9_./ -]*?)\s*:(?![:=])", line)
        if m and not line.startswith("\t"):
            targets.update(m.group(1).split())
    return targets

targets = makefile_targets()

# Where the commands are: (README line number, text).  Fenced lines keep their own line number
# (a continued line: the number of its first line).  An inline code span may run over a line break
# but not past its paragraph (or its table row), so spans are paired within those.
def snippets(text):
    fenced, pending, pending_line = False, "", 0
    block, block_line = [], 0

    def spans(block, first_line):
        # a table: each row on its own; otherwise the paragraph as one text
        parts = [(first_line + i, row) for i, row in enumerate(block)] if block[0].startswith("|") \
            else [(first_line, "\n".join(block))]
        for start, part in parts:
            for m in re.finditer(r"(?<!`)(`+)(?!`)(.+?)(?<!`)\1(?!`)", part, re.S):
                yield start + part.count("\n", 0, m.start()), m.group(2).replace("\n", " "), True

    for n, line in enumerate(text.split("\n"), 1):
        if line.lstrip().startswith("```") or (not fenced and not line.strip()):
            if block:
                yield from spans(block, block_line)
            block = []
            if line.strip():
                fenced = not fenced
            continue
        if not fenced:
            if not block:
                block_line = n
            block.append(line)
            continue
        if not pending:
            pending_line = n
        if line.rstrip().endswith("\\"):
            pending += line.rstrip()[:-1] + " "
            continue
        yield pending_line, pending + line, False
        pending = ""
    if block:
        yield from spans(block, block_line)

def tokens(text):
    try:
        lexer = shlex.shlex(text, posix=True)
        lexer.whitespace_split = True
        lexer.commenters = "#"
        return list(lexer)
    except ValueError:  # an unmatched quote in prose: words split at white space, comment removed
        return re.sub(r"(^|\s)#.*", "", text).split()

SEPARATORS = {"|", "||", "&&", ";", "&", ":", "\\"}
LAUNCHERS = {"mpirun", "mpiexec", "time"}
MAIN_FLAGS = {"--help", "--version"}  # nnfmri's own (apps/main.cpp), before any command

def segments(words):
    seg = []
    for w in words:
        if w in SEPARATORS:
            yield seg
            seg = []
        else:
            seg.append(w)
    yield seg

def is_nnfmri(word):
    return os.path.basename(word) == "nnfmri"

def flag_name(word):
    """'--grid=8x8x4' -> '--grid'; '[--seed' -> '--seed'; words that are not flags -> None."""
    m = re.match(r"^[\[(]*(--[A-Za-z0-9][A-Za-z0-9_-]*)", word)
    return m.group(1) if m else None

problems, n_commands, n_flags, n_alone, n_make = [], 0, 0, 0, 0

def check_flags(line, command, words):
    global n_flags
    for w in words:
        f = flag_name(w)
        if f is None:
            continue
        n_flags += 1
        if f not in flags_of[command]:
            problems.append(f"{where}:{line}: nnfmri {command}: unknown flag {f} (not in 'nnfmri {command} --help')")

def check_nnfmri(line, words):
    """words: what follows the nnfmri word."""
    global n_commands
    if not words or words[0] in ("…", "...") or words[0].endswith(":"):
        return  # nnfmri alone, or a message of nnfmri's quoted ("nnfmri train: warning: ...")
    first = words[0]
    if re.fullmatch(r"[A-Z][A-Z0-9_]*", first):
        return  # a placeholder (`nnfmri CMD --help`): no command to check against
    n_commands += 1
    if first.startswith("-"):
        # nnfmri's own flags (--help [CMD], --version): the binary must accept them as written.
        args = [w for w in words if not re.fullmatch(r"[A-Z_]+|…|\.\.\.", w)]
        r = subprocess.run([nnfmri, *args], capture_output=True, text=True, timeout=60)
        if r.returncode != 0:
            problems.append(f"{where}:{line}: nnfmri {' '.join(words)}: exits {r.returncode}: {r.stderr.strip()}")
        return
    if first not in flags_of:
        problems.append(f"{where}:{line}: nnfmri {first}: unknown command (not in 'nnfmri --help')")
        return
    check_flags(line, first, words[1:])

def check_make(line, words):
    global n_make
    for w in words:
        var = re.match(r"^(IMAGING|RUN_ARGS)=(.*)$", w, re.S)
        if var:  # make run hands these to nnfmri train
            check_flags(line, "train", tokens(var.group(2)))
        if "=" in w or w.startswith("-") or w in ("…", "...") or re.fullmatch(r"[A-Z][A-Z0-9_]*", w):
            continue
        n_make += 1
        if w not in targets:
            problems.append(f"{where}:{line}: make {w}: no such target in the Makefile")

for line, text, is_inline in snippets(open(readme, encoding="utf-8").read()):
    for seg in segments(tokens(text)):
        i = 0
        while i < len(seg) and re.match(r"^[A-Z_][A-Z0-9_]*=", seg[i]):
            i += 1  # VAR=value before the command
        if i >= len(seg):
            continue
        head = seg[i]
        if is_inline and i == 0 and flag_name(head) == head.split("=")[0]:
            # a flag named in prose (`--threads N`, a family such as `--zeta-`) is some command's; the
            # words after it are not checked: they may quote a refused one (`--out --overwrit`)
            f = head.split("=")[0]
            n_alone += 1
            if not any(k == f or (f.endswith("-") and k.startswith(f)) for k in all_flags | MAIN_FLAGS):
                problems.append(f"{where}:{line}: {f}: no command lists this flag")
        elif is_inline and head in flags_of and i + 1 < len(seg) and (flag_name(seg[i + 1]) or seg[i + 1] in ("…", "...")):
            # `train --analyze-every N` in prose, nnfmri left out (not a message such as `monitor fit: ...`)
            check_nnfmri(line, [head] + [w for w in seg[i + 1:] if w not in ("…", "...")])
        elif is_nnfmri(head):
            check_nnfmri(line, seg[i + 1:])
        elif head in LAUNCHERS:
            at = next((j for j in range(i + 1, len(seg)) if is_nnfmri(seg[j])), None)
            if at is not None:
                check_nnfmri(line, seg[at + 1:])
        elif head == "make":
            check_make(line, seg[i + 1:])

for p in problems:
    print(p)
print(f"readme_commands: {n_commands} nnfmri commands with {n_flags} flags, {n_alone} flags named alone "
      f"and {n_make} make targets in {where}: {len(problems)} problem{'s' if len(problems) != 1 else ''}")
sys.exit(1 if problems else 0)
PYTHON
