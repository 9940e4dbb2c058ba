"""The public holidays the law fixes, for years whose holiday schedule is not published yet.

Why: time limits count working days (Art. 14/17 working days; national holiday measures), and
the State Council publishes each year's schedule only late in the year before. Until it is
loaded, guessing plain Monday–Friday would count Spring Festival or National Day as working
days and put deadlines days too early. The national holiday measures (《全国年节及纪念日放假办法》,
as amended 2024, Art. 2) fix the holidays themselves, so the provisional guess leaves them out:
- New Year's Day, January 1;
- Spring Festival: its eve (除夕, the last day of the 12th lunar month, the 29th when that month
  is short) and the 1st to 3rd of the 1st lunar month;
- Qingming, the day of the 清明 solar term;
- Labour Day, May 1 and 2;
- Dragon Boat Festival, the 5th of the 5th lunar month;
- Mid-Autumn Festival, the 15th of the 8th lunar month;
- National Day, October 1 to 3.
Lunar dates and solar terms come from `lunar_python` (6tail's lunar, pure Python), never from a
table of our own. What each year's notice decides cannot be derived: adjusted working weekends
(调休), bridging days, and which weekday makes up for a holiday that falls on a weekend (补假,
Art. 6). A guessed year therefore has no make-up working days and no make-up days off, and its
deadlines stay provisional until the year is loaded.

Each year is computed once (cached); a day lookup is a dictionary look-up.
"""
from datetime import date, timedelta
from functools import cache
from types import MappingProxyType

from lunar_python import Lunar, Solar

_FIXED = (((1, 1), "元旦"), ((5, 1), "劳动节"), ((5, 2), "劳动节"),
          ((10, 1), "国庆节"), ((10, 2), "国庆节"), ((10, 3), "国庆节"))


@cache
def holidays(year: int) -> MappingProxyType:
    """{day: Chinese name} of the statutory holidays of a Gregorian year (a day that is two
    holidays, e.g. Mid-Autumn on National Day, is named once and counts once)."""
    days = {date(year, m, d): name for (m, d), name in _FIXED}
    new_year = _solar(Lunar.fromYmd(year, 1, 1).getSolar())
    # The eve is the day before the 1st of the 1st month, whether the 12th month has 29 or 30 days.
    for offset, name in ((-1, "除夕"), (0, "春节"), (1, "春节"), (2, "春节")):
        days.setdefault(new_year + timedelta(days=offset), name)
    qingming = _solar(Solar.fromYmd(year, 4, 15).getLunar().getJieQiTable()["清明"])
    days.setdefault(qingming, "清明节")
    days.setdefault(_solar(Lunar.fromYmd(year, 5, 5).getSolar()), "端午节")
    days.setdefault(_solar(Lunar.fromYmd(year, 8, 15).getSolar()), "中秋节")
    wrong = sorted(str(d) for d in days if d.year != year)
    if wrong:  # cannot happen for the calendar's years (2000–2100); refuse rather than guess
        raise ValueError(f"statutory holidays of {year} computed outside the year: {', '.join(wrong)}")
    return MappingProxyType(days)


def is_holiday(day: date) -> bool:
    """Whether the law makes `day` a public holiday (see the module docstring)."""
    return day in holidays(day.year)


def _solar(solar: Solar) -> date:
    return date(solar.getYear(), solar.getMonth(), solar.getDay())
