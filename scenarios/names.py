"""Chinese-style pinyin names for synthetic people, firms, companies and places.

Conflict checks run on names, so the generated names must behave like real ones: a few very
common surnames (Wang, Li, Zhang ...) and a large but finite space of given names, so that
accidental name clashes happen at a realistic, low rate.  Surname weights follow the rough shares
of the most common Chinese surnames (2020 census order; percentages rounded, project assumption
for the tail).
"""

from __future__ import annotations

import numpy as np

from scenarios.draws import Draws

# (surname, approximate share of the population in percent)
_SURNAMES: tuple[tuple[str, float], ...] = (
    ("Wang", 7.1), ("Li", 7.0), ("Zhang", 6.7), ("Liu", 5.4), ("Chen", 4.5), ("Yang", 3.1),
    ("Huang", 2.2), ("Zhao", 2.1), ("Wu", 2.0), ("Zhou", 1.9), ("Xu", 1.3), ("Sun", 1.2),
    ("Ma", 1.2), ("Zhu", 1.1), ("Hu", 1.0), ("Guo", 1.0), ("He", 0.9), ("Gao", 0.8),
    ("Lin", 0.8), ("Luo", 0.8), ("Zheng", 0.8), ("Liang", 0.7), ("Xie", 0.6), ("Song", 0.5),
    ("Tang", 0.5), ("Han", 0.5), ("Feng", 0.5), ("Deng", 0.5), ("Cao", 0.5), ("Peng", 0.5),
    ("Zeng", 0.4), ("Xiao", 0.4), ("Tian", 0.4), ("Dong", 0.4), ("Pan", 0.4), ("Yuan", 0.4),
    ("Cai", 0.3), ("Jiang", 0.6), ("Yu", 0.5), ("Du", 0.3), ("Ye", 0.3), ("Cheng", 0.3),
    ("Wei", 0.3), ("Su", 0.3), ("Lyu", 0.3), ("Ding", 0.3), ("Ren", 0.3), ("Shen", 0.3),
    ("Yao", 0.3), ("Lu", 0.5), ("Cui", 0.2), ("Zhong", 0.2), ("Tan", 0.2), ("Bai", 0.3),
    ("Lei", 0.2), ("Qin", 0.2), ("Hou", 0.2), ("Shi", 0.3), ("Xue", 0.2), ("Duan", 0.2),
    ("Hao", 0.2), ("Kong", 0.1), ("Mao", 0.1), ("Qiu", 0.1), ("Jia", 0.2), ("Xia", 0.1),
    ("Fu", 0.2), ("Fang", 0.2), ("Zou", 0.2), ("Xiong", 0.1), ("Meng", 0.2), ("Yan", 0.2),
    ("Wen", 0.1), ("Niu", 0.1), ("Ji", 0.1), ("Ning", 0.1), ("Qiao", 0.1), ("Zhai", 0.1),
)  # fmt: skip

# Syllables common in given names; two-syllable given names are written as one word (Xiuying).
_GIVEN: tuple[str, ...] = (
    "Wei", "Fang", "Min", "Jing", "Li", "Qiang", "Lei", "Jun", "Yang", "Yong", "Yan", "Jie",
    "Juan", "Tao", "Ming", "Chao", "Xiu", "Ying", "Hua", "Hui", "Ping", "Gang", "Gui", "Lan",
    "Hong", "Xia", "Jian", "Bo", "Ning", "Xin", "Yu", "Hao", "Chen", "Rui", "Kai", "Xuan", "Zi",
    "Han", "Yi", "Lin", "Qing", "Mei", "Zhen", "Feng", "Bin", "Dong", "Hai", "Bao", "Zhi",
    "Guo", "Wen", "Liang", "Shan", "Cheng", "Xiang", "Jia", "Yun", "Lu", "Na", "Tian", "Long",
    "Fei", "Peng", "Ke", "Xue", "Shu", "Ting", "Yue", "Qian", "Rong", "Sheng", "De", "Fu",
    "Shun", "Zhong", "Xian", "Jin", "Le", "Meng", "Nan", "Xiao", "Zhu", "Song", "Bing", "Cui",
    "Dan", "Heng", "Kun", "Lian", "Qiu", "Yao", "Shuang", "Hang", "Tong", "Wan", "Ru",
)  # fmt: skip

_INDUSTRIES: tuple[str, ...] = (
    "Construction", "Engineering", "Logistics", "Textile", "Food Processing",
    "Property Management", "Labour Services", "Catering", "Mining", "Auto Repair",
    "Agricultural Products", "Cement", "Brick and Tile", "Security Services", "Cleaning Services",
    "Kiwifruit Cooperative", "Transport", "Garment", "Furniture", "Decoration",
)  # fmt: skip

_INSURERS: tuple[str, ...] = (
    "PICC Property and Casualty",
    "Ping An Property and Casualty",
    "China Pacific Property Insurance",
    "China Life Property and Casualty",
)

_AGENCIES: tuple[str, ...] = (
    "Human Resources and Social Security Bureau",
    "Medical Security Bureau",
    "Civil Affairs Bureau",
    "Public Security Bureau",
    "Natural Resources Bureau",
    "Housing and Urban-Rural Development Bureau",
)

_SURNAME_WEIGHTS = np.array([w for _, w in _SURNAMES], dtype=np.float64)
_SURNAME_P = _SURNAME_WEIGHTS / _SURNAME_WEIGHTS.sum()
_SHARE_TWO_SYLLABLE_GIVEN = 0.72


class NameMaker:
    """Draws names from one random stream; every draw goes through ``rng`` (reproducible)."""

    def __init__(self, rng: np.random.Generator) -> None:
        self._rng = rng
        self._draw = Draws(rng)

    def people(self, count: int) -> list[str]:
        """``count`` personal names, surname first ("Wang Xiuying"), drawn with replacement."""
        if count <= 0:
            return []
        rng = self._rng
        surname_idx = rng.choice(len(_SURNAMES), size=count, p=_SURNAME_P)
        first_idx = rng.integers(0, len(_GIVEN), size=count)
        second_idx = rng.integers(0, len(_GIVEN), size=count)
        two = rng.random(count) < _SHARE_TWO_SYLLABLE_GIVEN
        names = []
        for s, a, b, t in zip(surname_idx, first_idx, second_idx, two, strict=True):
            given = _GIVEN[a] + (_GIVEN[b].lower() if t else "")
            names.append(f"{_SURNAMES[s][0]} {given}")
        return names

    def person(self) -> str:
        return self.people(1)[0]

    def relative_of(self, name: str) -> str:
        """A declared relative: usually shares the surname (parents, siblings, children)."""
        surname = name.split(" ", 1)[0]
        other = self.person()
        if self._draw.below(0.7):
            return f"{surname} {other.split(' ', 1)[1]}"
        return other

    def place_names(self, count: int, suffix: str = "") -> list[str]:
        """``count`` distinct two-syllable place names ("Dawang"), with an optional suffix."""
        seen: set[str] = set()
        out: list[str] = []
        while len(out) < count:
            name = self.brand()
            if name not in seen:
                seen.add(name)
                out.append(name + suffix)
        return out

    def brand(self) -> str:
        return (
            _GIVEN[self._draw.integer(len(_GIVEN))]
            + _GIVEN[self._draw.integer(len(_GIVEN))].lower()
        )

    def company(self, place: str) -> str:
        industry = _INDUSTRIES[self._draw.integer(len(_INDUSTRIES))]
        return f"{place} {self.brand()} {industry} Co., Ltd."

    def insurer(self, place: str) -> str:
        insurer = _INSURERS[self._draw.integer(len(_INSURERS))]
        return f"{insurer}, {place} Branch"

    def agency(self, county: str) -> str:
        agency = _AGENCIES[self._draw.integer(len(_AGENCIES))]
        return f"{county} County {agency}"

    def law_firm(self, county: str) -> str:
        return f"Shaanxi {self.brand()} Law Firm ({county})"

    def spelling_variant(self, name: str) -> str:
        """The same name as another record system might hold it: case, hyphen or word order.

        Real conflict checks miss such variants unless names are normalised (DOMAIN.md,
        "Conflicts of interest"); the generator uses them for some true conflicts.
        """
        surname, _, given = name.partition(" ")
        if not given:
            return name.upper()
        choice = self._draw.integer(4)
        if choice == 0:
            return f"{surname.upper()} {given}"
        if choice == 1:
            return f"{given} {surname}"
        if choice == 2:
            return name.lower()
        for syl in _GIVEN:  # hyphenate after the first syllable: "Wang Xiu-ying"
            if given.startswith(syl) and len(given) > len(syl):
                return f"{surname} {syl}-{given[len(syl) :]}"
        return name.upper()
