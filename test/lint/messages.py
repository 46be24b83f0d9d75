#!/usr/bin/env python3
"""Checks every error and notice message of shardroute against PostgreSQL's
error message style guide (https://www.postgresql.org/docs/current/error-style-guide.html):

  * a primary message starts with a lower-case letter (a proper name or an
    SQL word is fine), is one line, and has no trailing period;
  * a detail or a hint is one or more complete sentences: it starts with a
    capital letter (or an SQL word, a quoted name, a function call) and ends
    with a period;
  * "could not", "cannot", never "unable to", "can't", "illegal", "failed to".

The messages are read from the sources: C++ `Error(code, message, detail,
hint)`, `unknown_error`, `errmsg`/`errdetail`/`errhint`, and PL/pgSQL `RAISE
... USING DETAIL = ..., HINT = ...` in the current install script. Only the
string literals are checked (a value filled in at run time is not), so the
first and last literal of each part stand for its start and end.

Usage: test/lint/messages.py [repo root]; exit status 1 when a message breaks a rule.
"""
import glob
import os
import re
import sys

root = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), '..', '..')
problems = []
checked = 0

# A capitalized first word that is a name, not the start of a sentence.
PROPER = {'PL/Proxy', 'PostgreSQL', 'Citus', 'Django', 'SipHash', 'shardroute', 'TRUNCATE', 'DELETE', 'INSERT',
          'UPDATE', 'COPY', 'NOTIFY', 'LISTEN', 'SELECT', 'CREATE', 'ALTER', 'DROP', 'GRANT', 'SET', 'COMMIT',
          'ROLLBACK', 'PREPARE', 'CALL', 'VACUUM', 'WAL', 'JSON', 'READ', 'WRITE', 'STANDBY', 'PLPROXY', 'UUID'}
# Messages kept word for word from the tool users know them from.
EXEMPT = {'There can only be one DB with': "CommCare's PartitionValidationError, as the Django settings check words it"}
BANNED = [r'\bunable to\b', r"\bcan't\b", r'\billegal\b', r'\bfailed to\b', r'\bcouldn\'t\b']


def first_word(text):
    m = re.match(r'[^\s:,;]+', text)
    return m.group(0) if m else ''


def check(where, part, first, last):
    """first, last: the first and last string literal of the part (None if none)."""
    global checked
    checked += 1
    if first is not None and any(first.startswith(e) for e in EXEMPT):
        return
    # a literal that is only a placeholder says nothing about the text
    first = None if first is not None and re.fullmatch(r'(%s|\{\})?', first) else first
    last = None if last is not None and re.fullmatch(r'(%s|\{\})?', last) else last
    for lit in (first, last):
        if lit is None:
            continue
        for b in BANNED:
            if re.search(b, lit, re.I):
                problems.append(f'{where}: {part} uses "{re.search(b, lit, re.I).group(0)}" ({lit!r})')
    if part == 'message':
        if first is not None and first[:1].isupper():
            w = first_word(first)
            if w not in PROPER and not w.isupper() and '/' not in w and '.' not in w and '(' not in w:
                problems.append(f'{where}: message starts with a capital letter: {first!r}')
        if last is not None and last.rstrip().endswith('.') and not last.rstrip().endswith('..'):
            problems.append(f'{where}: message ends with a period: {last!r}')
        for lit in (first, last):
            if lit is not None and '\n' in lit.replace('\\n', '\n'):
                problems.append(f'{where}: message spans lines: {lit!r}')
    else:
        if first is not None and first[:1].islower():
            w = first_word(first)
            if '.' not in w and '(' not in w and '_' not in w and w not in PROPER:
                problems.append(f'{where}: {part} does not start a sentence: {first!r}')
        if last is not None and not re.search(r'[.?!][)"\']*\s*$', last):
            problems.append(f'{where}: {part} does not end with a period: {last!r}')


# ---------------------------------------------------------------- C++
def cpp_args(src, start):
    """Splits the call starting at src[start] == '(' into top-level argument texts."""
    depth, i, args, cur = 0, start, [], []
    while i < len(src):
        c = src[i]
        if c == '"':
            j = i + 1
            while src[j] != '"':
                j += 2 if src[j] == '\\' else 1
            cur.append(src[i:j + 1])
            i = j + 1
            continue
        if c == "'":
            j = i + 1
            while src[j] != "'":
                j += 2 if src[j] == '\\' else 1
            cur.append(src[i:j + 1])
            i = j + 1
            continue
        if c in '([{':
            depth += 1
            if depth > 1:
                cur.append(c)
        elif c in ')]}':
            depth -= 1
            if depth == 0:
                args.append(''.join(cur))
                return args
            cur.append(c)
        elif c == ',' and depth == 1:
            args.append(''.join(cur))
            cur = []
        else:
            cur.append(c)
        i += 1
    return args


def literals(expr):
    lits = re.findall(r'"((?:[^"\\]|\\.)*)"', expr)
    return lits


def literal_ends(expr):
    """The first literal if the expression starts with one (after fmt::format( or a ternary's
    condition), and the last literal if the expression ends with one."""
    lits = literals(expr)
    if not lits:
        return None, None
    e = expr.strip()
    first = lits[0]
    # the start is only known when the text starts with a literal (or fmt::format("...")
    if not re.match(r'^(?:fmt::format\(\s*|std::string\(\s*)?"', e) and '?' not in e:
        first = None
    # the end: the last literal, when nothing but ) or + "..." follows it
    last = lits[-1] if re.search(r'"\s*(?:\)\s*)*$', e) or re.search(r'"\s*,[^"]*\)\s*$', e) else None
    return first, last


for path in sorted(glob.glob(os.path.join(root, 'src', '*', '*.cpp')) + glob.glob(os.path.join(root, 'src', '*', '*.hpp'))):
    src = open(path, encoding='utf-8').read()
    rel = os.path.relpath(path, root)
    for m in re.finditer(r'\b(Error|errmsg|errmsg_plural|errdetail|errhint|errdetail_log)\s*\(', src):
        line = src.count('\n', 0, m.start()) + 1
        args = cpp_args(src, m.end() - 1)
        kind = m.group(1)
        if kind == 'Error':
            if len(args) < 2 or not re.match(r'\s*(sqlstate::|"[0-9A-Z]{5}")', args[0]):
                continue  # not a construction with a code (a declaration, a copy)
            parts = list(zip(['message', 'detail', 'hint'], args[1:4]))
        else:
            parts = [({'errmsg': 'message', 'errmsg_plural': 'message'}.get(kind, kind[3:].replace('_log', '')),
                      args[0])]
        for part, expr in parts:
            if not expr.strip() or expr.strip() == '{}':
                continue
            first, last = literal_ends(expr)
            check(f'{rel}:{line}', part, first, last)

# ---------------------------------------------------------------- PL/pgSQL
control = open(os.path.join(root, 'shardroute.control')).read()
version = re.search(r"default_version\s*=\s*'([^']+)'", control).group(1)
sql_path = os.path.join(root, 'sql', f'shardroute--{version}.sql')
sql = open(sql_path, encoding='utf-8').read()


def sql_literals(expr):
    return [s.replace("''", "'") for s in re.findall(r"'((?:[^']|'')*)'", expr)]


def statement_rest(text, i):
    """The text from i to the statement's semicolon, skipping quoted literals."""
    j = i
    while j < len(text) and text[j] != ';':
        if text[j] == "'":
            j += 1
            while not (text[j] == "'" and text[j + 1:j + 2] != "'"):
                j += 2 if text[j:j + 2] == "''" else 1
        j += 1
    return text[i:j]


for m in re.finditer(r"RAISE\s+(EXCEPTION|WARNING|NOTICE|INFO)\s+'((?:[^']|'')*)'", sql):
    line = sql.count('\n', 0, m.start()) + 1
    where = f'sql/shardroute--{version}.sql:{line}'
    msg = m.group(2).replace("''", "'")
    check(where, 'message', msg, msg)
    using = statement_rest(sql, m.end())
    for part in ('DETAIL', 'HINT'):
        pm = re.search(part + r"\s*=\s*(.*?)(?=,\s*(?:DETAIL|HINT|ERRCODE|MESSAGE)\s*=|$)", using, re.S)
        if not pm:
            continue
        expr = pm.group(1).strip()
        if expr.startswith('CASE'):
            for lit_expr in re.findall(r"(?:THEN|ELSE)\s+(.*?)(?=\s+WHEN|\s+ELSE|\s+END)", expr, re.S):
                lits = sql_literals(lit_expr)
                if lits:
                    check(where, part.lower(), lits[0], lits[-1])
            continue
        lits = sql_literals(expr)
        if not lits:
            continue
        starts = re.match(r"^(?:format\(\s*)?'", expr)
        ends = re.search(r"'\s*\)*\s*$", expr)
        check(where, part.lower(), lits[0] if starts else None, lits[-1] if ends else None)

for p in problems:
    print(p)
print(f'messages: {checked} parts checked, {len(problems)} problem(s)')
# fewer parts than the sources hold means the reader no longer finds them
if checked < 150:
    print('messages: too few parts found: has the way messages are written changed?')
    sys.exit(1)
sys.exit(1 if problems else 0)
