"""What the database holds: :func:`database_stats` (``ecopatrol monitor stats``)."""

from __future__ import annotations

from ecopatrol.core.db import schema as S
from ecopatrol.core.db.engine import redact
from ecopatrol.core.db.migrate import current_revision


def database_stats(engine) -> dict:
    """Counts of the HJ 212 tables, as plain values (times in ISO 8601 UTC).

    ``packets_accepted`` counts accepted packets as received (every copy); ``packets_stored`` the
    distinct ones in ``hj212_packets`` (``duplicates`` the difference: resent or repeated frames);
    ``records`` the rows of ``hj212_records``; ``stations`` distinct MN; ``rejected`` and
    ``rejected_by_reason`` the rows of ``hj212_rejected``; ``by_cn`` accepted packets per command;
    ``files`` logged files ingested (``files_incomplete`` interrupted ones, resumed by the next
    ``ingest``).
    """
    from sqlalchemy import func, select

    p, r, j, st, f = S.hj212_packets, S.hj212_records, S.hj212_rejected, S.stations, S.hj212_files
    with engine.connect() as conn:
        stored, accepted, first, last = conn.execute(
            select(func.count(), func.coalesce(func.sum(p.c.copies), 0), func.min(p.c.received_utc),
                   func.max(p.c.last_received_utc))).one()
        by_cn = {cn: int(n) for cn, n in conn.execute(
            select(p.c.cn, func.sum(p.c.copies)).group_by(p.c.cn).order_by(func.sum(p.c.copies).desc(), p.c.cn))}
        records = conn.execute(select(func.count()).select_from(r)).scalar_one()
        stations = conn.execute(select(func.count()).select_from(st)).scalar_one()
        by_reason = {k: int(n) for k, n in conn.execute(
            select(j.c.reason, func.count()).group_by(j.c.reason).order_by(func.count().desc(), j.c.reason))}
        files_done = conn.execute(select(func.count()).select_from(f).where(f.c.finished_utc.is_not(None))).scalar_one()
        files_open = conn.execute(select(func.count()).select_from(f).where(f.c.finished_utc.is_(None))).scalar_one()
    # min/max of a UTCDateTime column come back as the database's raw value: format both the same way
    return {
        "database": redact(engine.url.render_as_string(hide_password=True)),
        "schema_version": current_revision(engine),
        "packets_accepted": int(accepted), "packets_stored": int(stored), "duplicates": int(accepted) - int(stored),
        "records": int(records), "stations": int(stations),
        "rejected": sum(by_reason.values()), "rejected_by_reason": by_reason,
        "by_cn": by_cn, "first_received_utc": _iso(first), "last_received_utc": _iso(last),
        "files": int(files_done), "files_incomplete": int(files_open),
    }


def _iso(value) -> str | None:
    if value is None:
        return None
    from datetime import UTC, datetime

    if isinstance(value, str):  # SQLite: naive UTC text
        value = datetime.fromisoformat(value)
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def describe(stats: dict, *, lang: str = "en") -> str:
    """The stats as a few lines of text, in ``lang`` (``en`` or ``zh``; the catalogue's ``stats.*`` keys)."""
    from ecopatrol.core.i18n import Msg

    reasons = ", ".join(f"{k} {v}" for k, v in stats["rejected_by_reason"].items()) or Msg("cli.none").render(lang)
    top = ", ".join(f"{k} {v}" for k, v in list(stats["by_cn"].items())[:8])
    lines = [
        Msg("stats.database", database=stats["database"], version=stats["schema_version"]).render(lang),
        Msg("stats.packets", accepted=stats["packets_accepted"], stored=stats["packets_stored"],
            duplicates=stats["duplicates"]).render(lang),
        Msg("stats.records", n=stats["records"]).render(lang),
        Msg("stats.stations", n=stats["stations"]).render(lang),
        Msg("stats.rejected", n=stats["rejected"], reasons=reasons).render(lang),
    ]
    if top:
        lines.append(Msg("stats.by_cn", top=top).render(lang))
    if stats["first_received_utc"]:
        lines.append(Msg("stats.received", first=stats["first_received_utc"], last=stats["last_received_utc"]).render(lang))
    if stats["files"] or stats["files_incomplete"]:
        incomplete = Msg("stats.files_incomplete", n=stats["files_incomplete"]) if stats["files_incomplete"] else ""
        lines.append(Msg("stats.files", n=stats["files"], incomplete=incomplete).render(lang))
    return "\n".join(lines)
