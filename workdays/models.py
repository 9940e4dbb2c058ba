"""The calendar's data in the database: years whose schedule was loaded, and days an
administrator or a year file set against the usual rule."""
from datetime import date, datetime

from sqlalchemy import Boolean, Date, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from runtime import clock
from runtime.db import Base, UtcDateTime


class CalendarYear(Base):
    """A year whose holiday schedule was loaded (beyond what chinese_calendar covers)."""
    __tablename__ = "calendar_year"
    year: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    source: Mapped[str] = mapped_column(String(200))
    loaded_at: Mapped[datetime] = mapped_column(UtcDateTime, default=clock.now)
    loaded_by: Mapped[str | None] = mapped_column(String(50))


class CalendarDay(Base):
    """A day that is off or on against the usual rule: from a loaded year file or an
    administrator (a typhoon day off); administrator rows are never overwritten by files."""
    __tablename__ = "calendar_day"
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    working: Mapped[bool] = mapped_column(Boolean)
    name: Mapped[str | None] = mapped_column(String(100))
    source: Mapped[str] = mapped_column(String(20))  # file | admin
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=clock.now)
    updated_by: Mapped[str | None] = mapped_column(String(50))
