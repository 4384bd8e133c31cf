"""The ORM baseline: SQLAlchemy 2.0 models written the usual way, in a schema of their own.

A declarative ``Event`` with a ``relationship`` to ``Detection``, objects added with
``session.add_all`` and committed, as Home Assistant's recorder and Viseron write their
events: the ORM fetches each new event's primary key (INSERT ... RETURNING, batched by
SQLAlchemy's insertmanyvalues) before it can write the detections that refer to it.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, DateTime, Float, ForeignKey, Index, String, Text, create_engine
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, relationship

from benchmarks.harness import EventTuple
from benchmarks.pg_common import libpq_url

COMMIT_EVERY = 5_000
"""Events per add_all + commit (a recorder commits what it queued; memory stays bounded)."""


class Base(DeclarativeBase):
    """The declarative base of the ORM baseline."""


class OrmEvent(Base):
    """One event row, the usual ORM way: surrogate key, timestamptz, JSONB for the rest."""

    __tablename__ = "events"
    __table_args__ = (
        Index("ix_events_camera_time", "camera_id", "timestamp"),
        Index("ix_events_person_time", "person_name", "timestamp"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    event_id: Mapped[str] = mapped_column(String(64), unique=True)
    timestamp: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    camera_id: Mapped[str] = mapped_column(String(64))
    motion_confidence: Mapped[float | None] = mapped_column(Float)
    llm_description: Mapped[str | None] = mapped_column(Text)
    image_path: Mapped[str | None] = mapped_column(Text)
    json_log_path: Mapped[str | None] = mapped_column(Text)
    thumbnail_path: Mapped[str | None] = mapped_column(Text)
    person_name: Mapped[str | None] = mapped_column(String(64))
    face_confidence: Mapped[float | None] = mapped_column(Float)
    face_distance: Mapped[float | None] = mapped_column(Float)
    unlock_granted: Mapped[bool | None]
    door_action: Mapped[str | None] = mapped_column(String(32))
    recording_id: Mapped[str | None] = mapped_column(String(128))
    metadata_: Mapped[dict[str, Any]] = mapped_column("metadata", JSONB, default=dict)
    detections: Mapped[list[OrmDetection]] = relationship(
        back_populates="event", cascade="all, delete-orphan", order_by="OrmDetection.idx"
    )


class OrmDetection(Base):
    """One detected object of an event."""

    __tablename__ = "detections"
    __table_args__ = (Index("ix_detections_label_confidence", "label", "confidence"),)

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    event_pk: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"), index=True)
    idx: Mapped[int]
    label: Mapped[str] = mapped_column(String(64))
    confidence: Mapped[float] = mapped_column(Float)
    x1: Mapped[float | None] = mapped_column(Float)
    y1: Mapped[float | None] = mapped_column(Float)
    x2: Mapped[float | None] = mapped_column(Float)
    y2: Mapped[float | None] = mapped_column(Float)
    event: Mapped[OrmEvent] = relationship(back_populates="detections")


def engine_for(url: str, schema: str) -> Engine:
    """Return an engine on ``schema`` (psycopg 3 driver), with the tables created."""
    dsn = libpq_url(url).replace("postgresql://", "postgresql+psycopg://", 1)
    engine = create_engine(dsn, connect_args={"options": f"-c search_path={schema}"})
    Base.metadata.create_all(engine)
    return engine


def to_model(ev: EventTuple) -> OrmEvent:
    """Build the ORM objects of one event tuple."""
    return OrmEvent(
        event_id=ev[0],
        timestamp=ev[1],
        camera_id=ev[2],
        motion_confidence=ev[3],
        llm_description=ev[5],
        image_path=ev[6],
        json_log_path=ev[7],
        thumbnail_path=ev[8],
        person_name=ev[9],
        face_confidence=ev[10],
        face_distance=ev[11],
        unlock_granted=ev[12],
        door_action=ev[13],
        recording_id=ev[14],
        metadata_=ev[15],
        detections=[
            OrmDetection(
                idx=i,
                label=o["label"],
                confidence=o["confidence"],
                **dict(zip(("x1", "y1", "x2", "y2"), o["bbox"] or (None,) * 4, strict=True)),
            )
            for i, o in enumerate(ev[4])
        ],
    )


def orm_bulk(engine: Engine, events: Sequence[EventTuple]) -> None:
    """Write events with add_all + commit, ``COMMIT_EVERY`` events per commit."""
    with Session(engine) as session:
        for start in range(0, len(events), COMMIT_EVERY):
            session.add_all([to_model(ev) for ev in events[start : start + COMMIT_EVERY]])
            session.commit()


def orm_counts(engine: Engine) -> dict[str, int]:
    """Count the ORM's events and detections."""
    with engine.connect() as conn:
        return {
            table: int(conn.exec_driver_sql(f"SELECT count(*) FROM {table}").scalar_one())
            for table in ("events", "detections")
        }
