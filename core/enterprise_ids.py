"""Enterprise ids: the unified social credit code (USCC, GB 32100-2015) and its check character,
cleaning of ids as registries write them, placeholders that stand for "no id", and the
registry's id checks (:func:`_check_ids`) that report every problem with its row."""

from __future__ import annotations

import re
import unicodedata


from .errors import Report
from .rules import AreaRules

USCC_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"
USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)


def uscc_check_char(first17: str) -> str:
    """The GB 32100-2015 check character for the first 17 characters of a USCC."""
    total = sum(USCC_CHARS.index(c) * w for c, w in zip(first17, USCC_WEIGHTS, strict=True))
    return USCC_CHARS[(31 - total % 31) % 31]


def is_valid_uscc(code: str) -> bool:
    """True if ``code`` is an 18-character USCC with a correct check character."""
    code = str(code).strip().upper()
    if len(code) != 18 or any(c not in USCC_CHARS for c in code):
        return False
    return uscc_check_char(code[:17]) == code[17]


#: Headers (lower-cased, brackets dropped, spaces and hyphens as ``_``) under which every id is a USCC.
USCC_HEADERS = frozenset({
    "统一社会信用代码", "社会信用代码", "信用代码", "社会统一信用代码", "统一信用代码",
    "uscc", "uscc_code", "credit_code", "social_credit_code", "unified_social_credit_code",
    "unified_social_credit_identifier",
})
#: Cell values that stand for "no id" (compared lower-cased, after removing invisible characters).
PLACEHOLDER_IDS = frozenset({
    "n/a", "n.a.", "na", "none", "null", "nil", "nan", "unknown", "tbd", "tba", "todo", "missing",
    "无", "暂无", "没有", "空", "未知", "不详", "待定", "待补充", "未提供", "缺失", "无代码", "无信用代码",
})
_UNITS = {1: "one", 2: "two", 3: "three"}


def _header_key(col) -> str:
    key = str(col).strip().lower()
    key = re.sub(r"[(（\[【].*?[)）\]】]", "", key).strip()
    return re.sub(r"[\s\-]+", "_", key)


def show_text(s: str) -> str:
    """``repr``-like quoting that makes invisible characters visible: ``'\\u200b'``, ``'\\u3000'``."""
    only_spaces = s != "" and set(s) == {" "}
    out = []
    for ch in s:
        cat = unicodedata.category(ch)
        if cat in ("Cf", "Cc", "Co", "Cn", "Zl", "Zp") or (cat == "Zs" and (ch != " " or only_spaces)):
            out.append(f"\\u{ord(ch):04x}")
        elif ch in "'\\":
            out.append("\\" + ch)
        else:
            out.append(ch)
    return "'" + "".join(out) + "'"


def clean_id(raw) -> str:
    """An id cell without invisible (format/control) characters and surrounding whitespace."""
    s = "" if raw is None else str(raw)
    return "".join(ch for ch in s if unicodedata.category(ch) not in ("Cf", "Cc")).strip()


def placeholder_reason(raw) -> str | None:
    """Why a cell holds no id (``"the cell is empty"``, ``"placeholder '-'"``), or None for a real id."""
    s = "" if raw is None else str(raw)
    c = clean_id(s)
    if c == "":
        return "the cell is empty" if s == "" else f"placeholder {show_text(s)}"
    if (c.lower() in PLACEHOLDER_IDS or set(c) <= {"0", "０"}
            or all(unicodedata.category(ch)[0] in "PSZ" for ch in c)):
        return f"placeholder {show_text(s.strip(' '))}"
    return None


def _uscc_form(clean: str) -> str:
    """The id as a USCC would be written: no whitespace, full-width characters folded, upper case."""
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", clean)).upper()


def looks_like_uscc(code: str) -> bool:
    """16–20 ASCII letters and digits, all but at most one of the USCC alphabet (or any 18 of them)."""
    if not (16 <= len(code) <= 20 and code.isascii() and code.isalnum()):
        return False
    return len(code) == 18 or sum(ch not in USCC_CHARS for ch in code) <= 1


def uscc_problem(code: str) -> str | None:
    """What is wrong with ``code`` (in :func:`_uscc_form`) as a USCC, or None when it is valid."""
    n = len(code)
    if n != 18:
        k = abs(18 - n)
        return (f"it has {n} characters, {_UNITS.get(k, k)} {'missing' if n < 18 else 'too many'}: "
                "a USCC has 18 characters")
    for i, ch in enumerate(code):
        if ch not in USCC_CHARS:
            hint = {"I": "1", "O": "0", "S": "5", "V": "U", "Z": "2"}.get(ch)
            return (f"character {ch!r} at position {i + 1} is not in GB 32100-2015's set (no I, O, S, V, Z)"
                    + (f": {hint!r}?" if hint else ""))
    expected = uscc_check_char(code[:17])
    if expected != code[17]:
        return f"its check character is {code[17]!r}, expected {expected!r} (GB 32100-2015): check for a typo"
    return None


def _join_rows(rows) -> str:
    rows = [str(r) for r in rows]
    return rows[0] if len(rows) == 1 else ", ".join(rows[:-1]) + " and " + rows[-1]


def _check_ids(raw_ids, file: str, report: Report, rowno, rules: AreaRules, uscc_header: bool) -> list[str]:
    """Every id problem, once each; returns the ids as stored (cleaned)."""
    uscc = rules.id_check == "uscc"
    stored: list[str] = []
    groups: dict[str, list[int]] = {}
    for i, raw in enumerate(raw_ids):
        raw = "" if raw is None else str(raw)
        clean = clean_id(raw)
        why = placeholder_reason(raw)
        if why is not None:
            if uscc:
                report.error(f"USCC missing: {why}: give the enterprise's USCC (统一社会信用代码) or a local id",
                             file=file, row=rowno[i], field="enterprise_id")
            else:
                report.error(f"id missing: {why}: give every enterprise its own id",
                             file=file, row=rowno[i], field="enterprise_id")
            stored.append(clean)
            continue
        key = clean
        if uscc:
            code = _uscc_form(clean)
            if uscc_header or looks_like_uscc(code):
                key = code
                problem = uscc_problem(code)
                if problem:
                    report.error(f"{clean!r} is not a valid USCC: {problem}", file=file, row=rowno[i],
                                 field="enterprise_id")
                else:
                    clean = code
        if clean != raw.strip():
            report.warning(f"{show_text(raw)} is read as {clean!r} ({_what_changed(raw, clean)})", file=file,
                           row=rowno[i], field="enterprise_id")
        stored.append(clean)
        groups.setdefault(key, []).append(i)
    for idx in groups.values():
        if len(idx) > 1:
            rows = [int(rowno[j]) for j in idx]
            report.error(f"duplicate id {stored[idx[0]]!r} in rows {_join_rows(rows)}: each enterprise needs "
                         "one row — merge them or fix the ids", file=file, row=rows[1], field="enterprise_id")
    return stored


def _what_changed(raw: str, clean: str) -> str:
    what = []
    if any(unicodedata.category(ch) in ("Cf", "Cc") for ch in raw):
        what.append("invisible characters removed")
    base = clean_id(raw)
    if re.search(r"\s", base):
        what.append("spaces removed")
    if unicodedata.normalize("NFKC", base) != base:
        what.append("full-width characters folded")
    if unicodedata.normalize("NFKC", base).upper() != unicodedata.normalize("NFKC", base):
        what.append("upper-cased")
    return ", ".join(what) or "cleaned"


def _id_ref(raw, rules: AreaRules) -> str:
    """A source's enterprise id, cleaned as :func:`_check_ids` stores ids."""
    clean = clean_id(raw)
    if rules.id_check == "uscc":
        code = _uscc_form(clean)
        if looks_like_uscc(code) and uscc_problem(code) is None:
            return code
    return clean
